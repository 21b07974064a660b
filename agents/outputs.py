"""Output backends: where paced PCM (s16le, mono, 48 kHz) goes.

The player paces every backend in real time; a backend only has to take the samples.
``open`` is called ahead of the slot (so a device process can start), ``start`` at the
instant the first sample is written. Each sink is named: ``pb<playback id>`` for a plan item,
``test-tone_<command id>`` for a test tone. ``GainBackend`` applies the station's volume to
every sample of every sink.
"""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import wave
from array import array
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from agents.config import Output, SettingsError
from agents.decode import CHANNELS, SAMPLE_BYTES, SAMPLE_RATE

log = logging.getLogger(__name__)


class Sink(Protocol):
    """One playback's destination."""

    def start(self, at: datetime) -> None: ...
    async def write(self, pcm: bytes) -> None: ...
    async def close(self) -> None: ...


class Backend(Protocol):
    """Makes one sink per playback."""

    async def open(self, name: str) -> Sink: ...


class NullSink:
    """Discards the samples (the player still paces them)."""

    def start(self, at: datetime) -> None:
        """Nothing to prepare."""

    async def write(self, pcm: bytes) -> None:
        """Drop the samples."""

    async def close(self) -> None:
        """Nothing to release."""


class NullBackend:
    async def open(self, name: str) -> Sink:
        """Return a sink that discards."""
        return NullSink()


def playback_name(playback_id: int) -> str:
    """Name the output of a plan item."""
    return f"pb{playback_id}"


def tone_name(command_id: str) -> str:
    """Name the output of a test tone (the command id made safe for a file name)."""
    return f"test-tone_{re.sub(r'[^A-Za-z0-9._-]', '-', command_id)[:64]}"


def wav_name(name: str, at: datetime) -> str:
    """Name a WAV file by its sink's name and start instant (UTC)."""
    stamp = at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%f")[:-3]
    return f"{name}_{stamp}Z.wav"


class FileSink:
    """Writes exactly the played samples into one WAV file, whole on disk after each write.

    After every write the RIFF and data sizes are patched and the file is flushed to the OS,
    so a SIGKILL mid-playback leaves a valid WAV of what was played (audits count on it).
    """

    def __init__(self, directory: Path, name: str) -> None:
        self._directory = directory
        self._name = name
        self._file: BinaryIO | None = None
        self._wav: wave.Wave_write | None = None
        self.path: Path | None = None

    def start(self, at: datetime) -> None:
        """Create the WAV file under its final name."""
        self.path = self._directory / wav_name(self._name, at)
        self._file = self.path.open("wb")
        self._wav = wave.open(self._file, "wb")
        self._wav.setnchannels(CHANNELS)
        self._wav.setsampwidth(SAMPLE_BYTES)
        self._wav.setframerate(SAMPLE_RATE)

    async def write(self, pcm: bytes) -> None:
        """Append samples, patch the header sizes and hand it all to the OS."""
        assert self._wav is not None and self._file is not None, "start() first"
        self._wav.writeframes(pcm)  # writeframes patches the sizes when they changed
        self._file.flush()

    async def close(self) -> None:
        """Finish the header and close the file."""
        if self._wav is not None:
            self._wav.close()  # does not close a file object it was given
            self._wav = None
        if self._file is not None:
            self._file.close()
            self._file = None


class FileBackend:
    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._directory = directory

    async def open(self, name: str) -> Sink:
        """Return a sink that writes a WAV into the directory."""
        return FileSink(self._directory, name)


def device_command() -> list[str]:
    """Return the argv of a player that reads s16le mono 48 kHz PCM on stdin."""
    if shutil.which("aplay"):
        return ["aplay", "-q", "-f", "S16_LE", "-r", str(SAMPLE_RATE), "-c", str(CHANNELS)]
    if shutil.which("ffplay"):
        return ["ffplay", "-nodisp", "-autoexit", "-loglevel", "error", "-f", "s16le",
                "-ar", str(SAMPLE_RATE), "-ac", str(CHANNELS), "-i", "-"]
    raise SettingsError("--output device needs aplay or ffplay; neither is installed")


class DeviceSink:
    """Pipes samples into aplay (or ffplay), which plays them on the default sound card."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process

    def start(self, at: datetime) -> None:
        """The process is already running."""

    async def write(self, pcm: bytes) -> None:
        """Hand samples to the player process."""
        assert self._process.stdin is not None
        self._process.stdin.write(pcm)
        await self._process.stdin.drain()

    async def close(self) -> None:
        """Close the pipe and let the player finish what it buffered."""
        assert self._process.stdin is not None
        self._process.stdin.close()
        try:
            await asyncio.wait_for(self._process.wait(), 5)
        except TimeoutError:
            self._process.kill()
            await self._process.wait()


class DeviceBackend:
    def __init__(self) -> None:
        self._argv = device_command()

    async def open(self, name: str) -> Sink:
        """Start the player process ahead of the slot."""
        process = await asyncio.create_subprocess_exec(
            *self._argv, stdin=asyncio.subprocess.PIPE)
        return DeviceSink(process)


def make_backend(output: Output) -> Backend:
    """Build the backend an --output value names."""
    if output.kind == "file":
        assert output.directory is not None
        return FileBackend(output.directory)
    if output.kind == "device":
        return DeviceBackend()
    return NullBackend()


def scale(pcm: bytes, percent: float) -> bytes:
    """Scale s16le samples by percent, clipping to the 16-bit range."""
    if percent == 100:
        return pcm
    factor = percent / 100
    samples = array("h", pcm)
    for index, sample in enumerate(samples):
        samples[index] = max(-32768, min(32767, round(sample * factor)))
    return samples.tobytes()


class Gain:
    """The station's volume in percent (100 = unchanged), read at every write."""

    def __init__(self, percent: float = 100) -> None:
        self.percent = percent


class GainSink:
    """Scales every sample by the current gain before the sink takes it."""

    def __init__(self, sink: Sink, gain: Gain) -> None:
        self._sink = sink
        self._gain = gain

    def start(self, at: datetime) -> None:
        """Start the wrapped sink."""
        self._sink.start(at)

    async def write(self, pcm: bytes) -> None:
        """Write the samples at the gain of this instant."""
        await self._sink.write(scale(pcm, self._gain.percent))

    async def close(self) -> None:
        """Close the wrapped sink."""
        await self._sink.close()


class GainBackend:
    """Wraps every sink of a backend in the station's gain."""

    def __init__(self, backend: Backend, gain: Gain) -> None:
        self._backend = backend
        self._gain = gain

    async def open(self, name: str) -> Sink:
        """Open the wrapped backend's sink, behind the gain."""
        return GainSink(await self._backend.open(name), self._gain)
