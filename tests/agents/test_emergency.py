"""Emergencies: they cut in on what plays, and start late within their validity window."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from tests.agents.conftest import Clip, wav_frames
from tests.agents.mediaserver import MediaServer
from tests.agents.scheduler_stub import FakeScheduler, item, start_agent
from tests.support.mosquitto import Mosquitto
from tests.support.procs import wait_for
from wardcast.protocol import EventType, utcnow

PLAYED = [EventType.ACCEPTED, EventType.DOWNLOADED, EventType.STARTED, EventType.FINISHED]


def ms(delta: timedelta) -> float:
    return delta / timedelta(milliseconds=1)


def test_an_emergency_cuts_in_on_the_item_playing(
        tmp_path: Path, mosquitto: Mosquitto, media_server: MediaServer, clips: list[Clip],
        long_clip: Clip, scheduler: FakeScheduler) -> None:
    normal = item(601, long_clip, 3.0)
    scheduler.items = [normal]
    agent = start_agent(mosquitto, media_server, tmp_path)
    try:
        wait_for(lambda: EventType.STARTED in scheduler.of(601), timeout=10,
                 what=f"the normal item to start; agent log:\n{agent.output()[-3000:]}")
        wait_for(lambda: utcnow() > scheduler.event(601, EventType.STARTED).at
                 + timedelta(seconds=1.5), timeout=5, what="some of it to play")
        # The scheduler sends a broadcast's slot 300 ms ahead; its media is not cached yet.
        # A normal item due while the emergency plays must not interrupt it.
        emergency = item(602, clips[1], 0.3, preempt=True, until_s=60)
        after = item(603, clips[0], 0.8)
        scheduler.push([normal, emergency, after])
        wait_for(lambda: EventType.FINISHED in scheduler.of(603), timeout=15,
                 what=f"the emergency and the next item; agent log:\n{agent.output()[-3000:]}")
    finally:
        agent.stop()
    assert "Traceback" not in agent.output()
    out = tmp_path / "out"
    cut_at = check_cut_item(scheduler, out, long_clip)
    check_emergency(scheduler, out, clips[1], emergency.scheduled_at, cut_at)
    assert scheduler.of(603) == PLAYED  # after the emergency, late but within its grace
    started = scheduler.event(603, EventType.STARTED)
    assert started.at >= scheduler.event(602, EventType.FINISHED).at
    assert started.reason is not None and started.reason.startswith("late=")


def check_cut_item(scheduler: FakeScheduler, out: Path, clip: Clip) -> datetime:
    """The item cut ends interrupted, its WAV a prefix of its media; return when it was cut."""
    assert scheduler.of(601) == [EventType.ACCEPTED, EventType.DOWNLOADED, EventType.STARTED,
                                 EventType.INTERRUPTED]
    interrupted = scheduler.event(601, EventType.INTERRUPTED)
    assert interrupted.reason == "preempted by playback 602"
    [wav] = out.glob("pb601_*.wav")
    frames = wav_frames(wav)
    assert 1500 * 96 < len(frames) < len(clip.pcm)
    assert frames == clip.pcm[: len(frames)]
    assert interrupted.position_ms == len(frames) * 1000 // 96_000
    started = scheduler.event(601, EventType.STARTED)
    return started.at + timedelta(milliseconds=interrupted.position_ms)


def check_emergency(scheduler: FakeScheduler, out: Path, clip: Clip, slot: datetime,
                    cut_at: datetime) -> None:
    """The emergency played whole, within a second of its slot, right after the cut."""
    assert scheduler.of(602) == PLAYED
    started = scheduler.event(602, EventType.STARTED)
    assert 0 <= ms(started.at - slot) < 1000, started
    assert -50 < ms(started.at - cut_at) < 200  # the cut item's WAV ends where this begins
    [wav] = out.glob("pb602_*.wav")
    assert wav_frames(wav) == clip.pcm
    events = [(e.playback_id, e.type) for e in scheduler.events]
    assert events.index((601, EventType.INTERRUPTED)) < events.index((602, EventType.STARTED))


def test_an_agent_coming_online_plays_a_valid_emergency_at_once(
        tmp_path: Path, mosquitto: Mosquitto, media_server: MediaServer, clips: list[Clip],
        scheduler: FakeScheduler) -> None:
    """Repeats of one broadcast play in order; one past its play_until is skipped."""
    clip = clips[0]
    step = clip.duration_ms / 1000
    scheduler.items = [
        item(701, clip, -90, preempt=True, until_s=-30, bulletin_id=70),  # no longer valid
        item(702, clip, -20, preempt=True, until_s=60, bulletin_id=70),
        item(703, clip, -20 + step, preempt=True, until_s=60, bulletin_id=70),
    ]
    agent = start_agent(mosquitto, media_server, tmp_path)
    try:
        wait_for(lambda: EventType.FINISHED in scheduler.of(703), timeout=15,
                 what=f"both repeats to play; agent log:\n{agent.output()[-3000:]}")
    finally:
        agent.stop()
    assert "Traceback" not in agent.output()
    skipped = [e for e in scheduler.events if e.playback_id == 701][-1]
    assert (skipped.type, skipped.reason) == (EventType.SKIPPED, "late")
    assert scheduler.of(702) == scheduler.of(703) == PLAYED
    first, second = (scheduler.event(p, EventType.STARTED) for p in (702, 703))
    assert ms(first.at - scheduler.event(702, EventType.DOWNLOADED).at) < 1000  # at once
    assert first.reason is not None and first.reason.startswith("late=")
    assert second.at >= scheduler.event(702, EventType.FINISHED).at  # in order, not cut
    for playback_id in (702, 703):
        [wav] = (tmp_path / "out").glob(f"pb{playback_id}_*.wav")
        assert wav_frames(wav) == clip.pcm
