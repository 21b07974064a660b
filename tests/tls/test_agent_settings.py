"""The agent's TLS settings: --ca-file, mqtts:// and the contexts they produce (no processes)."""

from __future__ import annotations

import argparse
import ssl
import subprocess
from pathlib import Path

import pytest

from agents.config import (
    CA_FILE_ENV,
    Settings,
    SettingsError,
    add_arguments,
    parse_mqtt,
    settings_from,
)

REPO = Path(__file__).resolve().parents[2]
MAKE_CERTS = REPO / "deploy" / "certs" / "make-certs.sh"


@pytest.fixture(scope="module")
def ca_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("certs")
    subprocess.run(["sh", str(MAKE_CERTS), "-d", str(out)], check=True, capture_output=True,
                   timeout=60)
    return out / "ca.crt"


def parse(*argv: str) -> Settings:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return settings_from(parser.parse_args(["--station", "7", "--token", "t", *argv]))


def test_mqtts_url_defaults_to_port_8883() -> None:
    assert parse_mqtt("mqtts://broker.example.vn", server="https://s") == (
        "broker.example.vn", 8883, True)
    assert parse_mqtt("mqtts://b:9999", server="http://s") == ("b", 9999, True)
    assert parse_mqtt("mqtt://b", server="http://s") == ("b", 1883, False)


def test_without_mqtt_url_tls_follows_the_server_scheme() -> None:
    assert parse_mqtt(None, server="https://wardcast.example.vn") == (
        "wardcast.example.vn", 8883, True)
    assert parse_mqtt(None, server="http://10.0.0.1:8000") == ("10.0.0.1", 1883, False)


def test_ca_file_makes_both_links_tls(ca_file: Path) -> None:
    settings = parse("--server", "https://localhost:8000", "--ca-file", str(ca_file))
    assert settings.ca_file == ca_file
    assert (settings.mqtt_host, settings.mqtt_port, settings.mqtt_tls) == ("localhost", 8883,
                                                                          True)
    assert settings.mqtt_url == "mqtts://localhost:8883"
    context = settings.ssl_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert any("wardcast private CA" in str(cert.get("subject"))
               for cert in context.get_ca_certs())


def test_ca_file_from_the_environment(ca_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CA_FILE_ENV, str(ca_file))
    settings = parse("--server", "https://s:8000", "--mqtt", "mqtts://b:8883")
    assert settings.ca_file == ca_file and settings.mqtt_tls


def test_ca_file_refuses_a_clear_text_link(ca_file: Path) -> None:
    with pytest.raises(SettingsError, match="mqtts://"):
        parse("--server", "https://s", "--mqtt", "mqtt://b:1883", "--ca-file", str(ca_file))
    with pytest.raises(SettingsError, match="https://"):
        parse("--server", "http://s", "--ca-file", str(ca_file))


def test_unreadable_ca_file_fails_at_start(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot load"):
        parse("--server", "https://s", "--ca-file", str(tmp_path / "missing.crt"))
    junk = tmp_path / "junk.crt"
    junk.write_text("not a certificate\n")
    with pytest.raises(SettingsError, match="cannot load"):
        parse("--server", "https://s", "--ca-file", str(junk))


def test_without_ca_file_the_system_store_verifies() -> None:
    settings = parse("--server", "https://wardcast.example.vn", "--mqtt",
                     "mqtts://broker.example.vn")
    assert settings.ca_file is None
    context = settings.ssl_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
