"""The simulator's shared media: one download on its own thread, every waiting station
told in one pass of the main loop."""

from __future__ import annotations

import asyncio
import gc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from agents.clock import Clock
from agents.config import Output, Settings
from agents.simulate.backlog import Backlog
from agents.simulate.heap import Heap
from agents.simulate.hub import MqttHub
from agents.simulate.media import SharedMedia
from agents.simulate.station import Shared, SimStation
from agents.simulate.stats import Stats
from tests.agents.conftest import TOKEN, Clip
from tests.agents.mediaserver import MediaServer
from wardcast.protocol import Plan, PlanItem, utcnow


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


def _station(index: int, shared: Shared, state: Path) -> SimStation:
    settings = Settings(server="http://unused", station=str(index), token="t",
                        mqtt_host="127.0.0.1", mqtt_port=1, output=Output("null"),
                        state_dir=state)
    return SimStation(settings=settings, shared=shared, boot_id="boot")


def _plan(station: SimStation, clip: Clip, playback_id: int) -> Plan:
    now = utcnow()
    item = PlanItem(playback_id=playback_id, bulletin_id=1, duration_ms=clip.duration_ms,
                    scheduled_at=now + timedelta(minutes=10), sha256=clip.sha256,
                    media_path=clip.media_path)
    return Plan(station_id=station._settings.station, revision=1, generated_at=now,
                horizon_end=now + timedelta(hours=1), items=[item])


def test_one_download_tells_every_waiting_station_in_one_pass(
        tmp_path: Path, media_server: MediaServer, clips: list[Clip]) -> None:
    clip = clips[0]

    async def scenario() -> None:
        media = _shared_media(tmp_path / "media", media_server)
        async with httpx.AsyncClient() as http:
            shared = Shared(hub=MqttHub(), backlog=Backlog(), media=media,
                            clock=Clock(http, interval_s=300), stats=Stats(), heap=Heap())
            stations = [_station(i, shared, tmp_path) for i in range(3)]
            seen: list[tuple[str, int]] = []  # (station, pass of the loop) per media_ready
            all_seen = asyncio.Event()
            passes = _Passes()
            for station in stations:
                taken = station._media_ready

                def recorded(sha256: str, station: SimStation = station,
                             taken: object = taken) -> None:
                    seen.append((station._settings.station, passes.count))
                    if len(seen) == 3:
                        all_seen.set()
                    assert callable(taken)
                    taken(sha256)

                station._media_ready = recorded  # type: ignore[method-assign]
            try:
                for n, station in enumerate(stations):
                    station._apply_plan(_plan(station, clip, 100 + n))
                    station.player._wake.clear()
                    station._fetch_missing()  # asking twice adds no second callback
                assert media.path(clip.sha256) is None
                await asyncio.wait_for(all_seen.wait(), 20)
                await asyncio.sleep(0.05)  # a second call, if any, would land by now
            finally:
                passes.stop()
                await media.close()
                gc.enable()  # a plan paused this process's collector (heap.py)
            assert sorted(s for s, _ in seen) == ["0", "1", "2"], seen  # once each
            assert len({p for _, p in seen}) == 1, seen  # all in the same pass
            assert media.downloads == 1
            assert [r for r in media_server.requests if r[0] == clip.media_path] == [
                (clip.media_path, None)]
            path = media.path(clip.sha256)
            assert path is not None and path.read_bytes() == clip.path.read_bytes()
            for n, station in enumerate(stations):
                assert station._store.is_downloaded(100 + n)
                assert station.player._wake.is_set()
                assert station._downloads == {}  # no download task of its own

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
