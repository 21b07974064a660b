"""Files no bulletin uses any more are removed, on disk and in an S3 bucket (moto's server)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from scheduler.bulletins.s3 import S3Media
from scheduler.bulletins.storage import MediaStore
from tests.support.procs import free_port

BUCKET = "wardcast-media"


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name, value in {"AWS_ACCESS_KEY_ID": "test-key", "AWS_SECRET_ACCESS_KEY": "test-secret",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=url).create_bucket(Bucket=BUCKET)
    yield url
    server.stop()


def _stored(store: MediaStore, content: bytes) -> tuple[str, str]:
    """Put a distribution file and an original in the store as an upload does."""
    sha = hashlib.sha256(content).hexdigest()
    original = hashlib.sha256(content + b"original").hexdigest()
    store.dist_path(sha).write_bytes(content)
    store.original_path(original).write_bytes(content + b"original")
    store.keep(sha256=sha, original_sha256=original)
    return sha, original


def test_discard_on_disk(tmp_path: Path) -> None:
    store = MediaStore(tmp_path).ensure()
    (sha, original), (kept, _) = _stored(store, b"a"), _stored(store, b"b")
    store.discard(sha256=sha, original_sha256=original)
    assert not store.dist_path(sha).exists() and not store.original_path(original).exists()
    assert store.dist_path(kept).exists()


def test_discard_in_the_bucket(tmp_path: Path, endpoint: str) -> None:
    store = MediaStore(tmp_path, remote=S3Media(f"s3://{BUCKET}/media",
                                                endpoint_url=endpoint)).ensure()
    (sha, original), (kept, kept_original) = _stored(store, b"a"), _stored(store, b"b")
    store.discard(sha256=sha, original_sha256=original)
    listing = boto3.client("s3", endpoint_url=endpoint).list_objects_v2(Bucket=BUCKET)
    keys = {item["Key"] for item in listing.get("Contents", [])}
    assert keys == {f"media/dist/{kept}.opus", f"media/originals/{kept_original}"}
