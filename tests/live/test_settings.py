"""Live voice's settings, Icecast's configuration and the addresses handed out (no process)."""

from __future__ import annotations

import logging
import os
import stat
import xml.etree.ElementTree as ET
from contextlib import ExitStack
from pathlib import Path

import pytest
from pydantic import ValidationError

from scheduler.config import Settings
from scheduler.live.icecast import (
    AUTH_HEADER,
    OUTPUT,
    IcecastSetup,
    LiveServer,
    api_address,
    line_level,
    run_as,
    start_live,
)


def test_an_external_icecast_needs_its_source_password_and_plain_http() -> None:
    with pytest.raises(ValidationError, match="icecast_source_password"):
        Settings(icecast_url="http://radio.example:8000")
    with pytest.raises(ValidationError, match="http://host:port"):
        Settings(icecast_url="https://radio.example:8000", icecast_source_password="s")
    with pytest.raises(ValidationError, match="http"):
        Settings(live_url="rtsp://radio.example")
    settings = Settings(icecast_url="http://radio.example:8000/", icecast_source_password="s",
                        live="off")
    assert settings.icecast_url == "http://radio.example:8000" and settings.live is False


def test_the_configuration_is_private_live_and_asks_wardcast_about_every_listener(
        tmp_path: Path) -> None:
    setup = IcecastSetup(folder=tmp_path / "icecast", host="0.0.0.0", port=8010,
                         auth_url="http://127.0.0.1:8000/api/v1/live/auth?key=k&x=1",
                         source_password="src&<pw>", admin_password="adm",
                         run_as=("nobody", "nogroup"))
    setup.write()
    assert stat.S_IMODE(setup.config.stat().st_mode) == 0o600
    assert stat.S_IMODE(setup.folder.stat().st_mode) == 0o700
    root = ET.parse(setup.config).getroot()
    assert root.findtext("authentication/source-password") == "src&<pw>"  # escaped, intact
    assert root.findtext("limits/burst-size") == "0"
    assert root.findtext("listen-socket/bind-address") == "0.0.0.0"
    mount = root.find("mount[@type='default']")
    assert mount is not None and mount.findtext("burst-size") == "0"
    options = {o.get("name"): o.get("value")
               for o in mount.findall("authentication[@type='url']/option")}
    assert options == {"listener_add": "http://127.0.0.1:8000/api/v1/live/auth?key=k&x=1",
                       "auth_header": AUTH_HEADER}
    assert root.findtext("security/changeowner/user") == "nobody"
    assert root.findtext("logging/errorlog") == "-"


def test_icecast_changes_owner_only_when_started_as_root() -> None:
    assert (run_as() is not None) == (os.getuid() == 0)


def test_the_addresses_keep_credentials_out_of_what_agents_get() -> None:
    live = LiveServer(source_host="::1", source_port=8010, source_password="a/b@c",
                      listen_base="http://radio.example:8010", key="k")
    assert live.source_url("live-1-x.ogg") == "icecast://source:a%2Fb%40c@[::1]:8010/live-1-x.ogg"
    assert live.listen_url("/live-1-x.ogg") == "http://radio.example:8010/live-1-x.ogg"
    assert "a/b@c" not in repr(live) and live.key_matches("k") and not live.key_matches("kk")
    assert not live.key_matches("ключ")  # any text, not only ASCII, is simply wrong
    assert api_address("0.0.0.0", 8000, tls=False) == "http://127.0.0.1:8000"
    assert api_address("::1", 8443, tls=True) == "https://[::1]:8443"


def test_icecast_lines_keep_their_own_level_and_its_access_log_is_debug() -> None:
    assert line_level("[2026-12-08  01:02:25] EROR xslt/xslt_transform problem") == logging.ERROR
    assert line_level("[2026-12-08  01:02:25] WARN fserve/x req for file") == logging.WARNING
    assert line_level('127.0.0.1 - 12 [08/Dec/2026:01:02:25 +0000] "GET /a.ogg HTTP/1.1" 200'
                      ) == logging.DEBUG
    assert line_level("Changed userid to 65534.") == logging.INFO
    assert line_level("ERROR: You should not run icecast2 as root") == logging.ERROR
    assert line_level("[2026-12-08  01:08:01] WARN CONFIG/_parse_root Warning, serving of "
                      "static files has been disabled in the config") == logging.INFO
    assert line_level('[2026-12-08  02:56:58] WARN fserve/fserve_client_create req for file '
                      '"/data/icecast/web/live-1-x.ogg" No such file or directory') == logging.INFO


def test_without_a_binary_or_when_off_there_is_no_live_and_no_process(
        settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with ExitStack() as stack:
        missing = settings.model_copy(update={"icecast_binary": tmp_path / "no-icecast2"})
        assert start_live(missing, "http://127.0.0.1:8000", stack) is None
        assert "live voice unavailable: no icecast2 binary" in caplog.text
        off = settings.model_copy(update={"live": False})
        assert start_live(off, "http://127.0.0.1:8000", stack) is None
        assert not (settings.data_dir / "icecast").exists()


def test_an_external_icecast_is_used_as_named_and_its_password_is_the_key(
        settings: Settings) -> None:
    external = Settings(data_dir=settings.data_dir, icecast_url="http://radio.example:8000",
                        icecast_source_password="s3cret", live_url="https://live.example/")
    with ExitStack() as stack:
        live = start_live(external, None, stack)
    assert live is not None and live.key_matches("s3cret")
    assert live.source_url("m.ogg") == "icecast://source:s3cret@radio.example:8000/m.ogg"
    assert live.listen_url("m.ogg") == "https://live.example/m.ogg"


def test_the_key_never_reaches_the_log(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger=OUTPUT.name):
        OUTPUT.warning("%s", "[2026-12-08  01:08:02] WARN auth_url/url_add_listener auth to "
                       "server http://127.0.0.1:8000/api/v1/live/auth?key=s3cr3t failed")
    assert "key=***" in caplog.text and "s3cr3t" not in caplog.text
