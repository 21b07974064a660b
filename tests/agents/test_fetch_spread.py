"""The members of a large group do not all ask the scheduler for a broadcast's audio in the
same instant: each waits a random part of the spread its urgent message gives."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from agents.config import OutputSpec, Settings
from agents.fetch import Clock, MediaCache
from agents.link import MqttLink
from agents.station import Station
from simulate.media import SharedMedia, SimCache
from simulate.output import TimedOutput
from simulate.store import MemoryStore
from tests.agents.conftest import TOKEN, Clip
from tests.agents.mediaserver import MediaServer
from wardcast.protocol import (
    Channel,
    Plan,
    PlanItem,
    Urgent,
    UrgentAction,
    UrgentItem,
    encode,
    group_topic,
    utcnow,
)

SPREAD_S = 0.8


def _urgent(clip: Clip, *, spread_ms: int) -> bytes:
    now = utcnow()
    return encode(Urgent(broadcast_id=5, action=UrgentAction.START, sent_at=now,
                         item=UrgentItem(bulletin_id=2, duration_ms=clip.duration_ms,
                                         sha256=clip.sha256, media_path=clip.media_path,
                                         starts_at=now + timedelta(seconds=30),
                                         play_until=now + timedelta(minutes=5),
                                         fetch_spread_ms=spread_ms)))


def _plan(clip: Clip) -> bytes:
    now = utcnow()
    item = PlanItem(playback_id=11, bulletin_id=1, duration_ms=clip.duration_ms,
                    scheduled_at=now + timedelta(minutes=10), sha256=clip.sha256,
                    media_path=clip.media_path)
    return encode(Plan(station_id="1", revision=1, generated_at=now, groups=[4],
                       horizon_end=now + timedelta(hours=1), items=[item]))


async def _asked(server: MediaServer, clip: Clip, *, within_s: float) -> float:
    """Return when (time.monotonic) the server was first asked for a clip's media."""
    async with asyncio.timeout(within_s):
        while all(path != clip.media_path for path, _ in server.requests):  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    return time.monotonic()


def test_a_member_asks_for_an_urgent_broadcasts_audio_within_its_spread(
        tmp_path: Path, media_server: MediaServer, clips: list[Clip],
        monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:  # the longest wait the spread allows
        drawn.append((low, high))
        return high

    monkeypatch.setattr("agents.station.random.uniform", uniform)
    planned, urgent = clips[0], clips[1]

    async def scenario() -> None:
        settings = Settings(server=media_server.url, station="1", token=TOKEN,
                            mqtt_host="127.0.0.1", mqtt_port=1, output=OutputSpec("null"),
                            state_dir=tmp_path)
        async with httpx.AsyncClient(base_url=media_server.url,
                                     headers={"Authorization": f"Bearer {TOKEN}"}) as http:
            cache = MediaCache(tmp_path / "media", http=http)
            station = Station(settings, store=MemoryStore(), link=MqttLink(settings,
                                                                           boot_id="b"),
                              cache=cache, output=TimedOutput(), clock=Clock(http, interval_s=300),
                              boot_id="b")
            try:
                began = time.monotonic()
                station.message(Channel.PLAN, _plan(planned))
                # the plan's own media is asked for at once
                assert await _asked(media_server, planned, within_s=5) - began < SPREAD_S / 2
                began = time.monotonic()
                station.urgent(group_topic(4), _urgent(urgent,
                                                       spread_ms=round(SPREAD_S * 1000)))
                asked = await _asked(media_server, urgent, within_s=10) - began
                assert SPREAD_S <= asked < SPREAD_S + 2, asked
                async with asyncio.timeout(10):
                    while cache.path(urgent.sha256) is None:  # noqa: ASYNC110
                        await asyncio.sleep(0.01)
            finally:
                await cache.close()
        # only the message's own audio waits; the plan's item asked with no spread
        assert (0.0, SPREAD_S) in drawn and set(drawn) <= {(0.0, 0.0), (0.0, SPREAD_S)}

    asyncio.run(scenario())


def test_the_simulator_downloads_each_stations_own_copy_after_its_wait(
        tmp_path: Path, media_server: MediaServer, clips: list[Clip]) -> None:
    clip = clips[1]

    async def scenario() -> None:
        def client() -> httpx.AsyncClient:  # no token of its own: each station gives its own
            return httpx.AsyncClient(base_url=media_server.url)

        own = SharedMedia(tmp_path / "own", make_http=client, own=True)
        caches = [SimCache(own, owner=(name, TOKEN)) for name in ("1", "2")]
        ready: list[str] = []
        try:
            began = time.monotonic()
            for cache in caches:
                cache.want(clip.sha256, clip.media_path, ready=ready.append,
                           needed=lambda: True, after_s=0.5)
            assert await _asked(media_server, clip, within_s=10) - began >= 0.5
            async with asyncio.timeout(10):
                while len(ready) < 2:  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
        finally:
            await own.close()
        # two real downloads, each into its station's own directory
        assert [r for r in media_server.requests if r[0] == clip.media_path] == [
            (clip.media_path, None)] * 2
        paths = [cache.path(clip.sha256) for cache in caches]
        assert paths[0] is not None and paths[1] is not None and paths[0] != paths[1]
        assert paths[0].read_bytes() == paths[1].read_bytes() == clip.path.read_bytes()
        assert own.downloads == 2

    asyncio.run(scenario())
