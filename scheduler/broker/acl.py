"""Who may use which topic: one rule set for the embedded broker and Mosquitto alike.

A station reads its own plan, command and ack topics, the fleet's urgent topic, and the
urgent topics of the groups it belongs to; it writes only its own sync, event, status and
command-result topics. Only the scheduler writes urgent topics. Group membership is given
to these rules as a set of group ids per station; a change of membership is a change of
rules, carried to the broker at once (dynsec roles, or the acl file rewritten and reloaded).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from wardcast.protocol import (
    AGENT_PUBLISHES,
    AGENT_SUBSCRIBES,
    ALL_GROUPS_TOPIC,
    FLEET_TOPIC,
    group_topic,
    parse_group_topic,
    station_topic,
)

SCHEDULER_SENDS = AGENT_SUBSCRIBES  # plans, commands and acks


def station_may_subscribe(station_id: str, topic_filter: str,
                          groups: Iterable[int] = ()) -> bool:
    """A station subscribes to its own plan and command topics, the fleet's urgent topic,
    and its groups' urgent topics (no wildcard: `+` would reach every group)."""
    if topic_filter in {station_topic(station_id, c) for c in AGENT_SUBSCRIBES}:
        return True
    if topic_filter == FLEET_TOPIC:
        return True
    group = parse_group_topic(topic_filter)
    return group is not None and group in set(groups)


def station_may_publish(station_id: str, topic: str) -> bool:
    """A station publishes only on its own sync, event and status topics."""
    return topic in {station_topic(station_id, c) for c in AGENT_PUBLISHES}


def station_may_receive(station_id: str, topic: str, groups: Iterable[int] = ()) -> bool:
    """A station receives only what it may subscribe to: checked at each delivery, so a
    station taken out of a group hears nothing more of it, subscribed or not."""
    return station_may_subscribe(station_id, topic, groups)


def dynsec_station_acls(station_id: str) -> list[dict[str, object]]:
    """The same rules as Mosquitto dynamic-security ACL entries (the fleet and the groups
    are roles of their own: dynsec_fleet_acls, dynsec_group_role)."""
    acls: list[dict[str, object]] = []
    for topic in [station_topic(station_id, c) for c in AGENT_SUBSCRIBES]:
        acls.append({"acltype": "subscribePattern", "topic": topic, "allow": True})
        acls.append({"acltype": "publishClientReceive", "topic": topic, "allow": True})
    for channel in AGENT_PUBLISHES:
        acls.append({"acltype": "publishClientSend", "topic": station_topic(station_id, channel),
                     "allow": True})
    return acls


GROUP_ROLE_PRIORITY = 10  # a station's group roles are checked before the fleet's role


def dynsec_fleet_acls() -> list[dict[str, object]]:
    """The fleet's role, which every station holds: read the fleet's urgent topic, and no
    group's. Dynamic security lets a client receive what no rule forbids, so a station that
    left a group and kept its subscription would go on hearing it: its group roles (checked
    first, GROUP_ROLE_PRIORITY) allow its own groups, this rule refuses the rest."""
    return [{"acltype": "subscribePattern", "topic": FLEET_TOPIC, "allow": True},
            {"acltype": "publishClientReceive", "topic": FLEET_TOPIC, "allow": True},
            {"acltype": "publishClientReceive", "topic": ALL_GROUPS_TOPIC, "allow": False}]


def dynsec_group_role(group_id: int) -> tuple[str, list[dict[str, object]]]:
    """Return the dynsec role of a group's members and its ACLs: read its urgent topic."""
    topic = group_topic(group_id)
    return f"group-{group_id}", [
        {"acltype": "subscribePattern", "topic": topic, "allow": True},
        {"acltype": "publishClientReceive", "topic": topic, "allow": True}]


def dynsec_scheduler_acls(*, stations: bool) -> list[dict[str, object]]:
    """What the scheduler's own login may send: plans and commands to every station
    (stations), or urgent messages to every group and the fleet (not stations)."""
    if stations:
        return [{"acltype": "publishClientSend", "topic": station_topic("+", channel),
                 "allow": True} for channel in SCHEDULER_SENDS]
    return [{"acltype": "publishClientSend", "topic": topic, "allow": True}
            for topic in (ALL_GROUPS_TOPIC, FLEET_TOPIC)]


def mosquitto_station_acl(groups: Mapping[str, Iterable[int]] | None = None) -> list[str]:
    """The same rules as a Mosquitto acl_file: one pattern per channel for every station,
    then each station's groups under its username.

    `%u` is the login's username, i.e. the station id; the supervised broker also makes it the
    client id (use_username_as_clientid)."""
    lines = ([f"pattern read {station_topic('%u', c)}" for c in AGENT_SUBSCRIBES]
             + [f"pattern read {FLEET_TOPIC}"]
             + [f"pattern write {station_topic('%u', c)}" for c in AGENT_PUBLISHES])
    for username, ids in sorted((groups or {}).items()):
        if topics := [f"topic read {group_topic(g)}" for g in sorted(set(ids))]:
            lines += ["", f"user {username}", *topics]
    return lines


def mosquitto_scheduler_acl(username: str) -> list[str]:
    """The scheduler's login reads what stations send and sends them plans and commands,
    and urgent messages to every group and the fleet."""
    return ([f"user {username}"]
            + [f"topic read {station_topic('+', c)}" for c in AGENT_PUBLISHES]
            + [f"topic write {station_topic('+', c)}" for c in SCHEDULER_SENDS]
            + [f"topic write {ALL_GROUPS_TOPIC}", f"topic write {FLEET_TOPIC}"])
