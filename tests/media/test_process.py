"""process_upload on good input: each format normalised, measured and named by its sha256."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

import media
from tests.media.conftest import LOUD_DB, QUIET_DB, MakeSource
from tests.support.audio import integrated_loudness

TARGET = -16.0

# (suffix, codec, gain, channels, rate, ffprobe format name)
CASES = [
    ("mp3", "", QUIET_DB, 2, 44100, "mp3"),
    ("mp3", "", LOUD_DB, 1, 16000, "mp3"),
    ("m4a", "", LOUD_DB, 2, 44100, "mov,mp4,m4a,3gp,3g2,mj2"),
    ("m4a", "", QUIET_DB, 1, 16000, "mov,mp4,m4a,3gp,3g2,mj2"),
    ("wav", "", 0.0, 1, 16000, "wav"),
    ("wav", "", QUIET_DB, 2, 44100, "wav"),
    ("ogg", "libopus", QUIET_DB, 2, 48000, "ogg"),
    ("flac", "", LOUD_DB, 1, 16000, "flac"),
    ("flac", "", 0.0, 2, 44100, "flac"),
]


def decoded_ms(path: Path) -> float:
    """Decode with media.decode_command and return the length from the sample count."""
    pcm = subprocess.run(media.decode_command(path), capture_output=True, check=True).stdout
    return len(pcm) / 2 / media.SAMPLE_RATE * 1000


def stream_info(path: Path) -> dict[str, object]:
    """Return ffprobe's format and first stream of a file."""
    out = subprocess.run(["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of",
                          "json", str(path)], capture_output=True, check=True).stdout
    info = json.loads(out)
    return {"format": info["format"]["format_name"], **info["streams"][0]}


@pytest.mark.parametrize(("suffix", "codec", "gain", "channels", "rate", "fmt"), CASES)
def test_upload_is_normalised_to_target(
    make_source: MakeSource, work_dir: Path, suffix: str, codec: str, gain: float,
    channels: int, rate: int, fmt: str,
) -> None:
    source = make_source(suffix, gain_db=gain, channels=channels, rate=rate, codec=codec)

    result = media.process_upload(source, work_dir=work_dir, target_lufs=TARGET)

    assert abs(result.loudness_lufs - TARGET) <= 0.5
    assert abs(integrated_loudness(result.path) - TARGET) <= 0.5  # measured independently
    assert result.true_peak_dbtp <= -1.5
    assert result.normalization_type == "linear"
    assert result.source_format == fmt
    assert abs(result.source_loudness_lufs - integrated_loudness(source)) <= 0.3
    assert abs(result.duration_ms - decoded_ms(result.path)) <= 1
    assert abs(result.duration_ms - result.source_duration_ms) <= 20
    assert list(work_dir.iterdir()) == [result.path]


def test_distribution_file_is_mono_opus_named_by_sha256(
    make_source: MakeSource, work_dir: Path
) -> None:
    result = media.process_upload(make_source("mp3", channels=2, rate=44100), work_dir=work_dir)

    assert result.path == work_dir / f"{result.sha256}.opus"
    assert result.sha256 == media.sha256_file(result.path)
    assert result.size_bytes == result.path.stat().st_size
    info = stream_info(result.path)
    assert (info["format"], info["codec_name"]) == ("ogg", "opus")
    assert (info["channels"], info["sample_rate"]) == (1, "48000")
    # ~32 kbit/s: a few seconds of speech is tens of KiB, not hundreds.
    assert result.size_bytes < result.duration_ms / 1000 * 40_000 / 8


def test_same_upload_gives_same_file(make_source: MakeSource, tmp_path: Path) -> None:
    source = make_source("wav", rate=44100)

    first = media.process_upload(source, work_dir=tmp_path / "a")
    second = media.process_upload(source, work_dir=tmp_path / "b")

    assert first.sha256 == second.sha256


def test_other_targets_are_honoured(make_source: MakeSource, work_dir: Path) -> None:
    result = media.process_upload(make_source("flac"), work_dir=work_dir, target_lufs=-23.0,
                                  true_peak_dbtp=-2.0)

    assert abs(result.loudness_lufs + 23.0) <= 0.5
    assert result.true_peak_dbtp <= -1.5


def test_format_comes_from_bytes_and_odd_names_are_harmless(
    make_source: MakeSource, tmp_path: Path, work_dir: Path
) -> None:
    odd = tmp_path / "-i concat:a|b; $(rm -rf ~) Bản tin sáng.wav"
    odd.write_bytes(make_source("mp3", rate=44100).read_bytes())

    result = media.process_upload(odd, work_dir=work_dir)

    assert result.source_format == "mp3"
    assert abs(result.loudness_lufs - TARGET) <= 0.5
    assert odd.exists()  # the original is the caller's to keep


def test_measure_loudness_reports_exact_duration(speech: Path) -> None:
    from tests.support.audio import wav_duration_ms

    measured = media.measure_loudness(speech)

    assert measured.duration_ms == round(wav_duration_ms(speech))
    assert abs(measured.integrated_lufs - integrated_loudness(speech)) <= 0.1  # 0.1 LU steps
    assert measured.true_peak_dbtp > measured.integrated_lufs
    assert measured.lra >= 0
