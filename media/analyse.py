"""The analysis pass: decode an upload once, check it decodes cleanly, and measure it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from media.ffmpeg import (
    FFMPEG,
    Deadline,
    decoded_duration_us,
    error_lines,
    input_args,
    run,
)
from media.loudness import Measured, ebur128_filter, parse_ebur128

MONO = "aformat=sample_fmts=flt:channel_layouts=mono"


@dataclass(frozen=True)
class Analysis:
    """One decode of an upload: its errors, its decoded length and its loudness."""

    errors: list[str]
    duration_ms: int | None
    source: Measured | None
    mono: Measured | None


def analyse_argv(source: Path, *, chain: str, limit_s: float,
                 as_is: bool = True) -> list[str]:
    """Return the argv measuring the source through chain with its true peak (and as is)."""
    mono = f"{chain},{ebur128_filter('mono', peak=True)}[mo]"
    graph = (f"[0:a:0]asplit=2[s][m];[s]{ebur128_filter('source', peak=False)}[so];[m]{mono}"
             if as_is else f"[0:a:0]{mono}")
    maps = ["-map", "[so]", "-map", "[mo]"] if as_is else ["-map", "[mo]"]
    # -t bounds the work on a file whose header understates its length.
    return [*FFMPEG, "-loglevel", "level+info", "-t", f"{limit_s:.3f}", *input_args(source),
            "-filter_complex", graph, *maps, "-f", "null", "-progress", "pipe:1", "-"]


def analyse(source: Path, *, chain: str, limit_s: float, deadline: Deadline,
            as_is: bool = True) -> Analysis:
    """Decode the source once and report decode errors, decoded length and loudness.

    as_is=False skips measuring the source unchanged (the limiter passes do not need it).
    """
    argv = analyse_argv(source, chain=chain, limit_s=limit_s, as_is=as_is)
    done = run(argv, deadline=deadline)
    errors = error_lines(done.stderr)
    if done.returncode != 0 and not errors:
        errors = [done.stderr.strip()[-2000:] or f"ffmpeg exited with {done.returncode}"]
    duration_us = decoded_duration_us(done.stdout)
    return Analysis(
        errors=errors,
        duration_ms=round(duration_us / 1000) if duration_us is not None else None,
        source=parse_ebur128(done.stderr, "source"),
        mono=parse_ebur128(done.stderr, "mono"),
    )
