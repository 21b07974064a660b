"""The media cache: resume with Range, sha256 checks and auth (real HTTP server), eviction."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import httpx
import pytest

from agents.fetch import MediaCache, MediaCorrupt, MediaRefused
from tests.agents.conftest import TOKEN, Clip
from tests.agents.mediaserver import MediaServer


async def fetch_once(directory: Path, server: MediaServer, clip: Clip, *, token: str = TOKEN
                     ) -> tuple[Path, MediaCache]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers) as http:
        cache = MediaCache(directory / "media", http=http)
        return await cache.download_once(clip.sha256, clip.media_path), cache


def test_interrupted_download_resumes_with_range(tmp_path: Path, media_server: MediaServer,
                                                 clips: list[Clip]) -> None:
    clip = clips[1]
    media_server.fail_after = 2000
    with pytest.raises(httpx.HTTPError):
        asyncio.run(fetch_once(tmp_path, media_server, clip))
    part = tmp_path / "media" / f"{clip.sha256}.opus.part"
    assert part.stat().st_size == 2000
    assert not (tmp_path / "media" / f"{clip.sha256}.opus").exists()

    path, cache = asyncio.run(fetch_once(tmp_path, media_server, clip))
    assert path.read_bytes() == clip.path.read_bytes()
    assert media_server.requests[-1] == (clip.media_path, "bytes=2000-")
    assert not part.exists()
    assert cache.path(clip.sha256) == path


def test_corrupt_download_is_rejected_and_not_cached(tmp_path: Path, media_server: MediaServer,
                                                     clips: list[Clip]) -> None:
    media_server.corrupt = True
    with pytest.raises(MediaCorrupt):
        asyncio.run(fetch_once(tmp_path, media_server, clips[0]))
    assert list((tmp_path / "media").iterdir()) == []  # neither a part nor a final file


def test_bad_token_is_refused(tmp_path: Path, media_server: MediaServer,
                              clips: list[Clip]) -> None:
    with pytest.raises(MediaRefused):
        asyncio.run(fetch_once(tmp_path, media_server, clips[0], token="wrong"))


def test_fetch_retries_until_the_file_is_whole(tmp_path: Path, media_server: MediaServer,
                                               clips: list[Clip]) -> None:
    clip = clips[0]
    media_server.fail_after = 1000

    async def fetch() -> Path | None:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with httpx.AsyncClient(base_url=media_server.url, headers=headers) as http:
            cache = MediaCache(tmp_path / "media", http=http, backoff_first_s=0.05)
            await cache.fetch(clip.sha256, clip.media_path)
            return cache.path(clip.sha256)

    path = asyncio.run(fetch())
    assert path is not None and path.read_bytes() == clip.path.read_bytes()
    assert [r[1] for r in media_server.requests] == [None, "bytes=1000-"]


def cache_with(tmp_path: Path, sizes: dict[str, int], *, max_bytes: int) -> MediaCache:
    """A cache holding files of the given sizes, used in the order given (first = oldest)."""
    cache = MediaCache(tmp_path / "media", http=httpx.AsyncClient(), max_bytes=max_bytes)
    an_hour_ago = time.time() - 3600
    for n, (name, size) in enumerate(sizes.items()):
        path = cache.directory / f"{name * 64}.opus"
        path.write_bytes(b"x" * size)
        os.utime(path, (an_hour_ago + n, an_hour_ago + n))  # last used in this order
    return cache


def by_use(cache: MediaCache) -> list[str]:
    """Name the cached files, least recently used first."""
    files = sorted(cache.directory.glob("*.opus"), key=lambda p: p.stat().st_mtime_ns)
    return [p.name[0] for p in files]


def cached(cache: MediaCache) -> list[str]:
    return sorted(p.name[0] for p in cache.directory.iterdir())


def test_eviction_drops_least_recently_used_unneeded_files(tmp_path: Path) -> None:
    cache = cache_with(tmp_path, {"a": 400, "b": 400, "c": 400, "d": 400}, max_bytes=1000)
    assert cache.use("a" * 64) is not None  # played just now: the most recently used
    cache.evict(needed={"b" * 64})
    # b is needed, so c (the least recently used of the rest) and d go; a fits
    assert cached(cache) == ["a", "b"]
    assert by_use(cache) == ["b", "a"]
    assert cache.path("c" * 64) is None


def test_eviction_never_removes_what_the_plan_needs(tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    cache = cache_with(tmp_path, {"a": 600, "b": 600, "c": 600}, max_bytes=1000)
    cache.evict(needed={"a" * 64, "b" * 64})
    assert cached(cache) == ["a", "b"]
    assert any(r.levelname == "WARNING" and "cache cap" in r.getMessage()
               for r in caplog.records)  # the plan alone is over the cap


def test_partial_files_go_when_nothing_needs_them(tmp_path: Path) -> None:
    cache = cache_with(tmp_path, {"a": 10}, max_bytes=10_000)
    for name in ("b", "c"):
        (cache.directory / f"{name * 64}.opus.part").write_bytes(b"x" * 5000)
    cache.evict(needed={"b" * 64})
    # the part still needed stays, and so does a whole file under the cap
    assert sorted(p.name for p in cache.directory.iterdir()) == [
        f"{'a' * 64}.opus", f"{'b' * 64}.opus.part"]
    assert cache.path("b" * 64) is None  # a part is never taken for cached media
