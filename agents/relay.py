"""Relays: a live stream played for exactly its span, filled where the stream fails.

ffmpeg reads the stream (http or https only) and decodes it as it does a file. The connection
opens ``RELAY_PREROLL_S`` before the slot, so the stream is on air at the slot, not when the
network answers; what arrives meanwhile is the jitter buffer (the relay lags the source by
about that, on purpose). From the slot each 20 ms chunk is written on the monotonic clock,
from the stream when it has audio in time, else from the fill: the filler bulletin (from its
start at each loss, once through) or silence. The sink gets exactly the span's samples; a late
start ends on time. A stream without audio for ``STALL_S``, or whose ffmpeg ended, is lost:
the agent connects again after 0.5, 1, 2, 4, 4 … s (not ffmpeg's ``-reconnect``: it would
hide an outage in a stall, without the filler) and goes back to the stream once audio comes.
How it ended, and what each event means: docs/protocol.md, "Relay items". Credentials in the
URL go to ffmpeg as a header, never into a log line, an event or ffmpeg's own messages.

A live session's item (``login: "station"``) is heard with the station's own login (its id
and token, as a header like the URL's credentials) and with the least buffering ffmpeg
allows: it is someone speaking now, and every probed kilobyte is latency.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import takewhile
from pathlib import Path
from urllib.parse import unquote, urlsplit

from agents.config import CHANNELS, SAMPLE_BYTES, Backend, Settings, Sink
from agents.fetch import Media, seconds_until, sleep_until
from agents.output import (
    CHUNK_BYTES,
    PROGRESS_SAMPLES,
    AudioOutput,
    BufferedDecoder,
    Playback,
    PlaybackError,
    Progress,
    playback_name,
    scale,
)
from media.decode import SAMPLE_RATE, decode_command
from wardcast.protocol import EventType, PlanItem, RelaySource, utcnow

log = logging.getLogger(__name__)

RELAY_PREROLL_S = 5.0  # the stream opens this long before the slot: its jitter buffer
BACKOFF_S = (0.5, 1.0, 2.0, 4.0)  # between attempts to connect; the last repeats
STALL_S = 2.0  # a live stream with no audio this long is lost
# a connection without audio this long after it opened (at the pre-roll, for the first) is
# given up; a silent socket ends sooner, by ffmpeg's -rw_timeout
CONNECT_S = 10.0
RW_TIMEOUT_US = 2_000_000  # ffmpeg ends a read that waits longer (a silent socket)
GRACE_S = 0.1  # how late a chunk of the stream may be before the fill takes its place
PROTOCOLS = "http,https,tcp,tls,crypto"
# how much of a stream ffmpeg reads before it decodes: enough for a radio's MP3 or AAC; a
# live session's Ogg/Opus needs only its header pages, so it starts at the first audio page
PROBE = ("-probesize", "32768", "-analyzeduration", "500000")
LIVE_PROBE = ("-probesize", "4096", "-analyzeduration", "0", "-fflags", "nobuffer")
# A live session's audio read ahead beyond this (jitter that came in a burst after a gap the
# fill covered) is dropped, oldest first: the speaker is heard at most this late + the path.
LIVE_BACKLOG_CHUNKS = 25  # 0.5 s
# a relay starting later than this after its slot (the agent came up late, the item before
# ran over) is cut short to end on time; one starting within it plays its whole span
LATE_S = timedelta(milliseconds=100)


def lead_s(item: PlanItem, settings: Settings) -> float:
    """Return how long before its slot an item is prepared: a relay's stream, from a server
    across the network, needs longer to answer than a cached file's decoder."""
    return max(settings.preroll_s, RELAY_PREROLL_S) if item.relay else settings.preroll_s


def due_items(pending: list[PlanItem], settings: Settings) -> list[PlanItem]:
    """Return the pending items (earliest first) to prepare by now: those up to the first
    that is not due yet, so that a relay's longer lead never puts it before an earlier item."""
    return list(takewhile(
        lambda item: seconds_until(item.scheduled_at) <= lead_s(item, settings), pending))


