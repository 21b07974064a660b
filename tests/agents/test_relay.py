"""Relays: real agents play a live HTTP stream for exactly its span, filled where it fails."""

from __future__ import annotations

import csv
import io
import re
import statistics
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from agents.relay import RELAY_PREROLL_S
from tests.agents.conftest import Clip, wav_frames
from tests.agents.mediaserver import MediaServer
from tests.agents.scheduler_stub import FakeScheduler, grant, item, start_agent
from tests.support.audio import best_lag, envelope, shifted
from tests.support.mosquitto import Mosquitto
from tests.support.procs import Proc, free_port, wait_for
from tests.support.stream_source import StreamSource
from wardcast.protocol import (
    FEATURE_RELAY,
    CommandType,
    Event,
    EventType,
    Filler,
    PlanItem,
    RelaySource,
    utcnow,
)

SECRET = ("ward7", "pw-Sup3rSecret")
BYTES_PER_MS = 96  # s16le mono 48 kHz
RELAYED = [EventType.ACCEPTED, EventType.STARTED, EventType.FINISHED]
FILLED = re.compile(r"filled ([\d.]+) s \(([\d.]+) s filler, ([\d.]+) s silence\)")


def relay(playback_id: int, url: str, at_s: float, span_ms: int, *,
          filler: Clip | None = None) -> PlanItem:
    """A relay item at_s from now."""
    fill = None if filler is None else Filler(sha256=filler.sha256, media_path=filler.media_path,
                                              duration_ms=filler.duration_ms)
    return PlanItem(playback_id=playback_id, title=f"relay {playback_id}",
                    scheduled_at=utcnow() + timedelta(seconds=at_s), duration_ms=span_ms,
                    relay=RelaySource(url=url, filler=fill))


def with_login(url: str, login: tuple[str, str]) -> str:
    return url.replace("http://", f"http://{login[0]}:{login[1]}@")


def ms(delta: timedelta) -> float:
    return delta / timedelta(milliseconds=1)


def output_wav(out: Path, playback_id: int) -> bytes:
    [wav] = out.glob(f"pb{playback_id}_*.wav")
    return wav_frames(wav)


def check_on_air(scheduler: FakeScheduler, item: PlanItem, out: Path, source: Clip) -> None:
    """The relay was on air for its span from its slot, the source's audio without a gap."""
    playback_id = item.playback_id
    assert scheduler.of(playback_id) == RELAYED
    started, finished = (scheduler.event(playback_id, kind)
                         for kind in (EventType.STARTED, EventType.FINISHED))
    assert -1 < ms(started.at - item.scheduled_at) < 1000, started  # -1: ms on the wire
    assert abs(ms(finished.at - started.at) - item.duration_ms) < 500, finished
    assert finished.reason is None  # nothing filled
    frames = output_wav(out, playback_id)
    assert abs(len(frames) / BYTES_PER_MS - item.duration_ms) <= 5
    assert finished.position_ms is not None
    assert abs(finished.position_ms - item.duration_ms) <= 5  # all of it the stream's
    check_correlated(frames, source)


