"""Station commands over MQTT: stop, volume, test tone, each answered once with a result."""

from __future__ import annotations

import json
import signal
import threading
from array import array
from datetime import timedelta
from pathlib import Path

from tests.agents.conftest import Clip, wav_frames
from tests.agents.mediaserver import MediaServer
from tests.agents.scheduler_stub import STATION, FakeScheduler, item, start_agent
from tests.support.mosquitto import Mosquitto
from tests.support.procs import Proc, wait_for
from wardcast.protocol import (
    Channel,
    CommandResult,
    CommandType,
    EventType,
    station_topic,
    to_wire,
    utcnow,
)


def answer(scheduler: FakeScheduler, command_id: str, agent: Proc, *, count: int = 1,
           timeout: float = 10) -> CommandResult:
    wait_for(lambda: len(scheduler.results_of(command_id)) >= count, timeout=timeout,
             what=f"the result of {command_id}; agent log:\n{agent.output()[-3000:]}")
    return scheduler.results_of(command_id)[-1]


def samples(pcm: bytes) -> array[int]:
    return array("h", pcm)


def assert_half(wav: bytes, media: bytes) -> None:
    """Every sample is the media's halved (rounded)."""
    assert len(wav) == len(media)
    assert max(abs(w - m / 2) for w, m in zip(samples(wav), samples(media), strict=True)) <= 0.5


def zero_crossings(pcm: bytes) -> int:
    signs = [s >= 0 for s in samples(pcm)]
    return sum(a != b for a, b in zip(signs, signs[1:], strict=False))


def test_stop_volume_and_test_tone(tmp_path: Path, mosquitto: Mosquitto,
                                   media_server: MediaServer, clips: list[Clip],
                                   long_clip: Clip, scheduler: FakeScheduler) -> None:
    out = tmp_path / "out"
    scheduler.items = [item(801, long_clip, 3.0)]
    agent = start_agent(mosquitto, media_server, tmp_path)
    try:
        check_stop(scheduler, agent, out, long_clip)
        check_volume(scheduler, agent, out, clips[0])
        check_tone(scheduler, agent, out)
        check_tone_gives_way(scheduler, agent, out, clips[1])
        check_refusals(scheduler, agent)
        agent.stop(sig=signal.SIGTERM)
        agent = start_agent(mosquitto, media_server, tmp_path)  # the volume is kept
        scheduler.push([item(805, clips[0], 3.0)])
        wait_for(lambda: EventType.FINISHED in scheduler.of(805), timeout=10,
                 what=f"item 805 to play; agent log:\n{agent.output()[-3000:]}")
    finally:
        agent.stop()
    assert "Traceback" not in agent.output()
    [wav] = out.glob("pb805_*.wav")
    assert_half(wav_frames(wav), clips[0].pcm)


def check_stop(scheduler: FakeScheduler, agent: Proc, out: Path, clip: Clip) -> None:
    """STOP cuts what plays; a tone asked for meanwhile is refused, not played."""
    wait_for(lambda: EventType.STARTED in scheduler.of(801), timeout=10,
             what=f"item 801 to start; agent log:\n{agent.output()[-3000:]}")
    busy = scheduler.command(CommandType.TEST_TONE, {"seconds": 2, "hz": 440})
    result = answer(scheduler, busy, agent)
    assert (result.ok, result.detail) == (False, "busy: playback 801 is playing")
    stop = scheduler.command(CommandType.STOP)
    result = answer(scheduler, stop, agent)
    assert (result.ok, result.detail) == (True, "stopped playback 801")
    wait_for(lambda: EventType.INTERRUPTED in scheduler.of(801), timeout=5,
             what="the interrupted event")
    interrupted = scheduler.event(801, EventType.INTERRUPTED)
    assert interrupted.reason == f"stopped by command {stop}"
    [wav] = out.glob("pb801_*.wav")
    frames = wav_frames(wav)
    assert 0 < len(frames) < len(clip.pcm) and frames == clip.pcm[: len(frames)]
    assert interrupted.position_ms == len(frames) * 1000 // 96_000
    again = scheduler.command(CommandType.STOP)
    assert answer(scheduler, again, agent).detail == "nothing was playing"
    assert not list(out.glob("test-tone_*.wav"))


