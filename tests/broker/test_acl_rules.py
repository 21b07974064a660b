"""The topic rules, as functions: a station reads its groups' urgent topics and the fleet's,
never another group's, and writes none of them; only the scheduler writes them."""

from __future__ import annotations

from scheduler.broker import acl
from wardcast.protocol import ALL_GROUPS_TOPIC, FLEET_TOPIC, Channel, group_topic, station_topic


def test_a_station_reads_the_urgent_topics_of_its_groups_and_the_fleet_only() -> None:
    mine = {3, 7}
    assert acl.station_may_subscribe("12", group_topic(3), mine)
    assert acl.station_may_receive("12", group_topic(7), mine)
    assert acl.station_may_subscribe("12", FLEET_TOPIC, mine)
    for other in (group_topic(4), ALL_GROUPS_TOPIC, "wardcast/groups/#", "wardcast/#"):
        assert not acl.station_may_subscribe("12", other, mine), other
        assert not acl.station_may_receive("12", other, mine), other
    assert not acl.station_may_receive("12", group_topic(3), set())  # taken out of it
    for urgent in (group_topic(3), FLEET_TOPIC):
        assert not acl.station_may_publish("12", urgent)
    assert acl.station_may_subscribe("12", station_topic("12", Channel.PLAN))


def test_dynsec_gives_groups_as_roles_and_the_scheduler_the_urgent_topics() -> None:
    name, acls = acl.dynsec_group_role(3)
    assert name == "group-3"
    assert {(a["acltype"], a["topic"]) for a in acls} == {
        ("subscribePattern", group_topic(3)), ("publishClientReceive", group_topic(3))}
    station = {(a["acltype"], a["topic"]) for a in acl.dynsec_station_acls("12")}
    assert not any("groups" in str(topic) or "all" in str(topic) for _, topic in station)
    assert {(a["acltype"], a["topic"], a["allow"]) for a in acl.dynsec_fleet_acls()} == {
        ("subscribePattern", FLEET_TOPIC, True), ("publishClientReceive", FLEET_TOPIC, True),
        ("publishClientReceive", ALL_GROUPS_TOPIC, False)}
    sends = {a["topic"] for a in acl.dynsec_scheduler_acls(stations=False)
             if a["acltype"] == "publishClientSend"}
    assert sends == {ALL_GROUPS_TOPIC, FLEET_TOPIC}
    assert not any("groups" in str(a["topic"])
                   for a in acl.dynsec_scheduler_acls(stations=True))


def test_the_acl_file_lists_each_stations_groups_under_its_username() -> None:
    lines = acl.mosquitto_station_acl({"12": [7, 3, 3], "13": []})
    assert f"pattern read {FLEET_TOPIC}" in lines
    block = lines[lines.index("user 12"):]
    assert block[:3] == ["user 12", f"topic read {group_topic(3)}",
                         f"topic read {group_topic(7)}"]
    assert "user 13" not in lines  # no group, no block
    assert not any(line.startswith("pattern") and "groups" in line for line in lines)
    scheduler = acl.mosquitto_scheduler_acl("wardcast-scheduler")
    assert f"topic write {ALL_GROUPS_TOPIC}" in scheduler