def check_correlated(frames: bytes, source: Clip) -> None:
    """Each 5 s of the output is the looped source's at one lag: no gap, no repeat."""
    output = envelope(frames)
    looped = envelope(source.pcm * (len(frames) // len(source.pcm) + 2))
    lag, score = best_lag(output, looped, range(-10, 100))  # 0.1 s early to 1 s late
    assert score > 0.85, (lag, score)
    output, looped = shifted(output, looped, lag)
    window = 500  # 5 s
    for start in range(0, len(output) - window + 1, window):
        part = statistics.correlation(output[start:start + window], looped[start:start + window])
        assert part > 0.85, (start, lag, part)  # a 50 ms gap or repeat: below 0.8


def test_a_30_s_relay_is_on_air_30_s_on_two_agents(
        tmp_path: Path, mosquitto: Mosquitto, media_server: MediaServer, long_clip: Clip,
        scheduler: FakeScheduler) -> None:
    """Two stations relay one stream that asks for a login; neither says the password."""
    grant(mosquitto, "ward-08", scheduler=False)
    with StreamSource(long_clip.path, folder=tmp_path, credentials=SECRET) as source:
        url = with_login(source.url, SECRET)
        scheduler.items = [relay(901, url, 10.0, 30_000)]
        scheduler.plans["ward-08"] = [relay(902, url, 10.0, 30_000)]
        (tmp_path / "b").mkdir()
        agents = [start_agent(mosquitto, media_server, tmp_path),
                  start_agent(mosquitto, media_server, tmp_path / "b", station="ward-08")]
        try:
            wait_for(lambda: all(EventType.FINISHED in scheduler.of(p) for p in (901, 902)),
                     timeout=50, what=f"both relays; agent logs:\n{logs(agents)}")
        finally:
            for agent in agents:
                agent.stop()
    assert FEATURE_RELAY in scheduler.features
    check_on_air(scheduler, scheduler.items[0], tmp_path / "out", long_clip)
    check_on_air(scheduler, scheduler.plans["ward-08"][0], tmp_path / "b" / "out", long_clip)
    check_secret_kept(scheduler, agents, SECRET[1])


def logs(agents: list[Proc]) -> str:
    return "\n".join(agent.output()[-2000:] for agent in agents)


def check_secret_kept(scheduler: FakeScheduler, agents: list[Proc], *secrets: str) -> None:
    for agent in agents:
        assert "Traceback" not in agent.output()
        assert not any(secret in agent.output() for secret in secrets)
    assert not any(secret in (event.reason or "") for event in scheduler.events
                   for secret in secrets)


def test_a_dead_source_is_filled_with_the_filler_then_silence(
        tmp_path: Path, mosquitto: Mosquitto, media_server: MediaServer, clips: list[Clip],
        long_clip: Clip, scheduler: FakeScheduler) -> None:
    filler = clips[0]
    with StreamSource(long_clip.path, folder=tmp_path) as source:
        item = relay(911, source.url, 9.0, 14_000, filler=filler)
        scheduler.items = [item]
        agent = start_agent(mosquitto, media_server, tmp_path)
        try:
            wait_for(lambda: EventType.STARTED in scheduler.of(911), timeout=15,
                     what=f"the relay to start; agent log:\n{agent.output()[-3000:]}")
            wait_for(lambda: utcnow() > item.scheduled_at + timedelta(seconds=3), timeout=5,
                     what="3 s of the relay")
            source.kill()
            wait_for(lambda: EventType.INTERRUPTED in scheduler.of(911), timeout=20,
                     what=f"the relay's end; agent log:\n{agent.output()[-3000:]}")
        finally:
            agent.stop()
    assert "Traceback" not in agent.output()
    assert scheduler.of(911) == [EventType.ACCEPTED, EventType.DOWNLOADED, EventType.STARTED,
                                 EventType.INTERRUPTED]  # downloaded: its filler is cached
    interrupted = scheduler.event(911, EventType.INTERRUPTED)
    relayed = interrupted.position_ms
    # 3 s, and what was buffered: the pre-roll, less the time the stream took to answer
    assert relayed is not None and 3000 <= relayed <= 3000 + RELAY_PREROLL_S * 1000, interrupted
    assert interrupted.reason is not None and interrupted.reason.startswith(
        f"stream_lost: at {relayed / 1000:.1f} s, "), interrupted.reason
    found = FILLED.search(interrupted.reason)
    assert found is not None, interrupted.reason
    total, by_filler, silence = (float(found.group(k)) for k in (1, 2, 3))
    assert abs(by_filler - filler.duration_ms / 1000) <= 0.1
    assert abs(total - (14_000 - relayed) / 1000) <= 0.1 and silence > 0
    frames = output_wav(tmp_path / "out", 911)
    assert len(frames) == 14_000 * BYTES_PER_MS  # the span, whatever filled it
    at = frames.find(filler.pcm)
    assert 0 <= at - relayed * BYTES_PER_MS <= 200 * BYTES_PER_MS  # right after the stream
    assert not any(frames[at + len(filler.pcm):])  # then silence to the span's end
    check_correlated(frames[: relayed * BYTES_PER_MS], long_clip)
    check_proof_of_play(tmp_path / "state", interrupted)


def check_proof_of_play(state_dir: Path, final: Event) -> None:
    """The agent's own event log (wardcast agent-log) holds the relay's end as it was sent."""
    printed = subprocess.run([sys.executable, "-m", "wardcast.cli", "agent-log", "--state-dir",
                              str(state_dir)], capture_output=True, text=True, check=True).stdout
    [row] = [row for row in csv.DictReader(io.StringIO(printed))
             if row["event_id"] == final.event_id]
    assert (row["type"], row["position_ms"], row["reason"]) == (
        final.type.value, str(final.position_ms), final.reason)


@pytest.mark.parametrize("refusal", ["closed port", "wrong password"])
def test_an_unreachable_stream_fails_and_its_span_is_silent(
        refusal: str, tmp_path: Path, mosquitto: Mosquitto, media_server: MediaServer,
        long_clip: Clip, scheduler: FakeScheduler) -> None:
    """A URL nothing answers, or that refuses the login: failed, with why, and nothing of the
    URL's secrets said."""
    with StreamSource(long_clip.path, folder=tmp_path, credentials=(SECRET[0], "other")) as source:
        port = free_port() if refusal == "closed port" else source.port
        url = f"http://{SECRET[0]}:{SECRET[1]}@127.0.0.1:{port}/live.mp3?token=tok-Secret9"
        scheduler.items = [relay(921, url, 8.0, 4_000)]
        agent = start_agent(mosquitto, media_server, tmp_path)
        try:
            wait_for(lambda: EventType.FAILED in scheduler.of(921), timeout=20,
                     what=f"the relay to fail; agent log:\n{agent.output()[-3000:]}")
        finally:
            agent.stop()
    assert scheduler.of(921) == [EventType.ACCEPTED, EventType.STARTED, EventType.FAILED]
    failed = scheduler.event(921, EventType.FAILED)
    assert failed.position_ms == 0
    assert failed.reason is not None and failed.reason.startswith("stream_unavailable: ")
    why = "Connection refused" if refusal == "closed port" else "401 Unauthorized"
    assert why in failed.reason, failed.reason
    assert "filled 4.0 s (0.0 s filler, 4.0 s silence)" in failed.reason
    frames = output_wav(tmp_path / "out", 921)
    assert len(frames) == 4_000 * BYTES_PER_MS and not any(frames)
    check_secret_kept(scheduler, [agent], SECRET[1], "tok-Secret9")


def test_a_stream_up_after_the_slot_is_relayed_from_then(
        tmp_path: Path, mosquitto: Mosquitto, media_server: MediaServer, long_clip: Clip,
        scheduler: FakeScheduler) -> None:
    """Silence at the slot, the agent trying all along; the stream from when it answers."""
    port = free_port()
    item_ = relay(981, f"http://127.0.0.1:{port}/live.mp3", 8.0, 8_000)
    scheduler.items = [item_]
    agent = start_agent(mosquitto, media_server, tmp_path)
    try:
        wait_for(lambda: utcnow() > item_.scheduled_at + timedelta(seconds=2), timeout=15,
                 what=f"2 s of the span; agent log:\n{agent.output()[-3000:]}")
        with StreamSource(long_clip.path, folder=tmp_path, port=port):
            wait_for(lambda: EventType.FINISHED in scheduler.of(981), timeout=15,
                     what=f"the relay; agent log:\n{agent.output()[-3000:]}")
    finally:
        agent.stop()
    finished = scheduler.event(981, EventType.FINISHED)
    found = re.fullmatch(r"stream_gaps: on air from ([\d.]+) s; filled ([\d.]+) s "
                         r"\(0\.0 s filler, [\d.]+ s silence\)", finished.reason or "")
    assert found is not None, finished.reason
    began, filled = float(found.group(1)), float(found.group(2))
    assert 2.0 < began < 6.5 and abs(began - filled) <= 0.1  # retried within 4 s of its start
    assert finished.position_ms is not None
    assert abs(finished.position_ms - (8_000 - filled * 1000)) <= 100
    frames = output_wav(tmp_path / "out", 981)
    assert len(frames) == 8_000 * BYTES_PER_MS
    start = round(began * 1000) * BYTES_PER_MS
    assert not any(frames[:start - 100 * BYTES_PER_MS])  # silence: began is to 0.1 s
    check_correlated(frames[start:], long_clip)


def test_a_relay_follows_a_bulletin_without_a_gap(
        tmp_path: Path, mosquitto: Mosquitto, media_server: MediaServer, clips: list[Clip],
        long_clip: Clip, scheduler: FakeScheduler) -> None:
    """Its stream opens while the bulletin before it plays: on air as the bulletin ends."""
    with StreamSource(long_clip.path, folder=tmp_path) as source:
        bulletin = item(961, clips[0], 5.0)
        after = relay(962, source.url, 5.0 + clips[0].duration_ms / 1000, 5_000)
        scheduler.items = [bulletin, after]
        agent = start_agent(mosquitto, media_server, tmp_path)
        try:
            wait_for(lambda: EventType.FINISHED in scheduler.of(962), timeout=25,
                     what=f"the relay; agent log:\n{agent.output()[-3000:]}")
        finally:
            agent.stop()
    assert "Traceback" not in agent.output()
    ended = scheduler.event(961, EventType.FINISHED).at
    started = scheduler.event(962, EventType.STARTED).at
    assert -1 < ms(started - ended) < 50
    check_on_air(scheduler, after, tmp_path / "out", long_clip)


def test_a_relay_started_late_still_ends_on_time(
        tmp_path: Path, mosquitto: Mosquitto, media_server: MediaServer, clips: list[Clip],
        long_clip: Clip, scheduler: FakeScheduler) -> None:
    """The bulletin before it runs a second over its slot: the span does not stretch."""
    with StreamSource(long_clip.path, folder=tmp_path) as source:
        bulletin = item(971, clips[1], 5.0)
        late = relay(972, source.url, 5.0 + clips[1].duration_ms / 1000 - 1.0, 5_000)
        scheduler.items = [bulletin, late]
        agent = start_agent(mosquitto, media_server, tmp_path)
        try:
            wait_for(lambda: EventType.FINISHED in scheduler.of(972), timeout=25,
                     what=f"the relay; agent log:\n{agent.output()[-3000:]}")
        finally:
            agent.stop()
    started, finished = (scheduler.event(972, kind)
                         for kind in (EventType.STARTED, EventType.FINISHED))
    assert started.reason is not None and started.reason.startswith("late=")
    end = late.scheduled_at + timedelta(milliseconds=late.duration_ms)
    assert abs(ms(finished.at - end)) < 100
    frames = output_wav(tmp_path / "out", 972)
    assert abs(len(frames) / BYTES_PER_MS - ms(end - started.at)) <= 5  # about 4 s, not 5


def test_a_stop_command_cuts_a_relay(
        tmp_path: Path, mosquitto: Mosquitto, media_server: MediaServer, long_clip: Clip,
        scheduler: FakeScheduler) -> None:
    with StreamSource(long_clip.path, folder=tmp_path) as source:
        scheduler.items = [relay(931, source.url, 8.0, 20_000)]
        agent = start_agent(mosquitto, media_server, tmp_path)
        try:
            wait_for(lambda: EventType.STARTED in scheduler.of(931), timeout=15,
                     what=f"the relay to start; agent log:\n{agent.output()[-3000:]}")
            started = scheduler.event(931, EventType.STARTED).at
            wait_for(lambda: utcnow() > started + timedelta(seconds=3), timeout=5,
                     what="3 s of the relay")
            stop = scheduler.command(CommandType.STOP)
            wait_for(lambda: EventType.INTERRUPTED in scheduler.of(931), timeout=5,
                     what=f"the relay to be cut; agent log:\n{agent.output()[-3000:]}")
        finally:
            agent.stop()
    assert "Traceback" not in agent.output()
    [result] = scheduler.results_of(stop)
    assert (result.ok, result.detail) == (True, "stopped playback 931")
    interrupted = scheduler.event(931, EventType.INTERRUPTED)
    assert interrupted.reason == f"stopped by command {stop}"
    frames = output_wav(tmp_path / "out", 931)
    assert 3000 * BYTES_PER_MS <= len(frames) < 6000 * BYTES_PER_MS
    assert interrupted.position_ms == len(frames) // BYTES_PER_MS
    check_correlated(frames, long_clip)


def test_a_stream_that_comes_back_is_relayed_again(
        tmp_path: Path, mosquitto: Mosquitto, media_server: MediaServer, clips: list[Clip],
        long_clip: Clip, scheduler: FakeScheduler) -> None:
    """Lost mid-relay, the filler plays; back before the end, the stream plays to the end."""
    filler = clips[1]
    with StreamSource(long_clip.path, folder=tmp_path) as source:
        item = relay(941, source.url, 9.0, 20_000, filler=filler)
        scheduler.items = [item]
        agent = start_agent(mosquitto, media_server, tmp_path)
        try:
            wait_for(lambda: utcnow() > item.scheduled_at + timedelta(seconds=2), timeout=15,
                     what=f"2 s of the relay; agent log:\n{agent.output()[-3000:]}")
            source.kill()
            wait_for(lambda: "connecting again" in agent.output(), timeout=10, what="the loss")
            lost = utcnow()  # back once the filler has played whole
            wait_for(lambda: utcnow() > lost + timedelta(milliseconds=filler.duration_ms + 500),
                     timeout=10, what="the filler to play")
            with StreamSource(long_clip.path, folder=tmp_path, port=source.port):
                wait_for(lambda: EventType.FINISHED in scheduler.of(941), timeout=20,
                         what=f"the relay's end; agent log:\n{agent.output()[-3000:]}")
        finally:
            agent.stop()
    assert "Traceback" not in agent.output()
    finished = scheduler.event(941, EventType.FINISHED)
    assert finished.reason is not None and finished.reason.startswith(
        "stream_gaps: lost 1 time(s); filled "), finished.reason
    found = FILLED.search(finished.reason)
    assert found is not None and abs(float(found.group(2)) - filler.duration_ms / 1000) < 0.1
    frames = output_wav(tmp_path / "out", 941)
    assert len(frames) == 20_000 * BYTES_PER_MS
    relayed, filled = finished.position_ms, float(found.group(1)) * 1000
    assert relayed is not None and abs(relayed + filled - 20_000) <= 100
    at = frames.find(filler.pcm)
    assert at > 0  # the filler, whole, between the two stretches of the stream
    back = re.compile(rb"[^\x00]").search(frames, at + len(filler.pcm))  # after the silence
    assert back is not None
    check_correlated(frames[back.start() & ~1:], long_clip)  # the source again, from its start


def test_an_emergency_cuts_a_relay(
        tmp_path: Path, mosquitto: Mosquitto, media_server: MediaServer, clips: list[Clip],
        long_clip: Clip, scheduler: FakeScheduler) -> None:
    with StreamSource(long_clip.path, folder=tmp_path) as source:
        scheduler.items = [relay(951, source.url, 8.0, 20_000)]
        agent = start_agent(mosquitto, media_server, tmp_path)
        try:
            wait_for(lambda: EventType.STARTED in scheduler.of(951), timeout=15,
                     what=f"the relay to start; agent log:\n{agent.output()[-3000:]}")
            scheduler.push([*scheduler.items, item(952, clips[0], 2.5, preempt=True,
                                                   until_s=30)])
            wait_for(lambda: EventType.FINISHED in scheduler.of(952), timeout=15,
                     what=f"the emergency; agent log:\n{agent.output()[-3000:]}")
        finally:
            agent.stop()
    assert "Traceback" not in agent.output()
    interrupted = scheduler.event(951, EventType.INTERRUPTED)
    assert interrupted.reason == "preempted by playback 952"
    frames = output_wav(tmp_path / "out", 951)
    assert interrupted.position_ms == len(frames) // BYTES_PER_MS
    assert 2000 * BYTES_PER_MS <= len(frames) < 4000 * BYTES_PER_MS
    assert output_wav(tmp_path / "out", 952) == clips[0].pcm
