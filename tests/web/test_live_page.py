"""The live page in Chromium: an approver picks two stations on /live, presses start and
speaks (Chromium's fake microphone, fed from a WAV of Vietnamese speech), then stop. Both real
agents (file output) play the speech (cross-correlated with the WAV) within 2 s of start and
end within 2 s of stop; the normal bulletin one of them was playing is `interrupted`; what was
said is kept as a pending bulletin, linked from the page. At phone width the page fits."""

from __future__ import annotations

import subprocess
import time
import uuid
import wave
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.support.audio import best_lag, envelope
from tests.support.procs import Proc
from tests.support.server import start_agent, wait_status
from tests.web.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    PHONE,
    Pages,
    api_as,
    approve_through_api,
    register_station,
    upload_through_api,
)
from tests.web.test_emergency_page import wait_online

FINAL = {"played", "failed", "missed", "skipped", "interrupted", "cancelled"}
FRAME_S = 0.01  # tests.support.audio.envelope's frames: 480 samples at 48 kHz


@pytest.fixture(scope="module")
def voice(tmp_path_factory: pytest.TempPathFactory, speech: Path) -> Path:
    """What the fake microphone hears: the speech at 48 kHz mono, then 2 s of silence (the
    microphone loops it), so that each loop is told apart."""
    path = tmp_path_factory.mktemp("mic") / "voice.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(speech), "-af", "apad=pad_dur=2",
                    "-ac", "1", "-ar", "48000", "-c:a", "pcm_s16le", str(path)], check=True)
    return path


@pytest.fixture(scope="module")
def mic_browser(browser: Browser, voice: Path) -> Iterator[Browser]:
    """A second Chromium of the same Playwright, its microphone the voice WAV, no prompt."""
    chromium = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[*CHROMIUM_ARGS, "--use-fake-device-for-media-stream",
              "--use-fake-ui-for-media-stream", f"--use-file-for-fake-audio-capture={voice}"])
    yield chromium
    chromium.close()


def pcm(path: Path) -> bytes:
    with wave.open(str(path)) as sound:
        assert (sound.getnchannels(), sound.getsampwidth(), sound.getframerate()) == (1, 2, 48000)
        return sound.readframes(sound.getnframes())


def playbacks_of(pages: Pages, broadcast_id: int) -> list[dict[str, Any]]:
    with api_as(pages.server, pages.accounts["viewer"]) as api:
        rows = api.get("/playbacks", params={"limit": 1000}).json()["items"]
    return sorted((r for r in rows if r["broadcast_id"] == broadcast_id),
                  key=lambda r: r["station_id"])


