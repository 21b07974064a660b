"""Upload errors, each with a stable code and a message in Vietnamese and English."""

from __future__ import annotations


class MediaError(ValueError):
    """An upload that cannot become a distribution file."""

    code = "media_error"
    message_vi = "Không xử lý được tệp âm thanh"
    message_en = "The audio file could not be processed"

    def __init__(self, detail: str = "") -> None:
        # The detail (an ffmpeg message, a measured value) is for logs; users see the messages.
        self.detail = detail
        super().__init__(f"{self.message_vi} — {self.message_en}")


class EmptyFile(MediaError):
    """The upload has no bytes or no samples."""

    code = "empty_file"
    message_vi = "Tệp tải lên trống"
    message_en = "The uploaded file is empty"


class NotAudio(MediaError):
    """The upload is not a supported audio (or audio-bearing) file."""

    code = "not_audio"
    message_vi = "Tệp tải lên không phải là tệp âm thanh"
    message_en = "The uploaded file is not an audio file"


class DamagedAudio(MediaError):
    """The audio is truncated or does not decode cleanly."""

    code = "damaged_audio"
    message_vi = "Tệp âm thanh bị hỏng hoặc bị cắt cụt"
    message_en = "The audio file is damaged or truncated"


class SilentAudio(MediaError):
    """The audio holds only silence (or is too quiet to measure)."""

    code = "silent_audio"
    message_vi = "Tệp âm thanh chỉ có khoảng lặng"
    message_en = "The audio file contains only silence"


class AudioTooLong(MediaError):
    """The audio is longer than the allowed maximum."""

    code = "too_long"
    message_vi = "Tệp âm thanh dài quá thời lượng cho phép"
    message_en = "The audio file is longer than allowed"


class DecodeTimeout(MediaError):
    """Processing the audio took longer than allowed."""

    code = "decode_timeout"
    message_vi = "Xử lý tệp âm thanh quá thời gian cho phép"
    message_en = "Processing the audio file took too long"
