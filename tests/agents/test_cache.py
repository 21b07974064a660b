"""The media cache against a real HTTP server: resume with Range, sha256 checks, auth."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from agents.cache import MediaCache, MediaCorrupt, MediaRefused
from agents.store import Store
from tests.agents.conftest import TOKEN, Clip
from tests.agents.mediaserver import MediaServer


async def fetch_once(directory: Path, server: MediaServer, clip: Clip, *, token: str = TOKEN
                     ) -> tuple[Path, Store]:
    store = Store(directory / "agent.sqlite3")
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
    assert not Store(tmp_path / "agent.sqlite3").has_media(clips[0].sha256)


def test_bad_token_is_refused(tmp_path: Path, media_server: MediaServer,
                              clips: list[Clip]) -> None:
    with pytest.raises(MediaRefused):
        asyncio.run(fetch_once(tmp_path, media_server, clips[0], token="wrong"))


def test_fetch_retries_until_the_file_is_whole(tmp_path: Path, media_server: MediaServer,
                                               clips: list[Clip]) -> None:
    clip = clips[0]
    media_server.fail_after = 1000

    async def fetch() -> Path | None:
        store = Store(tmp_path / "agent.sqlite3")
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with httpx.AsyncClient(base_url=media_server.url, headers=headers) as http:
            cache = MediaCache(tmp_path / "media", store=store, http=http, backoff_first_s=0.05)
            await cache.fetch(clip.sha256, clip.media_path)
            return cache.path(clip.sha256)

    path = asyncio.run(fetch())
    assert path is not None and path.read_bytes() == clip.path.read_bytes()
    assert [r[1] for r in media_server.requests] == [None, "bytes=1000-"]
