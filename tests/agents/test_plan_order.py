"""Plans that arrive out of order (several scheduler replicas answer): the newer one holds."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.agents.conftest import Clip
from tests.agents.mediaserver import MediaServer
from tests.agents.scheduler_stub import STATION, FakeScheduler, grant, item, start_agent
from tests.support.mosquitto import Mosquitto
from tests.support.procs import wait_for
from wardcast.protocol import Channel, EventType, Plan, encode, station_topic, utcnow


def test_an_older_plan_arriving_late_does_not_undo_a_newer_one(
        tmp_path: Path, mosquitto: Mosquitto, media_server: MediaServer,
        clips: list[Clip]) -> None:
    grant(mosquitto)
    scheduler = FakeScheduler(mosquitto, [item(201, clips[0], 6)])
    agent = start_agent(mosquitto, media_server, tmp_path)
    try:
        wait_for(lambda: EventType.ACCEPTED in scheduler.of(201), timeout=20,
                 what=f"the item to be accepted; agent log:\n{agent.output()[-3000:]}")
        # the plan another replica built before the item existed, published after the newer
        stale = utcnow() - timedelta(seconds=10)
        older = Plan(station_id=STATION, revision=0, generated_at=stale,
                     horizon_end=stale + timedelta(hours=48), items=[])
        scheduler.client.publish(station_topic(STATION, Channel.PLAN), encode(older), qos=1)
        wait_for(lambda: EventType.FINISHED in scheduler.of(201), timeout=30,
                 what=f"the item to play; agent log:\n{agent.output()[-3000:]}")
        assert "ignored plan revision 0" in agent.output()
    finally:
        agent.stop()
        scheduler.stop()
