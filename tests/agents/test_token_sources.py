"""Where the agent's station token comes from: a file or the environment keep it out of `ps`;
`--token` still works (CONTRACT.md names it) but says it is visible there."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import pytest

from agents.config import TOKEN_ENV, SettingsError, add_arguments, settings_from
from tests.agents.conftest import TOKEN
from tests.agents.mediaserver import MediaServer
from tests.agents.scheduler_stub import REPO, STATION, FakeScheduler
from tests.support.mosquitto import Mosquitto
from tests.support.procs import Proc, wait_for

SERVER = ["--server", "http://127.0.0.1:9", "--station", "7"]


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args([*SERVER, *argv])


def _private(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o600)
    return path


def test_the_token_file_is_read_and_nothing_is_said(
        tmp_path: Path, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, "from-the-environment")
    token_file = _private(tmp_path / "token", "wcs_from-the-file\n")
    with caplog.at_level(logging.WARNING):
        assert settings_from(_args("--token-file", str(token_file))).token == "wcs_from-the-file"
    assert caplog.records == []


def test_the_environment_is_used_without_a_word(caplog: pytest.LogCaptureFixture,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, "wcs_from-the-environment")
    with caplog.at_level(logging.WARNING):
        assert settings_from(_args()).token == "wcs_from-the-environment"
    assert caplog.records == []


def test_a_token_on_the_command_line_works_and_warns(caplog: pytest.LogCaptureFixture,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    with caplog.at_level(logging.WARNING):
        assert settings_from(_args("--token", "wcs_visible")).token == "wcs_visible"
    said = caplog.text
    assert "ps" in said and "--token-file" in said and TOKEN_ENV in said
    assert "wcs_visible" not in said


def test_bad_token_files_are_refused_by_name(tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, "would-hide-the-mistake")
    with pytest.raises(SettingsError, match="missing"):
        settings_from(_args("--token-file", str(tmp_path / "missing")))
    with pytest.raises(SettingsError, match="empty"):
        settings_from(_args("--token-file", str(_private(tmp_path / "empty", " \n"))))
    with pytest.raises(SystemExit):  # one source or the other
        _args("--token-file", str(tmp_path / "x"), "--token", "y")
    shared = tmp_path / "shared"
    shared.write_text("wcs_shared")
    shared.chmod(0o644)
    with caplog.at_level(logging.WARNING):
        assert settings_from(_args("--token-file", str(shared))).token == "wcs_shared"
    assert "chmod 600" in caplog.text and "wcs_shared" not in caplog.text


def test_an_agent_with_a_token_file_logs_in_and_ps_shows_no_token(
        tmp_path: Path, mosquitto: Mosquitto, media_server: MediaServer,
        scheduler: FakeScheduler) -> None:
    token_file = _private(tmp_path / "token", f"{TOKEN}\n")
    agent = Proc([sys.executable, "-m", "wardcast.cli", "agent", "--server", media_server.url,
                  "--station", STATION, "--token-file", str(token_file),
                  "--mqtt", mosquitto.plain_url, "--output", "null",
                  "--state-dir", str(tmp_path / "state")],
                 log=tmp_path / "agent.log", env={"PYTHONPATH": str(REPO)}, cwd=REPO).start()
    try:
        # the broker took its login, and the scheduler's HTTP side its token
        wait_for(lambda: any(s.state == "online" for s in scheduler.statuses), timeout=20,
                 what=f"the agent online; its log:\n{agent.output()[-3000:]}")
        assert agent.popen is not None
        command_line = Path(f"/proc/{agent.popen.pid}/cmdline").read_bytes()
        assert TOKEN.encode() not in command_line and b"--token-file" in command_line
    finally:
        agent.stop()
    said = agent.output()
    assert "given with --token" not in said and "refused the station token" not in said
