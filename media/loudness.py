"""EBU R128 loudness: ffmpeg's ebur128 filter measures, its loudnorm filter normalises.

ebur128 (with true peak) measures about four times faster than a loudnorm first pass, which
runs its whole dynamic processing at 192 kHz; loudnorm's second pass is given those values.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from media.errors import DamagedAudio
from media.ffmpeg import FFMPEG, Deadline, decoded_duration_us, error_lines, run

# loudnorm only stays linear when the measured loudness range fits the target range. Speech
# with pauses, or a jingle before the bulletin, often measures above the usual 7-11 LU; the
# range target is only used by dynamic mode, so a wide one keeps the plain gain we want.
LRA_TARGET = 20.0
_VALUE = r"\s+(-?(?:[\d.]+|inf))"


@dataclass(frozen=True)
class Loudness:
    """Integrated loudness, true peak and loudness range of a file, and its decoded length."""

    integrated_lufs: float
    true_peak_dbtp: float
    lra: float
    duration_ms: int


@dataclass(frozen=True)
class Measured:
    """One ebur128 summary: what loudnorm's second pass needs."""

    integrated_lufs: float
    threshold_lufs: float
    lra: float
    true_peak_dbtp: float  # NaN when the filter ran without true-peak measurement


def ebur128_filter(name: str, *, peak: bool) -> str:
    """Return a named ebur128 filter that logs only its summary."""
    return f"ebur128@{name}=framelog=verbose" + (":peak=true" if peak else "")


def parse_ebur128(stderr: str, name: str) -> Measured | None:
    """Return the last summary the named ebur128 filter logged, or None."""
    blocks = re.findall(rf"^\[ebur128@{name} @ [^\]]*\] (?:\[info\] )?Summary:(.*?)(?=^\[|\Z)",
                        stderr, re.S | re.M)
    if not blocks:
        return None
    found = {key: re.search(rf"{key}:{_VALUE}", blocks[-1]) for key in ("I", "Threshold",
                                                                       "LRA", "Peak")}
    value = {key: float(match.group(1)) if match else math.nan for key, match in found.items()}
    return Measured(value["I"], value["Threshold"], value["LRA"], value["Peak"])


def apply_filter(measured: Measured, *, target_lufs: float, true_peak_dbtp: float) -> str:
    """Return the loudnorm second-pass filter that applies the measured values."""
    return (f"loudnorm=I={target_lufs}:TP={true_peak_dbtp}:LRA={LRA_TARGET}"
            f":measured_I={_clamp(measured.integrated_lufs, -99, 0)}"
            f":measured_TP={_clamp(measured.true_peak_dbtp, -99, 99)}"
            f":measured_LRA={_clamp(measured.lra, 0, 99)}"
            f":measured_thresh={_clamp(measured.threshold_lufs, -99, 0)}"
            ":linear=true:print_format=json")


def linear_gain_db(measured: Measured, *, target_lufs: float,
                   true_peak_dbtp: float) -> float | None:
    """Return the gain apply_filter's loudnorm would apply in linear mode, else None.

    This is af_loudnorm.c's own test: measured values that are not its defaults, and a
    true peak and loudness range that fit the targets. Linear mode multiplies every sample
    by that gain, which a volume filter does without loudnorm's 192 kHz round trip.
    """
    i = _clamp(measured.integrated_lufs, -99, 0)
    tp = _clamp(measured.true_peak_dbtp, -99, 99)
    lra = _clamp(measured.lra, 0, 99)
    thresh = _clamp(measured.threshold_lufs, -99, 0)
    if tp == 99 or thresh == -70 or lra == 0 or i == 0:
        return None
    offset = target_lufs - i
    return offset if tp + offset <= true_peak_dbtp and lra <= LRA_TARGET else None


def _clamp(value: float, low: float, high: float) -> float:
    """Clamp a measured value into the range loudnorm accepts."""
    return low if math.isnan(value) else min(max(value, low), high)


def measure_loudness(path: Path, *, timeout_s: float = 600.0) -> Loudness:
    """Measure a file's loudness and its exact decoded duration in one decode."""
    argv = [*FFMPEG, "-loglevel", "level+info", "-i", f"file:{path}", "-map", "0:a:0",
            "-af", ebur128_filter("file", peak=True), "-f", "null", "-progress", "pipe:1", "-"]
    done = run(argv, deadline=Deadline(timeout_s))
    measured = parse_ebur128(done.stderr, "file")
    duration_us = decoded_duration_us(done.stdout)
    errors = error_lines(done.stderr)
    if done.returncode != 0 or measured is None or duration_us is None or errors:
        raise DamagedAudio("\n".join(errors) or done.stderr[-2000:])
    return Loudness(measured.integrated_lufs, measured.true_peak_dbtp, measured.lra,
                    round(duration_us / 1000))
