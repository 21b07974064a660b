"""Benchmark 4: an hour of speech through the upload path, beside plain ffmpeg commands.

    python -m bench.upload [--minutes 60] [--quick]

The source is Vietnamese speech from espeak-ng, looped with ffmpeg into a stereo 44.1 kHz
128 kbit/s MP3 (as a phone or a studio PC sends it), made once and cached under
test-artifacts/bench/data. Each side runs in its own child process:

- wardcast: media.process_upload, the entry point of POST /api/v1/bulletins (probe, the
  analysis pass, the true-peak limiter passes when speech needs them, loudnorm's linear
  second pass with the Opus encode, and the check of the result);
- baseline: the same normalisation as two plain ffmpeg command lines: a loudnorm analysis
  pass, then loudnorm (linear, with the measured values), a true-peak limiter and the same
  Opus encode.

Peak memory: the largest resident set of the Python process (RUSAGE_SELF), of any one
ffmpeg child (RUSAGE_CHILDREN), and of the whole process tree at once (sampled from /proc
every 20 ms). Targets: time within 1.3x of the baseline, tree peak under 200 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.data import WORK_DIR, print_table

DATA_DIR = WORK_DIR / "data"
TARGET_LUFS, TRUE_PEAK = -16.0, -1.5
MAX_RATIO, MAX_TREE_MB = 1.3, 200.0
SPEECH = (
    "Thông báo của Ủy ban nhân dân phường về công tác phòng chống thiên tai năm nay. "
    "Đề nghị các hộ gia đình kiểm tra nhà cửa, chằng chống mái tôn, chuẩn bị lương thực, "
    "nước uống và thuốc men. Khi có bão, không ra khỏi nhà, không đi qua sông suối. "
    "Sáng mai từ bảy giờ, trạm y tế phường tổ chức tiêm chủng cho trẻ em dưới năm tuổi. "
    "Đề nghị bà con đưa trẻ đến đúng giờ và mang theo sổ tiêm chủng. Xin cảm ơn bà con."
)


@dataclass(frozen=True)
class Figures:
    """What one side measured."""

    side: str
    seconds: float
    self_mb: float
    child_mb: float
    tree_mb: float
    lufs: float
    true_peak: float
    mode: str


def source_file(minutes: float) -> Path:
    """Return a cached MP3 of this many minutes of Vietnamese speech, making it if needed."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    target = DATA_DIR / f"speech-{minutes:g}min.mp3"
    if target.exists():
        return target
    speech = DATA_DIR / "speech.wav"
    if not speech.exists():
        subprocess.run(["espeak-ng", "-v", "vi", "-w", str(speech), SPEECH], check=True)
    partial = target.with_suffix(".part.mp3")
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-stream_loop", "-1",
                    "-i", str(speech), "-t", f"{minutes * 60:.3f}", "-af", "volume=-6dB",
                    "-ac", "2", "-ar", "44100", "-b:a", "128k", str(partial)], check=True)
    partial.rename(target)
    return target


def _peak_mb(usage: resource.struct_rusage) -> float:
    return usage.ru_maxrss / 1024  # kilobytes on Linux


