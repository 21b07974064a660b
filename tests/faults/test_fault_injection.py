"""Nothing lost, nothing played twice: a compressed broadcast day under injected faults.

Real Mosquitto, a real scheduler and three real agents with file output, each agent behind a
TCP proxy the test controls. Over a two-minute timeline of 66 playbacks the test SIGKILLs and
restarts the broker, SIGKILLs and restarts the scheduler, SIGKILLs one agent mid-playback and
restarts it, and cuts another agent's link across several of its slots. Then it checks the
ledger against what the agents recorded and against the WAV files they wrote.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.faults.stack import broker_and_server
from tests.support.audio import speech_wav
from tests.support.procs import Proc, wait_for
from tests.support.proxy import LinkProxy
from tests.support.server import Server, start_agent, upload_approved, wait_status, wardcast
from wardcast.protocol import to_wire

pytestmark = pytest.mark.faults

SLOTS = 22
GAP_S = 6
FINAL = {"played", "failed", "missed", "skipped", "interrupted", "cancelled"}


@dataclass
class Ward:
    station_id: int
    token: str
    proxy: LinkProxy
    proc: Proc
    played: Path
    state: Path


def _at(t0: float, offset: float) -> None:
    """Sleep until t0 + offset (monotonic)."""
    time.sleep(max(0.0, t0 + offset - time.monotonic()))


def _agent_log(state: Path) -> list[dict[str, object]]:
    out = subprocess.run(wardcast("agent-log", "--state-dir", str(state), "--format", "json"),
                         capture_output=True, text=True, check=True).stdout
    parsed = json.loads(out)
    return list(parsed["items"] if isinstance(parsed, dict) else parsed)


def _ledger_events(api: httpx.Client, playback_ids: list[int]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for pid in playback_ids:
        for event in api.get(f"/playbacks/{pid}/events").json()["items"]:
            rows.append({**event, "playback_id": pid})
    return rows


def _key(event: dict[str, object]) -> tuple[object, ...]:
    at = datetime.fromisoformat(str(event["at"]).replace("Z", "+00:00"))
    return (event["event_id"], int(str(event["playback_id"])), event["type"],
            at.isoformat(timespec="milliseconds"), event.get("position_ms"), event.get("reason"))


def test_faults_lose_nothing_and_play_nothing_twice(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled(), ExitStack() as cleanup:  # the suite prints its timeline and counts
        _run(tmp_path, cleanup)


def _run(tmp_path: Path, cleanup: ExitStack) -> None:
    broker, server = broker_and_server(tmp_path, cleanup)
    api = server.api()
    clip = speech_wav(tmp_path / "clip.wav", text="Thông báo của phường về lịch tiêm chủng.")
    bulletin = upload_approved(api, clip, "Tin ngắn")
    assert 2000 < bulletin["duration_ms"] < (GAP_S - 2) * 1000, bulletin

    wards: list[Ward] = []
    for n in range(3):
        st = api.post("/stations", json={"name": f"Xã {n}", "ward": f"X{n}"}).json()
        proxy = LinkProxy(broker.port).start()
        proc, played = start_agent(server, station_id=st["id"], token=st["token"],
                                   workdir=tmp_path / "agents",
                                   mqtt_url=f"mqtt://127.0.0.1:{proxy.port}")
        ward = Ward(st["id"], st["token"], proxy, proc, played,
                    tmp_path / "agents" / f"state-{st['id']}")
        wards.append(ward)
        cleanup.callback(lambda w=ward: (w.proc.stop(), w.proxy.stop()))
    for ward in wards:
        wait_for(lambda w=ward: api.get(f"/stations/{w.station_id}").json()["online"],
                 timeout=30, what=f"station {ward.station_id} online")

    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=15)
    first = soon + timedelta(seconds=-soon.second % GAP_S)  # the rule's first BYSECOND
    seconds = ",".join(str(s) for s in range(0, 60, GAP_S))
    api.post("/timetables", json={
        "bulletin_id": bulletin["id"], "station_ids": [w.station_id for w in wards],
        "starts_at": to_wire(first), "priority": "normal",
        "recurrence": f"FREQ=MINUTELY;BYSECOND={seconds};COUNT={SLOTS}"}).raise_for_status()
    rows = api.get("/playbacks", params={"limit": 1000}).json()["items"]
    assert len(rows) == SLOTS * 3
    t0 = time.monotonic() + (first - datetime.now(UTC)).total_seconds()

    faults: list[tuple[float, str, Callable[[], None]]] = [
        (9.0, "SIGKILL broker", broker.kill),
        (16.0, "restart broker", broker.start),
        (28.0, "SIGKILL scheduler", server.kill),
        (40.0, "restart scheduler", server.start),
        (50.0, "cut the link of station 3", wards[2].proxy.cut),
        (71.0, "restore the link of station 3", wards[2].proxy.restore),
        (79.0, "SIGKILL agent of station 2 mid-playback", wards[1].proc.kill),
        (81.0, "restart agent of station 2", lambda: _restart(server, wards[1], tmp_path)),
    ]
    for offset, what, action in faults:
        _at(t0, offset)
        # when it really happened: a slow restart before it delays every later fault
        print(f"t={offset:5.1f}s  {what} (at {time.monotonic() - t0:5.1f}s)")
        action()
    api = server.api()
    _at(t0, (SLOTS - 1) * GAP_S + 5)
    ids = [r["id"] for r in rows]
    done = wait_status(api, ids, FINAL, timeout=90)
    _check(api, done, wards)


def _restart(server: Server, ward: Ward, tmp_path: Path) -> None:
    ward.proc, _ = start_agent(server, station_id=ward.station_id, token=ward.token,
                               workdir=tmp_path / "agents",
                               mqtt_url=f"mqtt://127.0.0.1:{ward.proxy.port}")


def _check(api: httpx.Client, done: list[dict[str, object]], wards: list[Ward]) -> None:
    statuses = Counter(str(r["status"]) for r in done)
    print(f"playbacks: {len(done)}  by final state: {dict(statuses)}")
    assert all(r["reason"] for r in done), [r for r in done if not r["reason"]]
    assert statuses["played"] == len(done) - 1 and statuses["interrupted"] == 1, (
        statuses, [(r["station_id"], r["scheduled_at"], r["status"], r["reason"])
                   for r in done if r["status"] != "played"])
    late = [r for r in done if r["status"] == "played" and abs(
        (datetime.fromisoformat(str(r["started_at"]))
         - datetime.fromisoformat(str(r["scheduled_at"]))).total_seconds()) > 0.25]
    assert not late, late
    interrupted = next(r for r in done if r["status"] == "interrupted")
    assert interrupted["station_id"] == wards[1].station_id and interrupted["position_ms"]

    wav_counts: Counter[int] = Counter()
    for ward in wards:
        for wav in ward.played.glob("pb*_*.wav"):
            wav_counts[int(wav.name[2:].split("_", 1)[0])] += 1
    print(f"WAV files: {sum(wav_counts.values())} for {len(wav_counts)} playbacks")
    assert set(wav_counts) == {int(str(r["id"])) for r in done}
    assert max(wav_counts.values()) == 1, [pid for pid, n in wav_counts.items() if n > 1]

    ledger_total = agent_total = 0
    for ward in wards:
        own = [int(str(r["id"])) for r in done if r["station_id"] == ward.station_id]
        # event for event: counted, so a duplicate on either side would show
        agent = Counter(_key(e) for e in _agent_log(ward.state)
                        if int(str(e["playback_id"])) in own)
        ledger = Counter(_key(e) for e in _ledger_events(api, own))
        assert agent == ledger, (agent - ledger, ledger - agent)
        ledger_total += ledger.total()
        agent_total += agent.total()
    print(f"events: agents recorded {agent_total}, ledger holds {ledger_total}, lost 0")