def playable(cache: Media, item: PlanItem) -> bool:
    """Tell whether an item can play now: a bulletin once cached, a relay at any time."""
    media = item.wanted_media
    return item.relay is not None or (media is not None and cache.path(media[0]) is not None)


def media_for(cache: Media, item: PlanItem) -> Path | None:
    """Return the cached file to play item from (a relay: its filler's), marked as used."""
    media = item.wanted_media
    return None if media is None else cache.use(media[0])


Login = tuple[str, str]  # (user, password) for HTTP basic auth


class RelayingOutput(AudioOutput):
    """The agent's Output: relays besides bulletins and tones.

    station_login: the station's id and token, for the items that ask for it (live)."""

    def __init__(self, backend: Backend, *, volume: float = 100.0,
                 station_login: Login | None = None) -> None:
        super().__init__(backend, volume=volume)
        self._station_login = station_login

    def item(self, item: PlanItem, path: Path | None) -> Playback:
        """Return a playback of a plan item: its stream for a relay (path: the filler)."""
        if item.relay is None:
            return super().item(item, path)
        return RelayPlayback(item.relay, span_ms=item.duration_ms, backend=self._backend,
                             name=playback_name(item.playback_id), volume=self._level,
                             filler=path, station_login=self._station_login)


def stream_command(url: str, *, login: Login | None = None, live: bool = False,
                   sample_rate: int = SAMPLE_RATE) -> list[str]:
    """Return the ffmpeg argv that decodes a stream to s16le PCM, credentials as a header:
    login's if given, else the URL's. live: probe as little as possible (see LIVE_PROBE)."""
    # not in the URL: ffmpeg says its URL in its errors (the argv is still readable by the
    # PC's other users: docs/security.md)
    parts = urlsplit(url)
    if login is None and parts.username is not None:
        login = unquote(parts.username), unquote(parts.password or "")
    headers = []
    if login is not None:
        token = base64.b64encode(f"{login[0]}:{login[1]}".encode()).decode()
        headers = ["-headers", f"Authorization: Basic {token}\r\n"]
    return ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-v", "error",
            "-protocol_whitelist", PROTOCOLS, "-rw_timeout", str(RW_TIMEOUT_US),
            *(LIVE_PROBE if live else PROBE), *headers, "-i", without_login(url),
            "-map", "0:a:0", "-f", "s16le", "-acodec", "pcm_s16le",
            "-ac", str(CHANNELS), "-ar", str(sample_rate), "-"]


def without_login(url: str) -> str:
    """Return the URL without its credentials."""
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def public_url(url: str) -> str:
    """Return the URL without what may be secret: credentials and query."""
    parts = urlsplit(without_login(url))
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def redact(text: str, url: str, *secrets: str) -> str:
    """Say text (from ffmpeg) without the URL's credentials or query, nor these secrets."""
    parts = urlsplit(url)
    text = text.replace(url, public_url(url)).replace(without_login(url), public_url(url))
    for secret in (*secrets, parts.password, parts.username, parts.query):
        if secret and len(secret) > 2:
            text = text.replace(secret, "***")
    return text


@dataclass
class Account:
    """What filled a relay's span, for its final report."""

    fill_samples: dict[str, int] = field(default_factory=lambda: {"filler": 0, "silence": 0})
    error: str | None = None  # why the stream was last lost (or could not connect)
    lost_at_ms: int = 0  # where in the span it was last lost
    losses: int = 0
    began_ms: int | None = None  # where in the span its audio first came

    def filled(self) -> str:
        filler, silence = (self.fill_samples[k] / SAMPLE_RATE for k in ("filler", "silence"))
        return f"filled {filler + silence:.1f} s ({filler:.1f} s filler, {silence:.1f} s silence)"

    def ending(self, *, relayed: int, live: bool) -> tuple[EventType, str | None]:
        """Judge the relay at its span's end: finished, interrupted or failed (each reason a
        machine code, a colon, then words, as the ledger reads them)."""
        if relayed == 0:
            return EventType.FAILED, f"stream_unavailable: {self.error}; {self.filled()}"
        if not live:
            return EventType.INTERRUPTED, (f"stream_lost: at {self.lost_at_ms / 1000:.1f} s, "
                                           f"{self.error}; {self.filled()}")
        if sum(self.fill_samples.values()) == 0:
            return EventType.FINISHED, None
        gaps = [f"on air from {self.began_ms / 1000:.1f} s"] if self.began_ms else []
        gaps += [f"lost {self.losses} time(s)"] if self.losses else []
        said = ", ".join(gaps) or "late audio"  # only chunks that came late: jitter
        return EventType.FINISHED, f"stream_gaps: {said}; {self.filled()}"


