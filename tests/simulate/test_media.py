"""The simulator's shared media: one download on its own thread, every waiting station
told in one pass of the main loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from agents.config import OutputSpec, Settings
from agents.fetch import Clock
from agents.link import MqttLink
from agents.station import Station
from simulate.media import SharedMedia, SimCache
from simulate.output import TimedOutput
from simulate.store import MemoryStore
from tests.agents.conftest import TOKEN, Clip
from tests.agents.mediaserver import MediaServer
from wardcast.protocol import Channel, Plan, PlanItem, encode, utcnow


def _shared_media(directory: Path, server: MediaServer) -> SharedMedia:
    return SharedMedia(directory, make_http=lambda: httpx.AsyncClient(
        base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}))


class _Passes:
    """Counts the passes of the running loop: one tick per pass."""

    def __init__(self) -> None:
        self.count = 0
        self._loop = asyncio.get_running_loop()
        self._handle = self._loop.call_soon(self._tick)

    def _tick(self) -> None:
        self.count += 1
        self._handle = self._loop.call_soon(self._tick)

    def stop(self) -> None:
        self._handle.cancel()


class _Recorded(MemoryStore):
    """A station's store that notes in which pass of the loop its media was reported."""

    def __init__(self, name: str, seen: list[tuple[str, int]], passes: _Passes) -> None:
        super().__init__()
        self._name, self._seen, self._passes = name, seen, passes

    def mark_downloaded(self, playback_id: int) -> bool:
        self._seen.append((self._name, self._passes.count))
        return super().mark_downloaded(playback_id)


def _station(index: int, media: SharedMedia, store: MemoryStore, clock: Clock,
             state: Path) -> Station:
    settings = Settings(server="http://unused", station=str(index), token="t",
                        mqtt_host="127.0.0.1", mqtt_port=1, output=OutputSpec("null"),
                        state_dir=state)
    return Station(settings, store=store, link=MqttLink(settings, boot_id="boot"),
                   cache=SimCache(media), output=TimedOutput(), clock=clock, boot_id="boot")


def _plan(station: int, clip: Clip, playback_id: int) -> bytes:
    now = utcnow()
    item = PlanItem(playback_id=playback_id, bulletin_id=1, duration_ms=clip.duration_ms,
                    scheduled_at=now + timedelta(minutes=10), sha256=clip.sha256,
                    media_path=clip.media_path)
    return encode(Plan(station_id=str(station), revision=1, generated_at=now,
                       horizon_end=now + timedelta(hours=1), items=[item]))


async def wait_until(condition: Callable[[], bool]) -> None:
    while not condition():  # noqa: ASYNC110
        await asyncio.sleep(0.01)


def test_one_download_tells_every_waiting_station_in_one_pass(
        tmp_path: Path, media_server: MediaServer, clips: list[Clip]) -> None:
    clip = clips[0]

    async def scenario() -> None:
        media = _shared_media(tmp_path / "media", media_server)
        async with httpx.AsyncClient() as http:
            clock = Clock(http, interval_s=300)
            seen: list[tuple[str, int]] = []  # (station, pass of the loop) per media report
            passes = _Passes()
            stores = [_Recorded(str(i), seen, passes) for i in range(3)]
            stations = [_station(i, media, stores[i], clock, tmp_path) for i in range(3)]
            try:
                for n, station in enumerate(stations):
                    station.message(Channel.PLAN, _plan(n, clip, 100 + n))
                    station.player._woken = None
                    # the same plan again: asking twice adds no second callback
                    station.message(Channel.PLAN, _plan(n, clip, 100 + n))
                    station.player._woken = None
                assert media.path(clip.sha256) is None
                async with asyncio.timeout(20):
                    await wait_until(lambda: len(seen) >= 3)
                await asyncio.sleep(0.05)  # a second call, if any, would land by now
            finally:
                passes.stop()
                await media.close()
            assert sorted(s for s, _ in seen) == ["0", "1", "2"], seen  # once each
            assert len({p for _, p in seen}) == 1, seen  # all in the same pass
            assert media.downloads == 1
            assert [r for r in media_server.requests if r[0] == clip.media_path] == [
                (clip.media_path, None)]
            path = media.path(clip.sha256)
            assert path is not None and path.read_bytes() == clip.path.read_bytes()
            for n, (station, store) in enumerate(zip(stations, stores, strict=True)):
                assert store.is_downloaded(100 + n)
                assert station.player._woken is not None and station.player._woken.done()

    asyncio.run(scenario())


def test_callbacks_are_called_once_and_only_for_a_whole_file(
        tmp_path: Path, media_server: MediaServer, clips: list[Clip]) -> None:
    async def scenario() -> None:
        media = _shared_media(tmp_path / "media", media_server)
        calls: list[str] = []
        called = asyncio.Event()

        def ready(sha256: str) -> None:
            calls.append(sha256)
            called.set()

        try:
            media.want(clips[1].sha256, clips[1].media_path, ready)
            media.want(clips[1].sha256, clips[1].media_path, ready)
            media.want("f" * 64, "/api/v1/media/missing.opus", ready)  # 404: retried
            await asyncio.wait_for(called.wait(), 20)
            await asyncio.sleep(0.05)
        finally:
            started = datetime.now(UTC)
            await media.close()  # cancels the download still retrying, stops the thread
        assert datetime.now(UTC) - started < timedelta(seconds=5)
        assert media._thread is not None and not media._thread.is_alive()
        await asyncio.sleep(0.05)  # the cancelled download's end reaches the loop: no call
        assert calls == [clips[1].sha256]
        assert media.downloads == 1
        assert media.path("f" * 64) is None

    asyncio.run(scenario())
