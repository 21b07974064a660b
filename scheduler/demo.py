"""`wardcast demo`: the whole system on one machine, with sample stations and a bulletin."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx

from wardcast.protocol import to_wire, utcnow

DEMO_USER = "demo"
DEMO_PASSWORD = "demo-password"
# the second person of the two-person rule: the demo's admin uploads, this user approves
DEMO_APPROVER = "demo-approver"
SAMPLE_TEXT = (
    "Đài truyền thanh phường xin thông báo. Đây là bản tin thử nghiệm của hệ thống wardcast. "
    "Chúc bà con một ngày tốt lành."
)


def _wardcast(*args: str) -> list[str]:
    return [sys.executable, "-m", "wardcast.cli", *args]


def _sample_audio(folder: Path) -> Path:
    """Speak the sample bulletin with espeak-ng, or make a tone if it is not installed."""
    target = folder / "sample-bulletin.wav"
    if shutil.which("espeak-ng"):
        subprocess.run(["espeak-ng", "-v", "vi", "-w", str(target), SAMPLE_TEXT], check=True)
    else:
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                        "sine=frequency=440:duration=8", str(target)], check=True)
    return target


def _wait_healthy(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped; see {log}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"the server did not become healthy in 60 s; see {log}")


def _station_token(api: httpx.Client, name: str) -> tuple[int, str]:
    """Register a station, or give an existing one a new token."""
    existing = [s for s in api.get("/stations", params={"limit": 1000}).json()["items"]
                if s["name"] == name]
    if existing:
        answer = api.post(f"/stations/{existing[0]['id']}/token")
    else:
        answer = api.post("/stations", json={"name": name, "ward": "Phường Demo"})
    answer.raise_for_status()
    body = answer.json()
    return int(body["id"]), str(body["token"])


def _schedule_sample(api: httpx.Client, folder: Path, station_ids: list[int],
                     lead: float) -> str:
    audio = _sample_audio(folder)
    with audio.open("rb") as handle:
        answer = api.post("/bulletins", files={"file": (audio.name, handle, "audio/wav")},
                          data={"title": "Bản tin thử nghiệm", "language": "vi",
                                "category": "demo"}, timeout=120)
    answer.raise_for_status()
    bulletin = answer.json()
    _approve_as_second_person(api, int(bulletin["id"]))
    starts_at = utcnow().replace(microsecond=0) + timedelta(seconds=lead)
    api.post("/timetables", json={"bulletin_id": bulletin["id"], "station_ids": station_ids,
                                  "starts_at": to_wire(starts_at),
                                  "priority": "normal"}).raise_for_status()
    return to_wire(starts_at)


def _approve_as_second_person(api: httpx.Client, bulletin_id: int) -> None:
    """Approve as DEMO_APPROVER (made on first use): who uploads never approves."""
    made = api.post("/users", json={"username": DEMO_APPROVER, "password": DEMO_PASSWORD,
                                    "role": "approver"})
    if made.status_code != 409:  # 409: made by an earlier run in this folder
        made.raise_for_status()
    login = api.post("/auth/token", data={"username": DEMO_APPROVER, "password": DEMO_PASSWORD})
    login.raise_for_status()
    api.post(f"/bulletins/{bulletin_id}/approve", headers={
        "Authorization": f"Bearer {login.json()['access_token']}"}).raise_for_status()


def run_demo(args: argparse.Namespace) -> int:
    """Start server and agents, schedule a sample bulletin, run until Ctrl-C."""
    root = Path(args.dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "WARDCAST_DATA_DIR": str(root / "data"), "WARDCAST_BROKER": "embedded",
           "WARDCAST_MQTT_URL": f"mqtt://127.0.0.1:{args.mqtt_port}"}
    base = f"http://127.0.0.1:{args.port}"
    subprocess.run(_wardcast("users", "create", "--username", DEMO_USER, "--password",
                             DEMO_PASSWORD, "--role", "admin"), env=env, capture_output=True)
    children: list[subprocess.Popen[bytes]] = []
    server_log = root / "server.log"
    with server_log.open("ab") as log:
        server = subprocess.Popen(_wardcast("serve", "--port", str(args.port)), env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
    children.append(server)
    try:
        _wait_healthy(base, server, server_log)
        token = httpx.post(f"{base}/api/v1/auth/token",
                           data={"username": DEMO_USER, "password": DEMO_PASSWORD}).json()
        api = httpx.Client(base_url=f"{base}/api/v1", timeout=30,
                           headers={"Authorization": f"Bearer {token['access_token']}"})
        station_ids = []
        for number in range(1, args.stations + 1):
            station_id, secret = _station_token(api, f"demo-{number:04d}")
            station_ids.append(station_id)
            played = root / "played" / f"station-{station_id}"
            played.mkdir(parents=True, exist_ok=True)
            with (root / f"agent-{station_id}.log").open("ab") as log:
                children.append(subprocess.Popen(
                    _wardcast("agent", "--server", base, "--station", str(station_id),
                              "--mqtt", f"mqtt://127.0.0.1:{args.mqtt_port}",
                              "--output", f"file:{played}",
                              "--state-dir", str(root / "agents" / str(station_id))),
                    # the token in the environment: the command line is visible to `ps`
                    env={**env, "WARDCAST_AGENT_TOKEN": secret}, stdout=log,
                    stderr=subprocess.STDOUT))
        slot = _schedule_sample(api, root, station_ids, args.lead_seconds)
        _announce(base, root, slot, len(station_ids))
        stop = {signal.SIGINT, signal.SIGTERM}
        signal.pthread_sigmask(signal.SIG_BLOCK, stop)  # after the children: they must not inherit
        signal.sigwait(stop)
    finally:
        for child in reversed(children):
            child.terminate()
        for child in children:
            child.wait(timeout=15)
    return 0


def _announce(base: str, root: Path, slot: str, stations: int) -> None:
    lines = [
        "",
        "wardcast demo is running.",
        f"  API and its documentation: {base}/docs   (log in as {DEMO_USER} / {DEMO_PASSWORD})",
        f"  a second user approves what {DEMO_USER} uploads: {DEMO_APPROVER} / {DEMO_PASSWORD}",
        f"  {stations} simulated stations; a sample bulletin plays on all of them at {slot}",
        f"  played audio (one WAV per playback): {root / 'played'}",
        f"  playback log: {base}/api/v1/playbacks  (files: ?format=csv, ?format=xlsx)",
        f"  logs: {root}/*.log",
        "Press Ctrl-C to stop.",
    ]
    print("\n".join(lines), flush=True)  # noqa: T201
