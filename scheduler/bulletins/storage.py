"""Where bulletin audio lives on disk: content-addressed, never named by the user."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
DIST_SUFFIX = ".opus"


class MediaStore:
    """The media directory: distribution files, originals, and upload scratch space."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.dist = root / "dist"
        self.originals = root / "originals"
        self.incoming = root / "incoming"

    def ensure(self) -> MediaStore:
        for folder in (self.dist, self.originals, self.incoming):
            folder.mkdir(parents=True, exist_ok=True)
        return self

    def dist_path(self, sha256: str) -> Path:
        if not SHA256_RE.match(sha256):
            raise ValueError("not a sha256")
        return self.dist / f"{sha256}{DIST_SUFFIX}"

    def original_path(self, sha256: str) -> Path:
        if not SHA256_RE.match(sha256):
            raise ValueError("not a sha256")
        return self.originals / sha256


def display_name(raw: str | None) -> str:
    """Reduce a client-supplied file name to something safe to show (never used as a path)."""
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = name.strip(" .")
    return name[:255] or "upload"
