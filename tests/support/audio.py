"""Real test audio: Vietnamese speech from espeak-ng, converted and measured with ffmpeg."""

from __future__ import annotations

import json
import math
import re
import statistics
import subprocess
from array import array
from pathlib import Path

SPEECH_VI = (
    "Thông báo của Ủy ban nhân dân phường. Sáng mai từ bảy giờ, "
    "phường tổ chức tiêm chủng cho trẻ em tại trạm y tế. Đề nghị bà con đưa trẻ đến đúng giờ."
)


def speech_wav(path: Path, *, text: str = SPEECH_VI, voice: str = "vi") -> Path:
    """Synthesise speech to a WAV file."""
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True)
    return path


def convert(source: Path, dest: Path, *, gain_db: float = 0.0, extra: list[str] | None = None
            ) -> Path:
    """Convert with ffmpeg to the format of dest's suffix, changing the level by gain_db."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(source), "-af", f"volume={gain_db}dB",
         *(extra or []), str(dest)],
        check=True,
    )
    return dest


def integrated_loudness(path: Path) -> float:
    """Measure integrated loudness (LUFS) with ffmpeg's EBU R128 loudnorm analysis."""
    out = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostats", "-i", str(path), "-af",
         "loudnorm=print_format=json", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    ).stderr
    found = re.search(r"\{[^{}]*\"input_i\"[^{}]*\}", out, re.S)
    assert found, out
    return float(json.loads(found.group(0))["input_i"])


def wav_duration_ms(path: Path) -> float:
    """Return the exact duration of a WAV file from its sample count."""
    import wave

    with wave.open(str(path)) as wav:
        return wav.getnframes() * 1000.0 / wav.getframerate()


def envelope(pcm: bytes, *, frame: int = 480) -> list[float]:
    """Return the RMS of each frame of s16le samples (10 ms at 48 kHz): what cross-correlation
    compares (the stream's MP3 round trip keeps it, not the samples)."""
    samples = array("h", pcm[: len(pcm) - len(pcm) % 2])
    return [math.sqrt(sum(s * s for s in samples[i:i + frame]) / frame)
            for i in range(0, len(samples) - frame + 1, frame)]


def shifted(output: list[float], source: list[float], lag: int
            ) -> tuple[list[float], list[float]]:
    """Return output and source from where they line up, if output[i + lag] ≈ source[i]."""
    return (output[lag:], source) if lag >= 0 else (output, source[-lag:])


def best_lag(output: list[float], source: list[float], lags: range) -> tuple[int, float]:
    """Return the lag in frames (output[i + lag] ≈ source[i]: the output is late by it, early
    when negative) that correlates best, and its Pearson correlation over the same length of
    output for every lag."""
    n = len(output) - max(lags)
    score, lag = max((statistics.correlation(*(part[:n] for part in shifted(output, source,
                                                                            lag))), lag)
                     for lag in lags)
    return lag, score
