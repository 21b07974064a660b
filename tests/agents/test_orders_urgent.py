"""Group messages at the agent: only for its groups, and one broadcast kept under one key
whether the message or the plan brought it."""

from __future__ import annotations

from datetime import timedelta

from agents.orders import ROWS_SETTLE, Groups, merged, read
from simulate.store import MemoryStore
from wardcast.protocol import (
    FLEET_TOPIC,
    Plan,
    PlanItem,
    Urgent,
    UrgentAction,
    UrgentItem,
    broadcast_key,
    encode,
    group_topic,
    media_path,
    utcnow,
)

SHA = "a" * 64


class Followed:
    """A link that only records which urgent topics it was told to read."""

    def __init__(self) -> None:
        self.topics: set[str] = set()

    def follow(self, topics: set[str]) -> None:
        self.topics = set(topics)


def _urgent(broadcast_id: int = 7, repeat: int = 2) -> bytes:
    now = utcnow()
    return encode(Urgent(broadcast_id=broadcast_id, action=UrgentAction.START, sent_at=now,
                         item=UrgentItem(bulletin_id=3, duration_ms=2000, sha256=SHA,
                                         media_path=media_path(SHA), starts_at=now,
                                         play_until=now + timedelta(minutes=5),
                                         repeat=repeat, gap_ms=500)))


def _groups(*ids: int) -> tuple[Groups, Followed, MemoryStore]:
    store, link = MemoryStore(), Followed()
    groups = Groups(store=store, link=link)  # type: ignore[arg-type]
    groups.follow(list(ids))
    return groups, link, store


def test_a_station_reads_and_acts_on_its_groups_and_the_fleet_only() -> None:
    groups, link, store = _groups(4, 9)
    assert link.topics == {FLEET_TOPIC, group_topic(4), group_topic(9)}
    message = read(group_topic(4), _urgent(), groups)
    assert message is not None
    items = message.plan_items()
    assert [i.playback_id for i in items] == [broadcast_key(7, 0), broadcast_key(7, 1)]
    assert items[1].scheduled_at - items[0].scheduled_at == timedelta(milliseconds=2500)
    assert all(i.preempt and i.broadcast_id == 7 for i in items)
    assert read(FLEET_TOPIC, _urgent(), groups) is not None
    assert read(group_topic(5), _urgent(), groups) is None  # not one of its groups
    groups.follow([9])  # a new plan: it left group 4
    assert link.topics == {FLEET_TOPIC, group_topic(9)}
    assert read(group_topic(4), _urgent(), groups) is None
    # kept across a restart: the next run reads the same topics before its first plan
    again = Followed()
    Groups(store=store, link=again)  # type: ignore[arg-type]
    assert again.topics == {FLEET_TOPIC, group_topic(9)}


def _plan(items: list[PlanItem], *, generated_after_s: float, start: PlanItem) -> Plan:
    made = start.scheduled_at + timedelta(seconds=generated_after_s)
    return Plan(station_id="1", revision=2, generated_at=made, horizon_end=made, items=items)


def test_a_plan_keeps_what_a_newer_message_brought_and_never_doubles_it() -> None:
    groups, _, _ = _groups(4)
    message = read(group_topic(4), _urgent(), groups)
    assert message is not None
    first, second = message.plan_items()
    normal = PlanItem(playback_id=41, bulletin_id=1, scheduled_at=first.scheduled_at,
                      duration_ms=1000, sha256=SHA, media_path=media_path(SHA))
    # made before the broadcast's rows: it does not list them, they stay
    older = merged(_plan([normal], generated_after_s=-1, start=first), [first, second])
    assert [i.playback_id for i in older] == [41, first.playback_id, second.playback_id]
    # made after them: the rows come with their own ids, kept under the broadcast's keys
    rows = [i.model_copy(update={"playback_id": 900 + k}) for k, i in enumerate((first,
                                                                                  second))]
    newer = merged(_plan([normal, *rows], generated_after_s=1, start=first), [first, second])
    assert sorted(i.playback_id for i in newer) == sorted([41, first.playback_id,
                                                           second.playback_id])
    # long after, a plan without them (cancelled at the scheduler) drops them
    late = merged(_plan([normal], generated_after_s=ROWS_SETTLE.total_seconds() + 5,
                        start=first), [first, second])
    assert [i.playback_id for i in late] == [41]
    store = MemoryStore()
    assert len(store.replace_plan([first, second])) == 2
    assert store.replace_plan(newer) == [normal]  # the broadcast's items are not new
