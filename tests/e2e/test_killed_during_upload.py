"""A `wardcast serve` killed with SIGKILL while it processes an upload leaves nothing running
and, once started again, nothing on disk: its ffmpeg dies with it, and the next start removes
the upload's scratch copy (19 MB had stayed for ever, and ffmpeg had run on)."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from pathlib import Path

import httpx
import pytest

from tests.support.procs import wait_for
from tests.support.server import Server

pytestmark = pytest.mark.e2e


def _long_wav(path: Path) -> Path:
    """Ten minutes of a tone at 16 kHz, about 19 MB: seconds of ffmpeg work to catch."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "sine=frequency=440:sample_rate=16000:duration=600", "-ac", "1",
                    str(path)], check=True, timeout=120)
    return path


def _children(pid: int, name: str) -> list[int]:
    """The live processes named `name` whose parent is pid."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        if comm == name and int(fields[1]) == pid and fields[0] not in "ZX":
            found.append(int(entry.name))
    return found


def _gone(pid: int) -> bool:
    """Dead: no such process, or a zombie nobody has reaped yet."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2] in "ZX"


def test_sigkill_during_an_upload_leaves_no_ffmpeg_and_no_scratch_file(tmp_path: Path) -> None:
    audio = _long_wav(tmp_path / "long.wav")
    server = Server(tmp_path / "server").setup(embedded_broker="amqtt").start()
    media = tmp_path / "server" / "data" / "media"
    api = server.api()
    assert server.proc is not None and server.proc.popen is not None
    pid = server.proc.popen.pid

    def send() -> None:
        with audio.open("rb") as handle, pytest.raises(httpx.HTTPError):
            api.post("/bulletins", files={"file": (audio.name, handle)},
                     data={"title": "Bản tin dài", "language": "vi"})  # cut by the kill

    uploading = threading.Thread(target=send, daemon=True)
    uploading.start()
    decoder: list[int] = []
    try:
        wait_for(lambda: bool(decoder.extend(_children(pid, "ffmpeg")) or decoder),
                 timeout=60, what="the upload's ffmpeg")
        # Frozen, it stands for a decode that would last minutes (a 4-hour upload): only
        # the kernel's parent-death signal (SIGKILL) can end it now.
        os.kill(decoder[0], signal.SIGSTOP)
        assert list(media.rglob("*.upload")), "the upload's scratch copy, while it is processed"
        server.kill()
        wait_for(lambda: _gone(decoder[0]), timeout=10,
                 what=f"ffmpeg {decoder[0]} to die with the killed scheduler")
    finally:
        for child in decoder:
            if not _gone(child):
                os.kill(child, signal.SIGKILL)
    uploading.join(timeout=30)

    server.start()
    assert list(media.rglob("*.upload")) == []
    assert list(media.rglob(".upload-*")) == []  # nor ffmpeg's work files
    assert "removed upload scratch" in (server.proc.output() if server.proc else "")
    listed = sorted(p.name for p in (media / "incoming").iterdir())
    assert len(listed) == 2 and listed[1] == f"{listed[0]}.lock", listed  # the new process's
    assert api.get("/bulletins").json()["total"] == 0
    server.stop()
    assert list((media / "incoming").iterdir()) == []  # a clean stop leaves nothing either
