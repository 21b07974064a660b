"""TLS end to end: Mosquitto on mqtts, `wardcast serve` on HTTPS, a real agent with --ca-file.

Certificates come from deploy/certs/make-certs.sh, as in the Compose deployment. One broker
and one scheduler serve the module; an agent trusting that CA plays a bulletin, an agent
trusting another CA (a second make-certs.sh run) gets nowhere and says why.
"""

from __future__ import annotations

import shlex
import ssl
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml

from tests.support.audio import wav_duration_ms
from tests.support.mosquitto import Mosquitto
from tests.support.procs import Proc, wait_for
from tests.support.server import ADMIN, Server, approve, wait_status, wardcast
from wardcast.protocol import to_wire

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
MAKE_CERTS = REPO / "deploy" / "certs" / "make-certs.sh"


def make_certs(directory: Path) -> Path:
    subprocess.run(["sh", str(MAKE_CERTS), "-d", str(directory)], check=True,
                   capture_output=True, timeout=60)
    return directory


class TlsServer(Server):
    """`wardcast serve --ssl-certfile/--ssl-keyfile`, talked to over verified HTTPS."""

    certs: Path

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.port}"  # an IP subjectAltName

    def start(self) -> TlsServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc = Proc(wardcast("serve", "--port", str(self.port), "--ssl-certfile",
                                  str(self.certs / "scheduler.crt"), "--ssl-keyfile",
                                  str(self.certs / "scheduler.key")),
                         log=self.workdir / "server.log", env=self.env).start()
        wait_for(self.healthy, timeout=60, what="the scheduler to be healthy over HTTPS")
        return self

    @property
    def verify(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.certs / "ca.crt"))

    def healthy(self) -> bool:
        if self.proc and not self.proc.running:
            raise AssertionError("server exited:\n" + self.proc.output()[-4000:])
        try:
            return httpx.get(f"{self.base}/healthz", timeout=1,
                             verify=self.verify).status_code == 200
        except httpx.HTTPError:
            return False

    def api(self) -> httpx.Client:
        if not self.token:
            answer = httpx.post(f"{self.base}/api/v1/auth/token", verify=self.verify,
                                data={"username": ADMIN[0], "password": ADMIN[1]})
            answer.raise_for_status()
            self.token = answer.json()["access_token"]
        return httpx.Client(base_url=f"{self.base}/api/v1", timeout=120, verify=self.verify,
                            headers={"Authorization": f"Bearer {self.token}"})


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory, certs: Path) -> Iterator[Mosquitto]:
    running = Mosquitto(tmp_path_factory.mktemp("mosquitto"), tls_certs=certs).setup().start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, certs: Path,
           broker: Mosquitto) -> Iterator[TlsServer]:
    assert broker.url.startswith("mqtts://")
    running = TlsServer(tmp_path_factory.mktemp("server"))
    running.certs = certs
    running.setup(external_mqtt_url=broker.url, mqtt_ca_file=str(certs / "ca.crt"),
                  missed_grace_s="3", watchdog_interval_s="0.5")
    running.start()
    yield running
    running.stop()


def start_agent(server: TlsServer, broker: Mosquitto, workdir: Path, *, station: int,
                token: str, ca_file: Path) -> tuple[Proc, Path]:
    played = workdir / "played"
    played.mkdir(parents=True)
    # The broker by its DNS name (localhost), the scheduler by its IP: both SAN kinds.
    proc = Proc(wardcast("agent", "--server", server.base, "--station", str(station),
                         "--token", token, "--mqtt", f"mqtts://localhost:{broker.port}",
                         "--ca-file", str(ca_file), "--output", f"file:{played}",
                         "--state-dir", str(workdir / "state")),
                log=workdir / "agent.log").start()
    return proc, played


def _online(api: httpx.Client, station_id: int) -> bool:
    return bool(api.get(f"/stations/{station_id}").json()["online"])


def test_bulletin_plays_over_https_and_mqtts(server: TlsServer, broker: Mosquitto,
                                             tmp_path: Path, speech_mp3: Path) -> None:
    api = server.api()
    with speech_mp3.open("rb") as handle:
        bulletin = api.post("/bulletins", files={"file": (speech_mp3.name, handle)},
                            data={"title": "Thông báo qua TLS", "language": "vi"}).json()
    approve(api, bulletin["id"])
    station = api.post("/stations", json={"name": "Phường TLS", "ward": "TLS"}).json()
    agent, played = start_agent(server, broker, tmp_path, station=station["id"],
                                token=station["token"], ca_file=server.certs / "ca.crt")
    try:
        wait_for(lambda: _online(api, station["id"]), timeout=30, what="the agent online")
        at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=4)
        answer = api.post("/timetables", json={"bulletin_id": bulletin["id"],
                                               "station_ids": [station["id"]],
                                               "starts_at": to_wire(at), "priority": "normal"})
        assert answer.status_code == 201, answer.text
        ids = [r["id"] for r in api.get("/playbacks", params={"limit": 100}).json()["items"]
               if r["station_id"] == station["id"]]
        assert len(ids) == 1
        rows = wait_status(api, ids, {"played", "failed", "missed", "interrupted", "skipped"},
                           timeout=45)
        assert rows[0]["status"] == "played", rows
        wavs = list(played.glob("*.wav"))
        assert len(wavs) == 1, wavs
        assert abs(wav_duration_ms(wavs[0]) - int(bulletin["duration_ms"])) <= 50
    finally:
        agent.stop()
    log = agent.output()
    assert "connecting to mqtts://localhost:" in log, log
    assert "certificate verify failed" not in log, log


def test_agent_with_another_ca_refuses_both_servers(server: TlsServer, broker: Mosquitto,
                                                   tmp_path: Path) -> None:
    api = server.api()
    station = api.post("/stations", json={"name": "Phường lạ", "ward": "Lạ"}).json()
    other = make_certs(tmp_path / "other-ca")
    agent, _ = start_agent(server, broker, tmp_path, station=station["id"],
                           token=station["token"], ca_file=other / "ca.crt")
    try:
        def refused_twice() -> bool:
            log = agent.output()
            return ("broker mqtts://localhost:" in log and "scheduler's TLS certificate" in log)

        wait_for(refused_twice, timeout=20, what="the agent to report both TLS refusals")
        assert agent.running, "the agent keeps retrying rather than exiting"
        assert not _online(api, station["id"])
    finally:
        agent.stop()
    log = agent.output()
    assert log.count("certificate verify failed") >= 2, log
    assert "connected to the broker" not in log, log


def test_compose_scheduler_healthcheck_works_over_https(server: TlsServer) -> None:
    """docker-compose.yml's scheduler healthcheck, pointed at this server and CA."""
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    test = compose["services"]["scheduler"]["healthcheck"]["test"]
    assert test[:2] == ["CMD", "python"]
    code = test[3].replace("https://localhost:8000", f"https://localhost:{server.port}")
    code = code.replace("/tls/ca.crt", str(server.certs / "ca.crt"))
    ok = subprocess.run(["python3", "-c", code], capture_output=True, text=True, timeout=20)
    assert ok.returncode == 0, ok.stderr
    other = make_certs(server.workdir / "other-ca")
    bad = subprocess.run(["python3", "-c", code.replace(str(server.certs), str(other))],
                         capture_output=True, text=True, timeout=20)
    assert bad.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in bad.stderr, shlex.join(
        ["python3", "-c", code])
