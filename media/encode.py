"""Encode the distribution file: loudness-normalised mono Ogg Opus.

Opus at 32 kbit/s VBR, mono, 48 kHz is about 240 KiB a minute: a ten-minute bulletin crosses
a weak 3G link in well under a minute, where MP3 at 64 kbit/s would take twice as long for
worse speech. ``-application audio`` rather than ``voip``: bulletins carry jingles and music
too, and voip mode's speech emphasis and high-pass would shift the loudness we just set.
Ogg Opus records its pre-skip and end trim, so ffmpeg decodes exactly the samples we encoded
and the measured duration is exact. ``+bitexact`` fixes the Ogg serial number and drops the
encoder version tag, so the same upload always gives the same bytes and the same sha256.
"""

from __future__ import annotations

from pathlib import Path

from media.decode import SAMPLE_RATE
from media.errors import DamagedAudio
from media.ffmpeg import FFMPEG, Deadline, error_lines, input_args, last_json_object, run

BITRATE = "32k"


def encode_argv(source: Path, dest: Path, *, audio_filter: str, limit_s: float) -> list[str]:
    """Return the argv that filters the source's first audio stream into an Opus file."""
    return [*FFMPEG, "-loglevel", "level+info", "-t", f"{limit_s:.3f}", *input_args(source),
            "-map", "0:a:0", "-af", f"{audio_filter},aresample={SAMPLE_RATE}",
            "-ac", "1", "-ar", str(SAMPLE_RATE), "-c:a", "libopus", "-b:a", BITRATE,
            "-vbr", "on", "-application", "audio", "-map_metadata", "-1",
            "-fflags", "+bitexact", "-flags:a", "+bitexact", "-f", "ogg", f"file:{dest}"]


def encode(source: Path, dest: Path, *, audio_filter: str, limit_s: float,
           deadline: Deadline, normalization: str | None = None) -> str:
    """Encode and return the normalization_type; raise DamagedAudio if ffmpeg fails.

    Without a known normalization the filter must contain loudnorm, whose report says it.
    """
    argv = encode_argv(source, dest, audio_filter=audio_filter, limit_s=limit_s)
    done = run(argv, deadline=deadline)
    report = (None if normalization is not None
              else last_json_object(done.stderr, "normalization_type"))
    errors = error_lines(done.stderr)
    found = str(report["normalization_type"]) if report is not None else normalization
    if done.returncode != 0 or errors or found is None:
        raise DamagedAudio("\n".join(errors) or done.stderr[-2000:])
    return found
