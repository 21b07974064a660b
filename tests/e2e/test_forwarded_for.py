"""Login throttling on a real `wardcast serve`: X-Forwarded-For counts only from a configured
proxy, so a guesser cannot rotate the header to dodge the 429."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from scheduler.config import Settings
from tests.support.server import ADMIN, Server

pytestmark = pytest.mark.e2e

VICTIM = "nguyen.van.b"
PASSWORD = "mat-khau-that-1"


def _serve(tmp_path: Path, **settings: str) -> tuple[Server, httpx.Client]:
    server = Server(tmp_path / "server").setup(**settings).start()
    api = server.api()
    created = api.post("/users", json={"username": VICTIM, "password": PASSWORD,
                                       "role": "viewer"})
    assert created.status_code == 201, created.text
    return server, api


def _guess(server: Server, forwarded_for: str | None, password: str = "doan-sai-123") -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    answer = httpx.post(f"{server.base}/api/v1/auth/token", headers=headers,
                        data={"username": VICTIM, "password": password}, timeout=30)
    return answer.status_code


def test_a_rotated_forwarded_for_from_an_untrusted_peer_still_meets_the_throttle(
        tmp_path: Path) -> None:
    """The issue's attack: a new X-Forwarded-For every 4 tries from 127.0.0.1 (no proxy
    configured) had 30 tries answered 401 and none 429."""
    server, api = _serve(tmp_path)
    try:
        answers = [_guess(server, f"198.51.100.{1 + attempt // 4}") for attempt in range(30)]
        # five free failures, then blocks that double (1 s, 2 s, 4 s ...): however slow the
        # machine, 25 more tries meet one
        assert answers[:5] == [401] * 5, answers
        assert 429 in answers, answers
        # the forged header is not the address the audit log keeps either
        api.post("/stations", json={"name": "Trạm A", "ward": "P1"},
                 headers={"X-Forwarded-For": "203.0.113.99"}).raise_for_status()
        entry = api.get("/audit", params={"action": "station.register"}).json()["items"][0]
        assert entry["remote_addr"] == "127.0.0.1"
    finally:
        api.close()
        server.stop()


def test_behind_a_trusted_proxy_each_forwarded_client_is_counted_apart(
        tmp_path: Path) -> None:
    server, api = _serve(tmp_path, trusted_proxies="127.0.0.1, 10.0.0.0/8")
    try:
        first, second = "203.0.113.7", "203.0.113.8"
        assert [_guess(server, first) for _ in range(4)] == [401] * 4
        assert [_guess(server, second) for _ in range(4)] == [401] * 4
        # what a client writes itself stands left of what the proxy appends: the right-most
        # address that is not a trusted proxy is the client, whatever it put before it
        assert _guess(server, f"192.0.2.1, {first}") == 401  # its fifth failure
        tries = [_guess(server, f"192.0.2.{2 + n}, {first}, 10.1.2.3") for n in range(12)]
        assert 429 in tries, tries  # the same client, whatever it wrote left of it
        assert _guess(server, second) == 401  # its fifth failure: still its own count
        assert _guess(server, "203.0.113.9", PASSWORD) == 200  # another client logs in
        api.post("/stations", json={"name": "Trạm B", "ward": "P1"},
                 headers={"X-Forwarded-For": "203.0.113.10"}).raise_for_status()
        entry = api.get("/audit", params={"action": "station.register"}).json()["items"][0]
        assert entry["remote_addr"] == "203.0.113.10"
        assert ADMIN[0] == entry["username"]
    finally:
        api.close()
        server.stop()


def test_trusted_proxies_must_be_addresses_or_networks() -> None:
    """A typo fails at start-up instead of silently trusting nothing (or something else)."""
    assert Settings().trusted_proxy_list == []
    assert Settings(trusted_proxies=" 127.0.0.1, 10.0.0.0/8 ,::1").trusted_proxy_list == [
        "127.0.0.1", "10.0.0.0/8", "::1"]
    with pytest.raises(ValidationError, match="proxy.example"):
        Settings(trusted_proxies="127.0.0.1,proxy.example")
