"""process_upload on bad input: the right MediaError, and nothing left in the work directory."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest

import media
from tests.media.conftest import MakeSource, ffmpeg


def assert_rejected(source: Path, work_dir: Path, error: type[media.MediaError],
                    **options: float) -> media.MediaError:
    """Process a source, expect the error, and check the work directory is left empty."""
    with pytest.raises(error) as caught:
        media.process_upload(source, work_dir=work_dir, **options)
    assert list(work_dir.iterdir()) == []
    return caught.value


def half_of(source: Path, dest: Path) -> Path:
    """Write the first half of a file's bytes."""
    data = source.read_bytes()
    dest.write_bytes(data[: len(data) // 2])
    return dest


def test_empty_file(tmp_path: Path, work_dir: Path) -> None:
    empty = tmp_path / "empty.mp3"
    empty.touch()
    assert_rejected(empty, work_dir, media.EmptyFile)


def test_random_bytes_named_mp3(tmp_path: Path, work_dir: Path) -> None:
    noise = tmp_path / "noise.mp3"
    noise.write_bytes(random.Random(7).randbytes(64_000))
    assert_rejected(noise, work_dir, media.NotAudio)


def test_text_file_named_mp3(tmp_path: Path, work_dir: Path) -> None:
    text = tmp_path / "bantin.mp3"
    text.write_text("Thông báo: đây không phải là âm thanh.\n" * 50, encoding="utf-8")
    assert_rejected(text, work_dir, media.NotAudio)


def test_video_without_audio(tmp_path: Path, work_dir: Path) -> None:
    video = tmp_path / "clip.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x64:rate=5", "-t", "1", "-c:v", "ffv1",
           str(video))
    assert_rejected(video, work_dir, media.NotAudio)


def test_truncated_mp3(make_source: MakeSource, tmp_path: Path, work_dir: Path) -> None:
    cut = half_of(make_source("mp3", rate=44100), tmp_path / "cut.mp3")
    assert_rejected(cut, work_dir, media.DamagedAudio)


def test_truncated_m4a(make_source: MakeSource, tmp_path: Path, work_dir: Path) -> None:
    cut = half_of(make_source("m4a", rate=44100), tmp_path / "cut.m4a")
    assert_rejected(cut, work_dir, media.DamagedAudio)


def test_truncated_m4a_with_index_first(
    speech: Path, tmp_path: Path, work_dir: Path
) -> None:
    whole = tmp_path / "faststart.m4a"
    ffmpeg("-i", str(speech), "-movflags", "+faststart", str(whole))
    cut = half_of(whole, tmp_path / "cut.m4a")
    assert_rejected(cut, work_dir, media.DamagedAudio)


def test_wav_header_claims_more_data(speech: Path, tmp_path: Path, work_dir: Path) -> None:
    data = bytearray(speech.read_bytes())
    at = data.index(b"data")
    real = struct.unpack_from("<I", data, at + 4)[0]
    struct.pack_into("<I", data, at + 4, real * 3)
    struct.pack_into("<I", data, 4, len(data) - 8 + real * 2)
    liar = tmp_path / "liar.wav"
    liar.write_bytes(bytes(data))
    assert_rejected(liar, work_dir, media.DamagedAudio)


def test_silent_wav(tmp_path: Path, work_dir: Path) -> None:
    silent = tmp_path / "silent.wav"
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "3", str(silent))
    assert_rejected(silent, work_dir, media.SilentAudio)


def test_wav_without_samples(tmp_path: Path, work_dir: Path) -> None:
    header_only = tmp_path / "header.wav"
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "0", str(header_only))
    assert_rejected(header_only, work_dir, media.EmptyFile)


def test_too_long(speech: Path, work_dir: Path) -> None:
    assert_rejected(speech, work_dir, media.AudioTooLong, max_duration_s=2.0)


def test_timeout_kills_and_cleans_up(speech: Path, work_dir: Path) -> None:
    assert_rejected(speech, work_dir, media.DecodeTimeout, timeout_s=0.001)