def worker(side: str, source: Path, out_dir: Path) -> dict[str, Any]:
    """Run one side in this process and return its figures (in a child: clean rusage)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    if side == "wardcast":
        from media import process_upload

        done = process_upload(source, work_dir=out_dir, target_lufs=TARGET_LUFS,
                              true_peak_dbtp=TRUE_PEAK, timeout_s=3600)
        lufs, peak, mode = done.loudness_lufs, done.true_peak_dbtp, done.normalization_type
    else:
        (lufs, peak), mode = plain_ffmpeg(source, out_dir / "baseline.opus"), "loudnorm"
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "lufs": lufs, "true_peak": peak, "mode": mode,
            "self_mb": _peak_mb(resource.getrusage(resource.RUSAGE_SELF)),
            "child_mb": _peak_mb(resource.getrusage(resource.RUSAGE_CHILDREN))}


def plain_ffmpeg(source: Path, dest: Path) -> tuple[float, float]:
    """Two-pass loudnorm with a limiter and the Opus encode; return loudnorm's output report."""
    mono = "aformat=sample_fmts=flt:channel_layouts=mono"
    first = _ffmpeg(["-i", str(source), "-af",
                     f"{mono},loudnorm=I={TARGET_LUFS}:TP={TRUE_PEAK}:LRA=20:print_format=json",
                     "-f", "null", "-"])
    m = _loudnorm_report(first)
    ceiling = 10 ** ((TRUE_PEAK - 1.5) / 20)
    second = _ffmpeg([
        "-i", str(source), "-af",
        f"{mono},loudnorm=I={TARGET_LUFS}:TP={TRUE_PEAK}:LRA=20:measured_I={m['input_i']}"
        f":measured_TP={m['input_tp']}:measured_LRA={m['input_lra']}"
        f":measured_thresh={m['input_thresh']}:linear=true:print_format=json,"
        f"alimiter=limit={ceiling:.4f}:level=false,aresample=48000",
        "-ac", "1", "-ar", "48000", "-c:a", "libopus", "-b:a", "32k", "-vbr", "on",
        "-application", "audio", "-f", "ogg", "-y", str(dest)])
    out = _loudnorm_report(second)
    return float(out["output_i"]), float(out["output_tp"])


def _ffmpeg(args: list[str]) -> str:
    done = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-nostats", *args],
                          capture_output=True, text=True, check=True)
    return done.stderr


def _loudnorm_report(stderr: str) -> dict[str, str]:
    found = re.findall(r"\{[^{}]*\"input_i\"[^{}]*\}", stderr, re.S)
    if not found:
        raise RuntimeError(f"no loudnorm report: {stderr[-1000:]}")
    report: dict[str, str] = json.loads(found[-1])
    return report


def tree_rss_kb(root: int) -> int:
    """Return the summed resident set of a process and all its descendants, in kB."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended while we looked
        children.setdefault(int(fields[1]), []).append(int(entry))
        rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE") // 1024
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def measure(side: str, source: Path, out_dir: Path) -> Figures:
    """Run one side in a child process, sampling its tree's memory; return its figures."""
    proc = subprocess.Popen([sys.executable, "-m", "bench.upload", "--worker", side,
                             str(source), str(out_dir)], stdout=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_kb(proc.pid))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = proc.communicate()
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"the {side} worker failed")
    data = json.loads(output.strip().splitlines()[-1])
    return Figures(side, data["seconds"], data["self_mb"], data["child_mb"], peak / 1024,
                   data["lufs"], data["true_peak"], data["mode"])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.upload", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run (30 s)")
    parser.add_argument("--worker", nargs=3, metavar=("SIDE", "SOURCE", "OUT_DIR"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.minutes = 0.5
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        side, source, out_dir = args.worker
        print(json.dumps(worker(side, Path(source), Path(out_dir))))
        return 0
    source = source_file(args.minutes)
    with tempfile.TemporaryDirectory(dir=WORK_DIR, prefix="upload-") as tmp:
        ours = measure("wardcast", source, Path(tmp) / "wardcast")
        base = measure("baseline", source, Path(tmp) / "baseline")
    ratio = ours.seconds / base.seconds
    rows: list[list[object]] = [
        [f.side, f.seconds, f.self_mb, f.child_mb, f.tree_mb, f.lufs, f.true_peak, f.mode]
        for f in (ours, base)]
    rows.append(["ratio wardcast/baseline", f"{ratio:.2f}x", "", "", "", "", "", ""])
    size = source.stat().st_size / 2**20
    print_table(f"Upload processing: {args.minutes:g} min of speech ({source.name}, "
                f"{size:.1f} MiB) - targets: ratio <= {MAX_RATIO}x, tree peak < "
                f"{MAX_TREE_MB:.0f} MB",
                ["side", "seconds", "python MB", "ffmpeg MB", "tree MB", "LUFS", "dBTP", "mode"],
                rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
