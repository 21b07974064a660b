"""Audio for wardcast: validate uploads by decoding, normalise loudness, encode, checksum."""

from media.checksum import sha256_file
from media.decode import SAMPLE_RATE, decode_command
from media.errors import (
    AudioTooLong,
    DamagedAudio,
    DecodeTimeout,
    EmptyFile,
    MediaError,
    NotAudio,
    SilentAudio,
)
from media.loudness import Loudness, measure_loudness
from media.process import ProcessedAudio, process_upload

__all__ = [
    "SAMPLE_RATE",
    "AudioTooLong",
    "DamagedAudio",
    "DecodeTimeout",
    "EmptyFile",
    "Loudness",
    "MediaError",
    "NotAudio",
    "ProcessedAudio",
    "SilentAudio",
    "decode_command",
    "measure_loudness",
    "process_upload",
    "sha256_file",
]