def check_volume(scheduler: FakeScheduler, agent: Proc, out: Path, clip: Clip) -> None:
    """At 50 % every sample written is the media's halved."""
    volume = scheduler.command(CommandType.VOLUME, {"percent": 50})
    result = answer(scheduler, volume, agent)
    assert (result.ok, result.detail) == (True, "volume 50%")
    scheduler.push([item(802, clip, 2.5)])
    wait_for(lambda: EventType.FINISHED in scheduler.of(802), timeout=10,
             what=f"item 802 to play; agent log:\n{agent.output()[-3000:]}")
    [wav] = out.glob("pb802_*.wav")
    assert_half(wav_frames(wav), clip.pcm)


def check_tone(scheduler: FakeScheduler, agent: Proc, out: Path) -> None:
    """A tone of the right length and pitch; its id again is answered, not played again."""
    tone = scheduler.command(CommandType.TEST_TONE, {"seconds": 2, "hz": 440})
    result = answer(scheduler, tone, agent)
    assert (result.ok, result.detail) == (True, "played 2 s of 440 Hz")
    [wav] = out.glob(f"test-tone_{tone}_*.wav")
    frames = wav_frames(wav)
    assert len(frames) == 2 * 48_000 * 2
    assert abs(zero_crossings(frames) - 2 * 440 * 2) <= 2
    assert max(abs(s) for s in samples(frames)) < 32768 // 8 // 2 + 2  # -18 dBFS, at 50 %
    scheduler.command(CommandType.TEST_TONE, {"seconds": 2, "hz": 440}, command_id=tone)
    repeated = answer(scheduler, tone, agent, count=2)
    assert repeated == result  # the stored answer, sent again
    threading.Event().wait(0.5)  # a second tone would have started by now
    assert len(list(out.glob(f"test-tone_{tone}_*.wav"))) == 1


def check_tone_gives_way(scheduler: FakeScheduler, agent: Proc, out: Path, clip: Clip
                         ) -> None:
    """A bulletin due during a tone starts on time; the tone stops."""
    bulletin = item(803, clip, 4.0)
    scheduler.push([bulletin])
    wait_for(lambda: EventType.DOWNLOADED in scheduler.of(803), timeout=5, what="the media")
    tone = scheduler.command(CommandType.TEST_TONE, {"seconds": 10, "hz": 1000})
    result = answer(scheduler, tone, agent)
    assert not result.ok and result.detail is not None
    assert result.detail.startswith("playback 803 was due after ")
    wait_for(lambda: EventType.FINISHED in scheduler.of(803), timeout=10, what="item 803")
    started = scheduler.event(803, EventType.STARTED)
    assert abs(started.at - bulletin.scheduled_at) < timedelta(milliseconds=100)
    [wav] = out.glob(f"test-tone_{tone}_*.wav")
    assert 1.0 < len(wav_frames(wav)) / 96_000 < 4.0


def check_refusals(scheduler: FakeScheduler, agent: Proc) -> None:
    """Unknown types and bad arguments are answered ok=false."""
    unknown = {"v": 1, "command_id": "c-unknown-1", "type": "self_destruct",
               "sent_at": to_wire(utcnow()), "args": {}}
    scheduler.client.publish(station_topic(STATION, Channel.COMMAND),
                             json.dumps(unknown).encode(), qos=1)
    result = answer(scheduler, "c-unknown-1", agent)
    assert (result.ok, result.detail) == (False, "unknown command")
    bad = scheduler.command(CommandType.VOLUME, {"percent": 150})
    result = answer(scheduler, bad, agent)
    assert (result.ok, result.detail) == (
        False, "invalid args: percent must be a number from 0 to 100")