class Stream:
    """The relayed stream: one connection at a time, connected again with backoff."""

    def __init__(self, url: str, *, login: Login | None = None, live: bool = False) -> None:
        self._url = url
        self._command = stream_command(url, login=login, live=live)
        self._keep = LIVE_BACKLOG_CHUNKS if live else None  # chunks read ahead, at most
        self._secrets = (login[1],) if login else ()  # the password (a station's token)
        self._decoder: BufferedDecoder | None = None
        self._retry_at = 0.0
        self._attempts = 0
        self.live = False  # its audio is on air
        self.last_audio = 0.0  # monotonic time of the last chunk taken

    async def connect(self) -> None:
        """Open a connection now (the pre-roll), unless one is open."""
        if self._decoder is None:
            self._decoder = BufferedDecoder(self._command)
            await self._decoder.start()

    async def take(self, until: float, account: Account, position_ms: int) -> bytes | None:
        """Return the stream's next chunk if it comes by until, None otherwise; lose the
        connection when it ended or stalled, and open the next when its time has come."""
        if self._decoder is None:
            if time.monotonic() < self._retry_at:
                return None
            await self.connect()
        decoder = self._decoder
        assert decoder is not None
        if self._keep is not None and (dropped := decoder.skip(self._keep)):
            log.info("live stream %s: %d ms of backlog dropped", public_url(self._url),
                     dropped * 20)
        # only a flowing stream is waited for: a late chunk is a moment's jitter
        chunk = await decoder.take(until if self.live else 0.0)
        if chunk:
            self._back(account, position_ms)
            return chunk
        now = time.monotonic()
        if chunk == b"":
            await self._lose(await decoder.error(), account, position_ms)
        elif self.live and now - self.last_audio > STALL_S:
            await self._lose(f"no audio for {STALL_S:g} s", account, position_ms)
        elif not self.live and now - decoder.opened > CONNECT_S:
            await self._lose(f"no audio within {CONNECT_S:g} s", account, position_ms)
        return None

    def _back(self, account: Account, position_ms: int) -> None:
        if account.began_ms is None:
            account.began_ms = position_ms
        if not self.live:
            log.info("relay of %s on air at %.1f s", public_url(self._url), position_ms / 1000)
        self.live, self.last_audio, self._attempts = True, time.monotonic(), 0

    async def _lose(self, error: str, account: Account, position_ms: int) -> None:
        await self.close()
        # at most 300 characters: the event's reason adds to it and holds 500
        error = redact(error.removeprefix("decode_error: "), self._url, *self._secrets)[:300]
        delay = BACKOFF_S[min(self._attempts, len(BACKOFF_S) - 1)]
        self._attempts += 1
        self._retry_at = time.monotonic() + delay
        if self.live:
            account.losses += 1
            account.lost_at_ms = position_ms
        if self.live or account.losses == 0:  # why it was lost; or, never on air, the latest
            account.error = error
        log.warning("relay of %s: %s at %.1f s; connecting again in %g s",
                    public_url(self._url), error, position_ms / 1000, delay)
        self.live = False

    async def close(self) -> None:
        """End the connection (again, if a cancel cut the last stop short)."""
        if self._decoder is not None:
            await self._decoder.stop()
            self._decoder = None


