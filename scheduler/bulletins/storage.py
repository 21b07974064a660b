"""Where bulletin audio lives: content-addressed, never named by the user.

On disk by default. With an S3 bucket (docs/scaling.md) the disk is only scratch space: a
processed bulletin's files go to the bucket, and every replica serves them from there.
"""

from __future__ import annotations

import logging
import re
import shutil
import unicodedata
from pathlib import Path

from scheduler.bulletins.s3 import MediaStoreDown, S3Media
from scheduler.bulletins.scratch import Scratch
from scheduler.config import Settings
from scheduler.errors import Unavailable
from wardcast.private import private_dir

log = logging.getLogger(__name__)

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
DIST_SUFFIX = ".opus"
DIST_TYPE = "audio/ogg"


class MediaStoreUnavailable(Unavailable):
    code = "media_unavailable"


class MediaStore:
    """The media directory: distribution files, originals, and upload scratch space."""

    def __init__(self, root: Path, remote: S3Media | None = None) -> None:
        self.root = root
        self.remote = remote
        self.dist = root / "dist"
        self.originals = root / "originals"
        self.scratch = Scratch(root / "incoming")

    @property
    def incoming(self) -> Path:
        """This process's scratch folder: uploads being received and processed, the log's
        XLSX files being written."""
        return self.scratch.folder

    def ensure(self) -> MediaStore:
        """Make the folders, private to this user, and clear what killed processes left."""
        for folder in (self.root, self.dist, self.originals):
            private_dir(folder)
        for stale in self.dist.glob(".upload-*"):  # where earlier versions processed uploads
            shutil.rmtree(stale, ignore_errors=True)
        self.scratch.open()
        return self

    def dist_path(self, sha256: str) -> Path:
        if not SHA256_RE.match(sha256):
            raise ValueError("not a sha256")
        return self.dist / f"{sha256}{DIST_SUFFIX}"

    def original_path(self, sha256: str) -> Path:
        if not SHA256_RE.match(sha256):
            raise ValueError("not a sha256")
        return self.originals / sha256

    def dist_key(self, sha256: str) -> str:
        """The bucket key of a distribution file (remote stores only)."""
        assert self.remote is not None
        return self.remote.key("dist", self.dist_path(sha256).name)

    def keep(self, *, sha256: str, original_sha256: str) -> None:
        """Move a newly processed bulletin's files to the bucket; on disk they stay put."""
        if self.remote is None:
            return
        dist, original = self.dist_path(sha256), self.original_path(original_sha256)
        try:
            self.remote.put(dist, key=self.dist_key(sha256), content_type=DIST_TYPE)
            self.remote.put(original, key=self.remote.key("originals", original.name),
                            content_type="application/octet-stream")
        except MediaStoreDown as exc:
            log.error("%s", exc)
            raise MediaStoreUnavailable("Không lưu được tệp âm thanh vào kho, vui lòng thử lại "
                                        "— the media store is unavailable") from exc
        dist.unlink(missing_ok=True)  # the bucket is the copy every replica reads
        original.unlink(missing_ok=True)

    def discard(self, *, sha256: str | None = None, original_sha256: str | None = None) -> None:
        """Remove files no bulletin uses any more (after the commit that let go of them)."""
        files = [("dist", self.dist_path(sha256)) if sha256 else None,
                 ("originals", self.original_path(original_sha256)) if original_sha256 else None]
        for kind, path in (f for f in files if f is not None):
            path.unlink(missing_ok=True)
            if self.remote is not None:
                try:
                    self.remote.delete(self.remote.key(kind, path.name))
                except MediaStoreDown as exc:  # a left-over file costs space, nothing else
                    log.warning("cannot remove an unused media file: %s", exc)


def open_store(settings: Settings) -> MediaStore:
    """The store the settings ask for: the data dir, or a bucket with the data dir as scratch."""
    remote = None
    if settings.media_url:
        remote = S3Media(settings.media_url, endpoint_url=settings.s3_endpoint_url,
                         region=settings.s3_region)
    return MediaStore(settings.media_dir, remote=remote).ensure()


def hostile_name(raw: str | None) -> str | None:
    """Say what is wrong with a client-supplied file name that is more than a name, or None.

    Browsers and phones send a bare name; a path, a `..`, a control or bidirectional-override
    character, or a name longer than any file system takes, is refused rather than repaired.
    """
    name = raw or ""
    if "/" in name or "\\" in name or name.strip() in (".", ".."):
        return "it is a path, not a file name"
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name):
        return "it contains control or direction-changing characters"
    if len(name.encode()) > 255:
        return "it is longer than 255 bytes"
    return None


def display_name(raw: str | None) -> str:
    """Reduce a client-supplied file name to something safe to show (never used as a path)."""
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = name.strip(" .")
    return name[:255] or "upload"
