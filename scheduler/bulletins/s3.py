"""Bulletin media in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, Garage ...).

Objects are named by their sha256 like the files on disk, so uploading the same audio twice
writes the same object and any replica can serve any bulletin. Needs the `s3` extra (boto3).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# boto3 and botocore are imported lazily, in the functions that use them: they are an optional
# extra (wardcast[s3]), needed only where media are kept in S3

log = logging.getLogger(__name__)

CHUNK = 64 * 1024


class MediaMissing(LookupError):
    """The bucket has no such object."""


class MediaStoreDown(ConnectionError):
    """The bucket cannot be reached or refused the request."""


class RangeNotSatisfiable(ValueError):
    """The requested range starts past the end of the object."""

    def __init__(self, size: int) -> None:
        super().__init__(f"range not satisfiable (size {size})")
        self.size = size


@dataclass(frozen=True)
class S3Object:
    """An open object (or a part of one), to be streamed once."""

    body: Any  # botocore's StreamingBody
    length: int
    content_range: str | None  # set when a range was served

    def chunks(self) -> Iterator[bytes]:
        """Yield the body; its connection goes back to the pool even if the client leaves."""
        try:
            yield from self.body.iter_chunks(CHUNK)
        finally:
            self.body.close()


class S3Media:
    """Distribution files and originals under one bucket and prefix."""

    def __init__(self, url: str, *, endpoint_url: str | None = None,
                 region: str | None = None, client: Any = None) -> None:
        parts = urlsplit(url)
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        self._client = client or _client(endpoint_url=endpoint_url, region=region)

    def key(self, kind: str, name: str) -> str:
        return "/".join(p for p in (self.prefix, kind, name) if p)

    def put(self, path: Path, *, key: str, content_type: str) -> None:
        """Upload a file (multipart when large); the same key always holds the same bytes."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client.upload_file(str(path), self.bucket, key,
                                     ExtraArgs={"ContentType": content_type})
        except (BotoCoreError, ClientError) as exc:
            raise MediaStoreDown(f"cannot upload {key}: {exc}") from exc

    def get(self, key: str, *, byte_range: str | None = None) -> S3Object:
        """Open an object, or one `bytes=` range of it, for streaming."""
        from botocore.exceptions import BotoCoreError, ClientError

        args = {"Bucket": self.bucket, "Key": key}
        if byte_range:
            args["Range"] = byte_range
        try:
            answer = self._client.get_object(**args)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound"):
                raise MediaMissing(key) from exc
            if code == "InvalidRange":
                raise RangeNotSatisfiable(self._size(key)) from exc
            raise MediaStoreDown(f"cannot read {key}: {exc}") from exc
        except BotoCoreError as exc:
            raise MediaStoreDown(f"cannot read {key}: {exc}") from exc
        return S3Object(body=answer["Body"], length=int(answer["ContentLength"]),
                        content_range=answer.get("ContentRange"))

    def delete(self, key: str) -> None:
        """Remove an object (no error when it is already gone)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client.delete_object(Bucket=self.bucket, Key=key)
        except (BotoCoreError, ClientError) as exc:
            raise MediaStoreDown(f"cannot delete {key}: {exc}") from exc

    def exists(self, key: str) -> bool:
        try:
            self._size(key)
        except MediaMissing:
            return False
        return True

    def _size(self, key: str) -> int:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return int(self._client.head_object(Bucket=self.bucket, Key=key)["ContentLength"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code", "") in ("NoSuchKey", "404", "NotFound"):
                raise MediaMissing(key) from exc
            raise MediaStoreDown(f"cannot read {key}: {exc}") from exc
        except BotoCoreError as exc:
            raise MediaStoreDown(f"cannot read {key}: {exc}") from exc


def _client(*, endpoint_url: str | None, region: str | None) -> Any:
    try:
        import boto3
        from botocore.config import Config
    except ImportError as exc:  # the extra is optional: say how to get it
        raise RuntimeError("WARDCAST_MEDIA_URL=s3://... needs boto3: "
                           "pip install 'wardcast[s3]'") from exc
    # Path-style addressing works with every S3-compatible server; retries ride out blips.
    config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 5,
                                                              "mode": "standard"},
                    connect_timeout=5, read_timeout=30)
    return boto3.client("s3", endpoint_url=endpoint_url, region_name=region, config=config)
