"""Media in an S3-compatible store: moto's real HTTP S3 server on loopback, two replicas.

A bulletin uploaded through replica a lands in the bucket (not on a's disk); replica b, with
its own empty data dir, serves it with Range and ETag, and an agent's cache downloads it.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from agents.fetch import MediaCache
from tests.scheduler.replicas import fresh_postgres
from tests.support.procs import free_port
from tests.support.server import Server, approve
from wardcast.protocol import to_wire

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]

BUCKET = "wardcast-media"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A moto S3 server on loopback with an empty bucket; its endpoint URL."""
    for name, value in {"AWS_ACCESS_KEY_ID": "test-key", "AWS_SECRET_ACCESS_KEY": "test-secret",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)  # the servers inherit these, as boto3 expects
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


def _keys(endpoint: str) -> set[str]:
    listing: dict[str, Any] = boto3.client("s3", endpoint_url=endpoint).list_objects_v2(
        Bucket=BUCKET)
    return {item["Key"] for item in listing.get("Contents", [])}


async def _agent_download(server: Server, token: str, sha256: str, directory: Path,
                          prefix: bytes) -> Path:
    """Resume a download whose first bytes the agent already has, as the agent's cache does."""
    cache_dir = directory / "media"
    cache_dir.mkdir(parents=True)
    (cache_dir / f"{sha256}.opus.part").write_bytes(prefix)
    async with httpx.AsyncClient(base_url=server.base,
                                 headers={"Authorization": f"Bearer {token}"}) as http:
        cache = MediaCache(cache_dir, http=http)
        return await cache.download_once(sha256, f"/api/v1/media/{sha256}")


def test_replicas_share_media_through_the_bucket(tmp_path: Path, s3: str,
                                                 speech_mp3: Path) -> None:
    settings = {"media_url": f"s3://{BUCKET}/city", "s3_endpoint_url": s3,
                "s3_region": "us-east-1"}
    with fresh_postgres() as url:
        a, b = (Server(tmp_path / name).setup(database_url=url, replica_id=name, **settings)
                for name in ("a", "b"))
        a.start()
        b.start()
        try:
            with speech_mp3.open("rb") as handle:
                answer = a.api().post("/bulletins", files={"file": (speech_mp3.name, handle)},
                                      data={"title": "Thông báo", "language": "vi"})
            assert answer.status_code == 201, answer.text
            bulletin = answer.json()
            sha = bulletin["sha256"]
            assert _keys(s3) == {f"city/dist/{sha}.opus", f"city/originals/"
                                 f"{hashlib.sha256(speech_mp3.read_bytes()).hexdigest()}"}
            assert not list((tmp_path / "a" / "data" / "media").rglob("*.opus"))

            # replica b never saw the upload: it streams from the bucket
            api = b.api()
            whole = api.get(f"/bulletins/{bulletin['id']}/audio")
            assert whole.status_code == 200
            assert hashlib.sha256(whole.content).hexdigest() == sha
            assert whole.headers["etag"] == f'"{sha}"'
            assert whole.headers["content-type"] == "audio/ogg"
            size = len(whole.content)

            tail = api.get(f"/bulletins/{bulletin['id']}/audio", headers={"Range": "bytes=100-"})
            assert tail.status_code == 206
            assert tail.headers["content-range"] == f"bytes 100-{size - 1}/{size}"
            assert tail.content == whole.content[100:]
            head = api.get(f"/bulletins/{bulletin['id']}/audio", headers={"Range": "bytes=0-99"})
            assert (head.status_code, head.content) == (206, whole.content[:100])
            past = api.get(f"/bulletins/{bulletin['id']}/audio",
                           headers={"Range": f"bytes={size}-"})
            assert past.status_code == 416
            assert past.headers["content-range"] == f"bytes */{size}"
            stale = api.get(f"/bulletins/{bulletin['id']}/audio",
                            headers={"Range": "bytes=100-", "If-Range": '"not-this-one"'})
            assert (stale.status_code, stale.content) == (200, whole.content)

            # an agent resumes its download from replica b with its station token
            station = api.post("/stations", json={"name": "Trạm S3", "ward": "Phường 1"}).json()
            approve(api, bulletin["id"])  # a station fetches only the media of its own plan
            planned = api.post("/timetables", json={
                "bulletin_id": bulletin["id"], "station_ids": [station["id"]],
                "starts_at": to_wire(datetime.now(UTC) + timedelta(hours=1))})
            assert planned.status_code == 201, planned.text
            got = asyncio.run(_agent_download(b, station["token"], sha, tmp_path / "agent",
                                              whole.content[:1000]))
            assert got.read_bytes() == whole.content
            ranged = httpx.get(f"{b.base}/api/v1/media/{sha}", headers={
                "Authorization": f"Bearer {station['token']}", "Range": "bytes=1000-"})
            assert (ranged.status_code, ranged.content) == (206, whole.content[1000:])
            missing = httpx.get(f"{b.base}/api/v1/media/{'0' * 64}",
                                headers={"Authorization": f"Bearer {station['token']}"})
            assert missing.status_code == 404
        finally:
            a.stop()
            b.stop()
