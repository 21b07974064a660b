"""Run the real scheduler (`wardcast serve`) and agents (`wardcast agent`) as processes."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.procs import Proc, free_port, wait_for

ADMIN = ("admin", "admin-password")
# the second person of the two-person rule: approves what the admin uploads
APPROVER = ("approver", "approver-password")


def wardcast(*args: str) -> list[str]:
    return [sys.executable, "-m", "wardcast.cli", *args]


@dataclass
class Server:
    """One `wardcast serve` process with its own data dir and an admin user."""

    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    mqtt_port: int = 0
    proc: Proc | None = None
    token: str = ""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mqtt_url(self) -> str:
        return f"mqtt://127.0.0.1:{self.mqtt_port}"

    def setup(self, *, external_mqtt_url: str | None = None, **settings: str) -> Server:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        # each server its own streaming server's port (two tests at a time; Icecast's 8010)
        self.env = {"WARDCAST_DATA_DIR": str(self.workdir / "data"),
                    "WARDCAST_LIVE_PORT": str(free_port()),
                    **{f"WARDCAST_{k.upper()}": v for k, v in settings.items()}}
        if external_mqtt_url:
            self.env |= {"WARDCAST_BROKER": "external", "WARDCAST_MQTT_URL": external_mqtt_url}
            self.mqtt_port = int(external_mqtt_url.rsplit(":", 1)[1])
        else:
            self.mqtt_port = self.mqtt_port or free_port()
            self.env |= {"WARDCAST_BROKER": "embedded",
                         "WARDCAST_MQTT_URL": f"mqtt://127.0.0.1:{self.mqtt_port}"}
        Proc(wardcast("users", "create", "--username", ADMIN[0], "--password", ADMIN[1],
                      "--role", "admin"), log=self.workdir / "users.log", env=self.env
             ).start().popen.wait(60)  # type: ignore[union-attr]
        return self

    def start(self) -> Server:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc = Proc(wardcast("serve", "--port", str(self.port)),
                         log=self.workdir / "server.log", env=self.env).start()
        wait_for(self.healthy, timeout=60, what="the scheduler to be healthy")
        return self

    def healthy(self) -> bool:
        if self.proc and not self.proc.running:
            raise AssertionError("server exited:\n" + self.proc.output()[-4000:])
        try:
            return httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def api(self) -> httpx.Client:
        if not self.token:
            answer = httpx.post(f"{self.base}/api/v1/auth/token",
                                data={"username": ADMIN[0], "password": ADMIN[1]})
            answer.raise_for_status()
            self.token = answer.json()["access_token"]
        return httpx.Client(base_url=f"{self.base}/api/v1", timeout=120,
                            headers={"Authorization": f"Bearer {self.token}"})

    def stop(self) -> None:
        if self.proc:
            self.proc.stop()

    def kill(self) -> None:
        if self.proc:
            self.proc.kill()


def approve(api: httpx.Client, bulletin_id: int) -> None:
    """Approve a bulletin as APPROVER, made by the admin's API client on first use.

    Whoever uploaded a bulletin may not approve it (WARDCAST_TWO_PERSON_RULE, on by default).
    """
    made = api.post("/users", json={"username": APPROVER[0], "password": APPROVER[1],
                                    "role": "approver"})
    assert made.status_code in (201, 409), made.text
    login = api.post("/auth/token", data={"username": APPROVER[0], "password": APPROVER[1]},
                     headers={"Authorization": ""})
    assert login.status_code == 200, login.text
    approved = api.post(f"/bulletins/{bulletin_id}/approve",
                        headers={"Authorization": f"Bearer {login.json()['access_token']}"})
    assert approved.status_code == 200, approved.text


def upload_approved(api: httpx.Client, path: Path, title: str, *,
                    language: str = "vi") -> dict[str, Any]:
    """Upload a bulletin through the API, approve it, and return it as the upload answered."""
    with path.open("rb") as handle:
        answer = api.post("/bulletins", files={"file": (path.name, handle)},
                          data={"title": title, "language": language})
    assert answer.status_code == 201, answer.text
    bulletin: dict[str, Any] = answer.json()
    approve(api, int(bulletin["id"]))
    return bulletin


def start_agent(server: Server, *, station_id: int, token: str, workdir: Path,
                mqtt_url: str | None = None, extra: Sequence[str] = ()) -> tuple[Proc, Path]:
    """Start `wardcast agent` with file output; return it and its output folder."""
    played = workdir / f"played-{station_id}"
    played.mkdir(parents=True, exist_ok=True)
    proc = Proc(wardcast("agent", "--server", server.base, "--station", str(station_id),
                         "--token", token, "--mqtt", mqtt_url or server.mqtt_url,
                         "--output", f"file:{played}",
                         "--state-dir", str(workdir / f"state-{station_id}"), *extra),
                log=workdir / f"agent-{station_id}.log").start()
    return proc, played


def wait_status(api: httpx.Client, playback_ids: list[int], statuses: set[str], *,
                timeout: float) -> list[dict[str, object]]:
    """Poll the log until every playback has one of the statuses; return their rows."""
    deadline = time.monotonic() + timeout
    rows: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        rows = [r for r in api.get("/playbacks", params={"limit": 1000}).json()["items"]
                if r["id"] in playback_ids]
        if len(rows) == len(playback_ids) and all(r["status"] in statuses for r in rows):
            return rows
        time.sleep(0.25)
    raise AssertionError(f"playbacks did not reach {statuses}: {rows}")


__all__ = ["ADMIN", "APPROVER", "Server", "approve", "free_port", "start_agent",
           "upload_approved", "wait_for", "wait_status"]
