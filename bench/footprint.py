"""Benchmark 6: the agent's idle footprint beside a bare paho client.

    python -m bench.footprint [--seconds 30] [--quick]

A real stack (Mosquitto, PostgreSQL, ``wardcast serve``) and two stations. One runs
``wardcast agent --output null`` (connected, plan synced, clock measured, idle); the other's
login is used by the baseline: a bare paho client in its own Python process, connected and
subscribed to the same three topics, doing nothing else. After a settling pause both are
sampled for ``--seconds``: resident memory (VmRSS; max over the samples) and CPU time used.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.harness import print_figures, stack, workdir
from tests.support.procs import Proc, wait_for
from tests.support.server import wardcast
from wardcast.protocol import AGENT_SUBSCRIBES, station_topic

RSS_TARGET_MB = 60.0
SETTLE_S = 5.0
# The baseline: nothing but paho, as small as a Python MQTT client gets.
BARE_CLIENT = """
import sys
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
host, port, station, token, *topics = sys.argv[1:]
client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=station, clean_session=False,
                     protocol=mqtt.MQTTv311)
client.username_pw_set(station, token)
client.on_connect = lambda c, *_: c.subscribe([(t, 1) for t in topics])
client.connect(host, int(port), keepalive=30)
client.loop_forever()
"""


@dataclass(frozen=True)
class Footprint:
    rss_mb: float
    cpu_percent: float


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.footprint", description=__doc__)
    parser.add_argument("--seconds", type=float, default=30.0, help="sampling time (30)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 5 s of sampling")
    args = parser.parse_args(argv)
    seconds = 5.0 if args.quick and args.seconds == 30.0 else args.seconds
    work = workdir("footprint")
    with stack(work) as running:
        api = running.api()
        agent_st, bare_st = (api.post("/stations", json={"name": f"Trạm đo {n}",
                                                         "ward": "Đo đạc"}).json()
                             for n in (1, 2))
        agent = Proc(wardcast("agent", "--server", running.server.base, "--station",
                              str(agent_st["id"]), "--token", agent_st["token"],
                              "--mqtt", running.mqtt_url, "--output", "null",
                              "--state-dir", str(work / "agent")), log=work / "agent.log")
        topics = [station_topic(str(bare_st["id"]), c) for c in AGENT_SUBSCRIBES]
        bare = Proc([sys.executable, "-c", BARE_CLIENT, "127.0.0.1",
                     str(running.mqtt_port), str(bare_st["id"]), bare_st["token"], *topics],
                    log=work / "bare.log")
        try:
            agent.start()
            bare.start()
            wait_for(lambda: _online(api, agent_st["id"]), timeout=60, what="the agent")
            time.sleep(SETTLE_S)
            agent_fp, bare_fp = sample([_pid(agent), _pid(bare)], seconds)
        finally:
            agent.stop()
            bare.stop()
    print_figures(f"Benchmark 6 — idle footprint over {seconds:.0f} s", [
        ("wardcast agent: RSS / CPU", f"{agent_fp.rss_mb:.1f} MB / {agent_fp.cpu_percent:.2f} %"),
        ("baseline: bare paho client: RSS / CPU",
         f"{bare_fp.rss_mb:.1f} MB / {bare_fp.cpu_percent:.2f} %"),
        ("ratio RSS (agent / bare)", f"{agent_fp.rss_mb / bare_fp.rss_mb:.1f}×"),
        (f"agent RSS under {RSS_TARGET_MB:.0f} MB", "yes" if agent_fp.rss_mb < RSS_TARGET_MB
         else "NO"),
    ])
    return 0 if agent_fp.rss_mb < RSS_TARGET_MB else 1


def sample(pids: list[int], seconds: float) -> list[Footprint]:
    """Sample each process's RSS (max) and CPU share over a period."""
    start = [_cpu_s(pid) for pid in pids]
    began = time.monotonic()
    peak = [0.0 for _ in pids]
    while time.monotonic() - began < seconds:
        peak = [max(p, _rss_mb(pid)) for p, pid in zip(peak, pids, strict=True)]
        time.sleep(0.5)
    wall = time.monotonic() - began
    return [Footprint(rss, 100 * (_cpu_s(pid) - cpu) / wall)
            for rss, pid, cpu in zip(peak, pids, start, strict=True)]


def _online(api: httpx.Client, station_id: int) -> bool:
    return bool(api.get(f"/stations/{station_id}").json()["online"])


def _pid(proc: Proc) -> int:
    assert proc.popen is not None and proc.running, proc.output()[-2000:]
    return proc.popen.pid


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    sys.exit(main())