class Fill:
    """What plays where the stream has no audio: the filler from its start, then silence."""

    def __init__(self, filler: Path | None) -> None:
        self._filler = filler
        self._decoder: BufferedDecoder | None = None
        self._spent = False  # the filler played through since the last loss

    async def take(self, until: float, samples: int, account: Account) -> bytes:
        """Return the next chunk of the fill (at most samples long)."""
        if self._decoder is None and self._filler is not None and not self._spent:
            self._decoder = BufferedDecoder(decode_command(self._filler))
            await self._decoder.start()
        chunk = None if self._decoder is None else await self._decoder.take(until)
        if chunk == b"":
            await self.rewind(spent=True)
        if chunk:
            account.fill_samples["filler"] += min(samples, len(chunk) // SAMPLE_BYTES)
            return chunk
        account.fill_samples["silence"] += samples
        return bytes(samples * SAMPLE_BYTES)

    async def rewind(self, *, spent: bool = False) -> None:
        """Stop the filler: the stream is back (next loss: from its start) or it ended."""
        if self._decoder is not None:
            await self._decoder.stop()
            self._decoder = None
        self._spent = spent


class RelayPlayback:
    """A relay item played into one sink: its stream, filled where it fails, for its span."""

    def __init__(self, relay: RelaySource, *, span_ms: int, backend: Backend, name: str,
                 volume: Callable[[], float], filler: Path | None,
                 station_login: Login | None = None) -> None:
        self._span = timedelta(milliseconds=span_ms)
        self._backend = backend
        self._name = name
        self._volume = volume
        # a live session's mount: heard with the station's login, probed as little as can be
        live = relay.station_login
        self._stream = Stream(relay.url, login=station_login if live else None, live=live)
        self._fill = Fill(filler)
        self._account = Account()
        self._sink: Sink | None = None
        self.progress = Progress()  # samples: the stream's, relayed

    async def prepare(self, *, open_sink: bool = True) -> None:
        """Open the stream's connection (the pre-roll), and the sink unless told not to."""
        await self._stream.connect()
        if open_sink:
            await self._open_sink()

    async def run(self, at: datetime, *, on_started: Callable[[datetime], None],
                  on_progress: Callable[[int], None] = lambda position_ms: None) -> None:
        """Relay from instant at (or now, when that has passed) to at + the span."""
        try:
            sink = self._sink or await self._open_sink()
            await sleep_until(at)
            started = utcnow()
            late = started - at if started - at > LATE_S else timedelta(0)
            total = round((self._span - late).total_seconds() * SAMPLE_RATE)
            if total <= 0:
                self.progress.ending = (EventType.SKIPPED, "late")
                return
            sink.start(started)
            await self._relay(sink, total, started, on_started, on_progress)
        except OSError as exc:
            raise PlaybackError(f"output_error: {exc}") from exc
        self.progress.ending = self._account.ending(relayed=self.progress.samples,
                                                    live=self._stream.live)

    async def _relay(self, sink: Sink, total: int, started: datetime,
                     on_started: Callable[[datetime], None],
                     on_progress: Callable[[int], None]) -> None:
        """Write exactly total samples paced from now: the stream's, else the fill's."""
        origin, written, next_report = time.monotonic(), 0, PROGRESS_SAMPLES
        while written < total:
            due = origin + written / SAMPLE_RATE
            position_ms = written * 1000 // SAMPLE_RATE
            streamed = await self._stream.take(due + GRACE_S, self._account, position_ms)
            if streamed is not None:
                await self._fill.rewind()
            samples = min(CHUNK_BYTES // SAMPLE_BYTES, total - written)
            chunk = streamed or await self._fill.take(due + GRACE_S, samples, self._account)
            chunk = chunk[: (total - written) * SAMPLE_BYTES]
            if (delay := due - time.monotonic()) > 0:
                await asyncio.sleep(delay)
            await sink.write(scale(chunk, self._volume()))
            if self.progress.started_at is None:
                self.progress.started_at = started
                on_started(started)
            written += len(chunk) // SAMPLE_BYTES
            if streamed is not None:
                self.progress.samples += len(chunk) // SAMPLE_BYTES
            if written >= next_report:
                on_progress(self.progress.position_ms)
                next_report += PROGRESS_SAMPLES

    async def close(self) -> None:
        """Close the sink, the stream and the filler (what was written stays written)."""
        sink, self._sink = self._sink, None
        if sink is not None:
            await sink.close()
        await self._stream.close()
        await self._fill.rewind()

    async def _open_sink(self) -> Sink:
        try:
            self._sink = await self._backend.open(self._name)
        except OSError as exc:
            raise PlaybackError(f"output_error: {exc}") from exc
        return self._sink
