"""A real Mosquitto broker for tests, with the dynamic-security plugin as deploy/ ships it."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.procs import Proc, free_port, port_open, wait_for
from wardcast.protocol import MAX_PAYLOAD_BYTES

DYNSEC_PLUGIN_PATHS = (
    "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so",
    "/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so",
    "/usr/lib/mosquitto_dynamic_security.so",
)


def dynsec_plugin() -> str:
    """Return the path of the dynamic-security plugin shipped with Debian's mosquitto."""
    for candidate in DYNSEC_PLUGIN_PATHS:
        if Path(candidate).exists():
            return candidate
    raise RuntimeError("mosquitto_dynamic_security.so not found: apt-get install mosquitto")


@dataclass
class Mosquitto:
    """One broker process on a free loopback port, its admin login and its files."""

    workdir: Path
    admin_user: str = "wardcast-scheduler"
    admin_password: str = "scheduler-test-secret"
    port: int = 0
    proc: Proc | None = None
    # Optional: a directory made by deploy/certs/make-certs.sh. The listener then speaks only
    # TLS (ca.crt, mosquitto.crt, mosquitto.key), and the URLs are mqtts://.
    tls_certs: Path | None = None

    @property
    def scheme(self) -> str:
        return "mqtts" if self.tls_certs else "mqtt"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.admin_user}:{self.admin_password}@127.0.0.1:{self.port}"

    @property
    def plain_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> Path | None:
        return self.tls_certs / "ca.crt" if self.tls_certs else None

    def setup(self) -> Mosquitto:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        dynsec = self.workdir / "dynamic-security.json"
        if not dynsec.exists():
            subprocess.run(
                ["mosquitto_ctrl", "dynsec", "init", str(dynsec), self.admin_user,
                 self.admin_password],
                check=True, capture_output=True,
            )
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(
            "user root\n"
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous false\n"
            "persistence true\n"
            f"persistence_location {self.workdir}/\n"
            "autosave_interval 1\n"
            "max_queued_messages 100000\n"
            "max_inflight_messages 0\n"
            f"max_packet_size {MAX_PAYLOAD_BYTES + 4096}\n"  # as deploy/mosquitto/mosquitto.conf
            f"plugin {dynsec_plugin()}\n"
            f"plugin_opt_config_file {dynsec}\n"
        )
        if self.tls_certs:
            with conf.open("a") as handle:
                handle.write(f"cafile {self.tls_certs / 'ca.crt'}\n"
                             f"certfile {self.tls_certs / 'mosquitto.crt'}\n"
                             f"keyfile {self.tls_certs / 'mosquitto.key'}\n")
        return self

    def start(self) -> Mosquitto:
        assert shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists()
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.proc = Proc([binary, "-c", str(self.workdir / "mosquitto.conf")],
                         log=self.workdir / "mosquitto.log").start()
        wait_for(lambda: port_open(self.port), timeout=10, what="mosquitto to listen")
        return self

    def stop(self) -> None:
        if self.proc:
            self.proc.stop()

    def kill(self) -> None:
        if self.proc:
            self.proc.kill()

    def ctrl(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run mosquitto_ctrl dynsec as the admin."""
        # With TLS, by the name "localhost", which the test certificates carry.
        server = (("-h", "localhost", "--cafile", str(self.ca_file)) if self.ca_file
                  else ("-h", "127.0.0.1"))
        return subprocess.run(
            ["mosquitto_ctrl", *server, "-p", str(self.port), "-u", self.admin_user,
             "-P", self.admin_password, "dynsec", *args],
            capture_output=True, text=True, timeout=10,
        )
