"""STOP naming a broadcast: the agent cuts only that broadcast's playback and drops its
waiting repeats; anything else plays on (the emergency watch page's Stop)."""

from __future__ import annotations

import time
from pathlib import Path

from tests.agents.conftest import Clip, wav_frames
from tests.agents.mediaserver import MediaServer
from tests.agents.scheduler_stub import FakeScheduler, item, start_agent
from tests.agents.test_commands import answer
from tests.support.mosquitto import Mosquitto
from tests.support.procs import wait_for
from wardcast.protocol import CommandType, Event, EventType, utcnow


def events(scheduler: FakeScheduler, broadcast_id: int, repeat: int) -> list[Event]:
    with scheduler._lock:  # the stub's own lock: events arrive from the broker's thread
        return [e for e in scheduler.events
                if (e.broadcast_id, e.repeat_index) == (broadcast_id, repeat)]


def test_stop_of_a_broadcast_cuts_it_and_drops_its_repeats(
        tmp_path: Path, mosquitto: Mosquitto, media_server: MediaServer, long_clip: Clip,
        clips: list[Clip], scheduler: FakeScheduler) -> None:
    out = tmp_path / "out"
    first = item(901, long_clip, 3.0, until_s=60).model_copy(
        update={"broadcast_id": 7, "repeat_index": 0})
    second = item(902, clips[0], 12.0).model_copy(update={"broadcast_id": 7, "repeat_index": 1})
    scheduler.items = [first, second]
    agent = start_agent(mosquitto, media_server, tmp_path)
    try:
        wait_for(lambda: any(e.type is EventType.STARTED for e in events(scheduler, 7, 0)),
                 timeout=30, what=f"repeat 0 to start; agent log:\n{agent.output()[-3000:]}")
        other = scheduler.command(CommandType.STOP, {"broadcast_id": 8})
        assert answer(scheduler, other, agent).detail == (
            "broadcast 8: not playing, 0 waiting repeat(s) dropped")
        stop = scheduler.command(CommandType.STOP, {"broadcast_id": 7})
        result = answer(scheduler, stop, agent)
        assert (result.ok, result.detail) == (
            True, "broadcast 7: stopped playback -224, 1 waiting repeat(s) dropped")
        wait_for(lambda: any(e.type is EventType.INTERRUPTED
                             for e in events(scheduler, 7, 0)), timeout=5,
                 what="the interrupted event")
        cut = next(e for e in events(scheduler, 7, 0) if e.type is EventType.INTERRUPTED)
        assert cut.reason == f"broadcast stopped by command {stop}"
        bad = scheduler.command(CommandType.STOP, {"broadcast_id": "7"})
        assert not answer(scheduler, bad, agent).ok
        time.sleep(max(0.0, (second.scheduled_at - utcnow()).total_seconds() + 2))
    finally:
        agent.stop()
    assert "Traceback" not in agent.output()
    [wav] = out.glob("bc7-0_*.wav")
    assert 0 < len(wav_frames(wav)) < len(long_clip.pcm)
    # the repeat's slot passed with the agent running: it was never started
    assert {e.type for e in events(scheduler, 7, 1)} <= {EventType.ACCEPTED,
                                                         EventType.DOWNLOADED}
    assert not list(out.glob("bc7-1_*.wav"))
