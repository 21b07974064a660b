"""A link that dies without a word (no reset, no FIN), as 3G links do: the agent plays on
from its plan, and with the scheduler's default graces the log ends up exact.

Nothing tells either end that the link is gone: the broker notices after 1.5 x the agent's
keepalive and publishes its will. With a missed grace shorter than that (it was 30 s) the
first slot of the silence was declared `missed` while the agent was playing it.
"""

from __future__ import annotations

import time
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.faults.test_fault_injection import _agent_log, _key, _ledger_events
from tests.support.audio import speech_wav
from tests.support.mosquitto import Mosquitto
from tests.support.procs import wait_for
from tests.support.proxy import LinkProxy
from tests.support.server import Server, start_agent, upload_approved, wait_status
from wardcast.protocol import to_wire

pytestmark = pytest.mark.faults

FINAL = {"played", "failed", "missed", "skipped", "interrupted", "cancelled"}


def test_a_silent_link_loses_nothing_and_marks_nothing_missed(tmp_path: Path) -> None:
    with ExitStack() as cleanup:
        broker = Mosquitto(tmp_path / "mosquitto").setup().start()
        cleanup.callback(broker.stop)
        # the default graces (missed 60 s, offline 6 h): what a deployment runs with
        server = Server(tmp_path / "server").setup(external_mqtt_url=broker.url,
                                                   watchdog_interval_s="1").start()
        cleanup.callback(server.stop)
        api = server.api()
        bulletin = upload_approved(
            api, speech_wav(tmp_path / "clip.wav", text="Thông báo ngắn."), "Tin")
        st = api.post("/stations", json={"name": "Xã im lặng", "ward": "X"}).json()
        proxy = LinkProxy(broker.port).start()
        proc, _played = start_agent(server, station_id=st["id"], token=st["token"],
                                    workdir=tmp_path / "agents",
                                    mqtt_url=f"mqtt://127.0.0.1:{proxy.port}")
        cleanup.callback(lambda: (proc.stop(), proxy.stop()))
        wait_for(lambda: api.get(f"/stations/{st['id']}").json()["online"], timeout=30,
                 what="the station online")
        soon = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=12)
        first = soon + timedelta(seconds=-soon.second % 10)
        api.post("/timetables", json={
            "bulletin_id": bulletin["id"], "station_ids": [st["id"]],
            "starts_at": to_wire(first), "priority": "normal",
            "recurrence": "FREQ=MINUTELY;BYSECOND=0,10,20,30,40,50;COUNT=6"}).raise_for_status()
        time.sleep(max(0.0, (first - datetime.now(UTC)).total_seconds() - 3))  # plan in
        proxy.silence()
        time.sleep(75)  # six slots, and longer than the broker's 1.5 x keepalive
        proxy.restore()
        ids = [r["id"] for r in api.get("/playbacks", params={"limit": 100}).json()["items"]]
        rows = wait_status(api, ids, FINAL, timeout=120)
        assert [(r["status"], r["reason"]) for r in rows] == [
            ("played", "played to the end")] * 6, rows
        late = [r for r in rows if abs((datetime.fromisoformat(str(r["started_at"]))
                                        - datetime.fromisoformat(str(r["scheduled_at"])))
                                       .total_seconds()) > 0.25]
        assert not late, late  # played on time, from its own plan, through the silence
        agent = Counter(_key(e) for e in _agent_log(tmp_path / "agents" / f"state-{st['id']}"))
        ledger = Counter(_key(e) for e in _ledger_events(api, ids))
        assert agent == ledger and ledger.total() == 6 * 4, (agent - ledger, ledger - agent)
