"""The media cache: resume with Range, sha256 checks and auth (real HTTP server), eviction."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from agents.fetch import MediaCache, MediaCorrupt, MediaRefused
from agents.store import SqliteStore
from tests.agents.conftest import TOKEN, Clip
from tests.agents.mediaserver import MediaServer


async def fetch_once(directory: Path, server: MediaServer, clip: Clip, *, token: str = TOKEN
                     ) -> tuple[Path, SqliteStore]:
    store = SqliteStore(directory / "agent.sqlite3")
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers) as http:
        cache = MediaCache(directory / "media", store=store, http=http)
        return await cache.download_once(clip.sha256, clip.media_path), store


def test_interrupted_download_resumes_with_range(tmp_path: Path, media_server: MediaServer,
                                                 clips: list[Clip]) -> None:
    clip = clips[1]
    media_server.fail_after = 2000
    with pytest.raises(httpx.HTTPError):
        asyncio.run(fetch_once(tmp_path, media_server, clip))
    part = tmp_path / "media" / f"{clip.sha256}.opus.part"
    assert part.stat().st_size == 2000
    assert not (tmp_path / "media" / f"{clip.sha256}.opus").exists()

    path, store = asyncio.run(fetch_once(tmp_path, media_server, clip))
    assert path.read_bytes() == clip.path.read_bytes()
    assert media_server.requests[-1] == (clip.media_path, "bytes=2000-")
    assert not part.exists()
    assert store.has_media(clip.sha256)


def test_corrupt_download_is_rejected_and_not_cached(tmp_path: Path, media_server: MediaServer,
                                                     clips: list[Clip]) -> None:
    media_server.corrupt = True
    with pytest.raises(MediaCorrupt):
        asyncio.run(fetch_once(tmp_path, media_server, clips[0]))
    assert list((tmp_path / "media").iterdir()) == []  # neither a part nor a final file
    assert not SqliteStore(tmp_path / "agent.sqlite3").has_media(clips[0].sha256)


def test_bad_token_is_refused(tmp_path: Path, media_server: MediaServer,
                              clips: list[Clip]) -> None:
    with pytest.raises(MediaRefused):
        asyncio.run(fetch_once(tmp_path, media_server, clips[0], token="wrong"))


def test_fetch_retries_until_the_file_is_whole(tmp_path: Path, media_server: MediaServer,
                                               clips: list[Clip]) -> None:
    clip = clips[0]
    media_server.fail_after = 1000

    async def fetch() -> Path | None:
        store = SqliteStore(tmp_path / "agent.sqlite3")
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with httpx.AsyncClient(base_url=media_server.url, headers=headers) as http:
            cache = MediaCache(tmp_path / "media", store=store, http=http, backoff_first_s=0.05)
            await cache.fetch(clip.sha256, clip.media_path)
            return cache.path(clip.sha256)

    path = asyncio.run(fetch())
    assert path is not None and path.read_bytes() == clip.path.read_bytes()
    assert [r[1] for r in media_server.requests] == [None, "bytes=1000-"]


def cache_with(tmp_path: Path, sizes: dict[str, int], *, max_bytes: int
               ) -> tuple[MediaCache, SqliteStore]:
    """A cache holding files of the given sizes, used in the order given (first = oldest)."""
    store = SqliteStore(tmp_path / "agent.sqlite3")
    cache = MediaCache(tmp_path / "media", store=store, http=httpx.AsyncClient(),
                       max_bytes=max_bytes)
    for name, size in sizes.items():
        (cache.directory / f"{name * 64}.opus").write_bytes(b"x" * size)
        store.add_media(name * 64, size)
        time.sleep(0.002)  # distinct used_at stamps (millisecond precision)
    return cache, store


def cached(cache: MediaCache) -> list[str]:
    return sorted(p.name[0] for p in cache.directory.iterdir())


def test_eviction_drops_least_recently_used_unneeded_files(tmp_path: Path) -> None:
    cache, store = cache_with(tmp_path, {"a": 400, "b": 400, "c": 400, "d": 400},
                              max_bytes=1000)
    assert cache.use("a" * 64) is not None  # played just now: the most recently used
    cache.evict(needed={"b" * 64})
    # b is needed, so c (the least recently used of the rest) and d go; a fits
    assert cached(cache) == ["a", "b"]
    assert [sha[0] for sha, _ in store.media_by_use()] == ["b", "a"]
    assert cache.path("c" * 64) is None


def test_eviction_never_removes_what_the_plan_needs(tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    cache, store = cache_with(tmp_path, {"a": 600, "b": 600, "c": 600}, max_bytes=1000)
    cache.evict(needed={"a" * 64, "b" * 64})
    assert cached(cache) == ["a", "b"]
    assert any(r.levelname == "WARNING" and "cache cap" in r.getMessage()
               for r in caplog.records)  # the plan alone is over the cap


def test_partial_and_unindexed_files_go_when_nothing_needs_them(tmp_path: Path) -> None:
    cache, store = cache_with(tmp_path, {"a": 10}, max_bytes=10_000)
    for name in ("b", "c"):
        (cache.directory / f"{name * 64}.opus.part").write_bytes(b"x" * 5000)
    (cache.directory / f"{'d' * 64}.opus").write_bytes(b"x")  # renamed, never indexed
    (cache.directory / f"{'a' * 64}.opus").unlink()  # indexed, gone
    cache.evict(needed={"b" * 64})
    assert [p.name[0] for p in cache.directory.iterdir()] == ["b"]  # the part still needed
    assert store.media_by_use() == []
