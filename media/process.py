"""From an upload to its distribution file: validate, normalise, encode, name by sha256."""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from media.analyse import MONO, Analysis, analyse
from media.checksum import sha256_file
from media.decode import SAMPLE_RATE
from media.encode import encode
from media.errors import AudioTooLong, DamagedAudio, EmptyFile, SilentAudio
from media.ffmpeg import Deadline
from media.loudness import Measured, apply_filter, linear_gain_db, measure_loudness
from media.probe import Probe, probe

SILENCE_LUFS = -60.0
# Opus at 32 kbit/s overshoots peaks by up to ~1.4 dB over an hour of speech, so the encoder
# is fed audio that peaks this far under the true-peak ceiling.
CODEC_HEADROOM_DB = 1.5
# Speech peaks sit 15-20 dB above its loudness, more than the 14.5 dB between -16 LUFS and
# -1.5 dBTP, so loudnorm would drop to dynamic mode and miss the target by ~0.7 LU on short
# files. We then apply the gain ourselves and limit the true peaks (at 192 kHz, a margin
# under the ceiling) first, raising the gain until the limited audio is within the margin
# of the target; loudnorm's second pass is then a small linear correction.
LIMITER_MARGIN_DB = 0.5
PEAK_RATE = 192_000
LIMIT_PASSES = 4


@dataclass(frozen=True)
class ProcessedAudio:
    """A distribution file and what was measured on the way."""

    sha256: str
    path: Path
    size_bytes: int
    duration_ms: int
    loudness_lufs: float
    true_peak_dbtp: float
    source_loudness_lufs: float
    source_duration_ms: int
    source_format: str
    normalization_type: str
    peak_limited: bool = False


@dataclass(frozen=True)
class _Targets:
    """The loudness targets and limits of one job."""

    lufs: float
    true_peak: float
    max_duration_s: float

    @property
    def encoder_peak(self) -> float:
        """Return the true-peak ceiling for the audio fed to the encoder."""
        return self.true_peak - CODEC_HEADROOM_DB


def process_upload(source: Path, *, work_dir: Path, target_lufs: float = -16.0,
                   true_peak_dbtp: float = -1.5, timeout_s: float = 600.0,
                   max_duration_s: float = 4 * 3600,
                   scratch_dir: Path | None = None) -> ProcessedAudio:
    """Validate, normalise and encode an upload into ``work_dir/<sha256>.opus``.

    Temporary files go to scratch_dir (default: work_dir), on work_dir's file system.
    """
    deadline = Deadline(timeout_s)
    if source.stat().st_size == 0:
        raise EmptyFile("0 bytes")
    work_dir.mkdir(parents=True, exist_ok=True)
    targets = _Targets(target_lufs, true_peak_dbtp, max_duration_s)
    # Everything temporary lives in one private directory that is removed however we leave.
    with tempfile.TemporaryDirectory(dir=scratch_dir or work_dir, prefix=".upload-") as tmp:
        # A neutral name: ffmpeg must recognise the format from the bytes, not the suffix.
        staged = Path(tmp) / "input"
        staged.symlink_to(source.resolve())
        return _process(staged, Path(tmp), work_dir=work_dir, targets=targets,
                        deadline=deadline)


def _process(staged: Path, tmp: Path, *, work_dir: Path, targets: _Targets,
             deadline: Deadline) -> ProcessedAudio:
    """Run the passes on a staged source and move the result into work_dir."""
    info = probe(staged, deadline=deadline)
    if (info.declared_duration_s or 0) > targets.max_duration_s:
        raise AudioTooLong(f"declared {info.declared_duration_s:.0f} s")
    first = _measure(staged, chain=MONO, targets=targets, deadline=deadline)
    stats, duration_ms = _validate(first, info, targets)
    source_lufs = (first.source or stats).integrated_lufs
    chain, stats = _fit_peaks(staged, stats, targets=targets, deadline=deadline)
    encoded = tmp / "out.opus"
    second, linear = _second_pass(stats, targets)
    normalization = encode(staged, encoded, audio_filter=f"{chain},{second}",
                           limit_s=targets.max_duration_s + 1, deadline=deadline,
                           normalization=linear)
    out = measure_loudness(encoded, timeout_s=deadline.remaining())
    sha256 = sha256_file(encoded)
    final = work_dir / f"{sha256}.opus"
    size = encoded.stat().st_size
    os.replace(encoded, final)
    return ProcessedAudio(
        sha256=sha256, path=final, size_bytes=size, duration_ms=out.duration_ms,
        loudness_lufs=out.integrated_lufs, true_peak_dbtp=out.true_peak_dbtp,
        source_loudness_lufs=source_lufs,
        source_duration_ms=duration_ms, source_format=info.format_name,
        normalization_type=normalization, peak_limited=chain != MONO,
    )