def test_an_approver_speaks_live_to_two_stations(pages: Pages, mic_browser: Browser,
                                                 speech: Path, voice: Path,
                                                 tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:6]
    stations = [register_station(pages.server, f"Trạm Phường {name} {tag}")
                for name in ("Tân Lợi", "Ea Tam")]
    agents: list[Proc] = []
    played: list[Path] = []
    for station in stations:
        agent, out = start_agent(pages.server, station_id=station["id"],
                                 token=station["token"], workdir=tmp_path)
        agents.append(agent)
        played.append(out)
    try:
        for station in stations:
            wait_online(pages, int(station["id"]))
        # a long normal bulletin plays on the first when the live session starts
        long_speech = tmp_path / "long.wav"
        subprocess.run(["ffmpeg", "-v", "error", "-stream_loop", "5", "-i", str(speech),
                        str(long_speech)], check=True)
        normal = upload_through_api(pages.server, pages.accounts["editor"], long_speech,
                                    title=f"Bản tin thường {tag}")
        approve_through_api(pages.server, pages.accounts["approver"], normal["id"])
        with api_as(pages.server, pages.accounts["approver"]) as api:
            sent = api.post("/broadcasts", json={"bulletin_id": normal["id"], "priority": "normal",
                                                 "station_ids": [stations[0]["id"]]})
            assert sent.status_code == 201, sent.text
            wait_status(api, sent.json()["playback_ids"], {"playing"}, timeout=30)

        pages.browser = mic_browser
        page = pages.login("approver", viewport=DESKTOP)
        page.goto("/live")
        expect(page.locator("h1")).to_have_text("Phát trực tiếp")
        for station in stations:
            page.check(f"input[name=station_ids][value='{station['id']}']")
        expect(page.locator("#live-priority")).to_have_value("emergency")
        pages.shot(page, "choose")
        pressed = datetime.now(UTC)
        page.click("[data-action=start-live]")
        expect(page.locator("#live-state")).to_contain_text("Đang phát trực tiếp từ",
                                                            timeout=15_000)
        expect(page.locator("[data-action=stop-live]")).to_be_visible()
        pages.shot(page, "on-air")
        live_id = int(page.locator("#live-form").get_attribute("data-session") or 0)
        with api_as(pages.server, pages.accounts["viewer"]) as api:
            live = api.get(f"/live/{live_id}").json()
        rows = wait_status_of(pages, live["broadcast_id"], {"playing"}, timeout=15)
        for row in rows:
            assert datetime.fromisoformat(row["started_at"]) - pressed <= timedelta(seconds=2), row
        page.wait_for_timeout(12_000)  # a whole loop of the voice (speech, then 2 s silence)
        stopped = datetime.now(UTC)
        page.click("[data-action=stop-live]")
        expect(page.locator("#live-recording-link")).to_be_visible(timeout=60_000)
        expect(page.locator("#live-state")).to_have_text(
            "Đã dừng. Bản ghi được lưu thành bản tin chờ duyệt:")
        pages.shot(page, "stopped")

        rows = wait_status_of(pages, live["broadcast_id"], FINAL, timeout=15)
        for row in rows:
            assert row["status"] == "interrupted", row
            assert str(row["reason"]).startswith("live_ended"), row
            assert datetime.fromisoformat(row["finished_at"]) - stopped <= timedelta(seconds=2)
        with api_as(pages.server, pages.accounts["viewer"]) as api:
            [cut] = api.get("/playbacks", params={"bulletin_id": normal["id"]}).json()["items"]
            kept = api.get(f"/live/{live_id}").json()
            bulletin = api.get(f"/bulletins/{kept['recording_bulletin_id']}").json()
        assert cut["status"] == "interrupted" and str(cut["reason"]).startswith("preempted")
        assert bulletin["status"] == "pending" and bulletin["title"].startswith("Phát trực tiếp")
        assert bulletin["duration_ms"] > 5_000, bulletin
        href = page.locator("#live-recording-link").get_attribute("href")
        assert href == f"/bulletins/{bulletin['id']}"

        # each loudspeaker played the microphone's speech: the fake microphone loops the voice
        # from when the page opened it, so the output (from its first sound) lines up with the
        # loop at some offset
        voice_envelope = envelope(pcm(voice))
        looped = voice_envelope * 3
        for out in played:
            [wav] = out.glob(f"bc{live['broadcast_id']}-0_*.wav")
            output = envelope(pcm(wav))
            sound = output[next(i for i, level in enumerate(output) if level > 50):]
            lag, score = best_lag(sound, looped, range(-len(voice_envelope), 1))
            assert score > 0.8, (wav.name, lag, score)
            seconds = len(output) * FRAME_S
            assert seconds - (stopped - pressed).total_seconds() <= 2.0, (wav.name, seconds)
    finally:
        for agent in agents:
            agent.stop()


def wait_status_of(pages: Pages, broadcast_id: int, statuses: set[str], *,
                   timeout: float) -> list[dict[str, Any]]:
    """The broadcast's two playbacks once each has one of the statuses."""
    deadline = time.monotonic() + timeout
    rows: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        rows = playbacks_of(pages, broadcast_id)
        if len(rows) == 2 and all(r["status"] in statuses for r in rows):
            return rows
        time.sleep(0.25)
    raise AssertionError(f"live playbacks did not reach {statuses}: {rows}")


def test_the_live_page_fits_a_phone_and_is_for_approvers(pages: Pages) -> None:
    page = pages.at("/live", role="approver", viewport=PHONE, name="phone")
    expect(page.locator("[data-action=start-live]")).to_be_visible()
    expect(page.locator("input[name=station_ids]").first).to_be_attached()
    editor = pages.login("editor")
    answer = editor.goto("/live")
    assert answer is not None and answer.status == 403
