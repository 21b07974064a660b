"""The upload errors: codes, bilingual messages, and their place under ValueError."""

from __future__ import annotations

import pytest

import media

EXPECTED = [
    (media.EmptyFile, "empty_file", "Tệp tải lên trống"),
    (media.NotAudio, "not_audio", "Tệp tải lên không phải là tệp âm thanh"),
    (media.DamagedAudio, "damaged_audio", "Tệp âm thanh bị hỏng hoặc bị cắt cụt"),
    (media.SilentAudio, "silent_audio", "Tệp âm thanh chỉ có khoảng lặng"),
    (media.AudioTooLong, "too_long", "Tệp âm thanh dài quá thời lượng cho phép"),
    (media.DecodeTimeout, "decode_timeout", "Xử lý tệp âm thanh quá thời gian cho phép"),
]


@pytest.mark.parametrize(("cls", "code", "message_vi"), EXPECTED)
def test_error_carries_code_and_both_messages(
    cls: type[media.MediaError], code: str, message_vi: str
) -> None:
    exc = cls("ffmpeg said something")
    assert isinstance(exc, media.MediaError)
    assert isinstance(exc, ValueError)
    assert exc.code == code
    assert exc.message_vi == message_vi
    assert exc.message_en
    assert str(exc) == f"{message_vi} — {exc.message_en}"
    assert exc.detail == "ffmpeg said something"


def test_codes_are_unique() -> None:
    assert len({cls.code for cls, _, _ in EXPECTED}) == len(EXPECTED)
