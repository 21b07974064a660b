"""Who may use which topic: one rule set for the embedded broker and Mosquitto alike."""

from __future__ import annotations

from wardcast.protocol import AGENT_PUBLISHES, AGENT_SUBSCRIBES, station_topic

SCHEDULER_SENDS = AGENT_SUBSCRIBES  # plans, commands and acks


def station_may_subscribe(station_id: str, topic_filter: str) -> bool:
    """A station subscribes only to its own plan and command topics."""
    return topic_filter in {station_topic(station_id, c) for c in AGENT_SUBSCRIBES}


def station_may_publish(station_id: str, topic: str) -> bool:
    """A station publishes only on its own sync, event and status topics."""
    return topic in {station_topic(station_id, c) for c in AGENT_PUBLISHES}


def station_may_receive(station_id: str, topic: str) -> bool:
    """A station receives only its own plan and command messages."""
    return station_may_subscribe(station_id, topic)


def dynsec_station_acls(station_id: str) -> list[dict[str, object]]:
    """The same rules as Mosquitto dynamic-security ACL entries."""
    acls: list[dict[str, object]] = []
    for channel in AGENT_SUBSCRIBES:
        topic = station_topic(station_id, channel)
        acls.append({"acltype": "subscribePattern", "topic": topic, "allow": True})
        acls.append({"acltype": "publishClientReceive", "topic": topic, "allow": True})
    for channel in AGENT_PUBLISHES:
        acls.append({"acltype": "publishClientSend", "topic": station_topic(station_id, channel),
                     "allow": True})
    return acls


def dynsec_scheduler_acls() -> list[dict[str, object]]:
    """What the scheduler's own login may send: plans and commands to every station."""
    return [{"acltype": "publishClientSend", "topic": station_topic("+", channel), "allow": True}
            for channel in SCHEDULER_SENDS]


def mosquitto_station_acl() -> list[str]:
    """The same rules as a Mosquitto acl_file: one pattern per channel for every station.

    `%u` is the login's username, i.e. the station id; the supervised broker also makes it the
    client id (use_username_as_clientid)."""
    return ([f"pattern read {station_topic('%u', c)}" for c in AGENT_SUBSCRIBES]
            + [f"pattern write {station_topic('%u', c)}" for c in AGENT_PUBLISHES])


def mosquitto_scheduler_acl(username: str) -> list[str]:
    """The scheduler's login reads what stations send and sends them plans and commands."""
    return ([f"user {username}"]
            + [f"topic read {station_topic('+', c)}" for c in AGENT_PUBLISHES]
            + [f"topic write {station_topic('+', c)}" for c in SCHEDULER_SENDS])