def _measure(staged: Path, *, chain: str, targets: _Targets, deadline: Deadline,
             as_is: bool = True) -> Analysis:
    """Run one analysis pass with the job's targets."""
    return analyse(staged, chain=chain, limit_s=targets.max_duration_s + 1, deadline=deadline,
                   as_is=as_is)


def _second_pass(stats: Measured, targets: _Targets) -> tuple[str, str | None]:
    """Return the second-pass filter, and "linear" when it is a plain gain.

    Where loudnorm would stay linear its gain is applied with volume: the same samples at
    a fraction of the cost (an hour of speech spent a third of its time there).
    """
    gain = linear_gain_db(stats, target_lufs=targets.lufs, true_peak_dbtp=targets.encoder_peak)
    if gain is not None:
        return f"volume={gain:.6f}dB", "linear"
    return apply_filter(stats, target_lufs=targets.lufs,
                        true_peak_dbtp=targets.encoder_peak), None


def _checked_stats(analysis: Analysis) -> Measured:
    """Return an analysis's mono measurement, or raise DamagedAudio if the decode failed."""
    if analysis.errors or analysis.mono is None:
        raise DamagedAudio("\n".join(analysis.errors) or "no loudness report")
    return analysis.mono


def _validate(analysis: Analysis, info: Probe, targets: _Targets) -> tuple[Measured, int]:
    """Raise the MediaError that a first pass shows; return its report and decoded length."""
    stats = _checked_stats(analysis)
    decoded_ms = analysis.duration_ms or 0
    declared_ms = (info.declared_duration_s or 0.0) * 1000
    if decoded_ms == 0:
        raise DamagedAudio("no samples decoded") if declared_ms > 0 else EmptyFile("no samples")
    if decoded_ms > targets.max_duration_s * 1000:
        raise AudioTooLong(f"decoded {decoded_ms} ms")
    # A header that promises more than the data holds: a cut upload or a lying WAV header.
    if declared_ms - decoded_ms > max(0.02 * declared_ms, 500):
        raise DamagedAudio(f"decoded {decoded_ms} ms of a declared {declared_ms:.0f} ms")
    if not math.isfinite(stats.integrated_lufs) or stats.integrated_lufs < SILENCE_LUFS:
        raise SilentAudio(f"integrated loudness {stats.integrated_lufs} LUFS")
    return stats, decoded_ms


def _fit_peaks(staged: Path, stats: Measured, *, targets: _Targets,
               deadline: Deadline) -> tuple[str, Measured]:
    """Return the pre-loudnorm chain that lets its second pass stay linear, and its report."""
    chain, gain, slope = MONO, 0.0, 1.0
    for _ in range(LIMIT_PASSES):
        missing = targets.lufs - stats.integrated_lufs
        if stats.true_peak_dbtp + missing <= targets.encoder_peak:
            break
        # The harder we limit, the less loudness each dB of gain buys: step by the slope
        # measured so far (a secant step), so a few passes reach the margin.
        step = missing / slope
        chain = _limited_chain(gain + step, targets)
        limited = _checked_stats(_measure(staged, chain=chain, targets=targets,
                                          deadline=deadline, as_is=False))
        slope = min(max((limited.integrated_lufs - stats.integrated_lufs) / step, 0.2), 1.0)
        gain, stats = gain + step, limited
    return chain, stats


def _limited_chain(gain_db: float, targets: _Targets) -> str:
    """Return the chain that downmixes, applies the gain and limits true peaks under TP."""
    ceiling = max(10 ** ((targets.encoder_peak - LIMITER_MARGIN_DB) / 20), 0.0625)
    return (f"{MONO},aresample={PEAK_RATE},volume={gain_db:.2f}dB,"
            f"alimiter=limit={ceiling:.4f}:level=false:latency=true,aresample={SAMPLE_RATE}")
