"""docker-compose.yml, Dockerfile and deploy/mosquitto, checked without a Docker engine.

The compose file is validated against the Compose Specification JSON schema (vendored, see
tests/deploy/README.md); the broker configuration is run in a real mosquitto with its
container paths rewritten to a temporary directory.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.support.mosquitto import dynsec_plugin
from tests.support.procs import Proc, free_port, port_open, wait_for
from wardcast.protocol import AGENT_PUBLISHES, MAX_PAYLOAD_BYTES, station_topic

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
ENV_EXAMPLE = REPO / "deploy" / ".env.example"
MOSQUITTO_CONF = REPO / "deploy" / "mosquitto" / "mosquitto.conf"
INIT_DYNSEC = REPO / "deploy" / "mosquitto" / "init-dynsec.sh"
MAKE_CERTS = REPO / "deploy" / "certs" / "make-certs.sh"
INSTALL_CERTS = REPO / "deploy" / "certs" / "install-certs.sh"
SCHEMA_FILE = Path(__file__).with_name("compose-spec.json")

IMAGE_PLUGIN = "/usr/lib/mosquitto_dynamic_security.so"
DATA_DIR = "/mosquitto/data/"
CERTS_DIR = "/mosquitto/certs/"
ADMIN_USER = "wardcast-scheduler"
SECRETS = {"POSTGRES_PASSWORD": "pg-secret-0123", "MQTT_ADMIN_PASSWORD": "mqtt-secret-4567"}


# --- Compose variable interpolation (the subset of the spec the file uses) ----------------------

_VAR = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^}]*)\}|(?P<named>[A-Za-z_][A-Za-z0-9_]*))")
_BRACED = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>.*))?$", re.S)


class MissingVariable(Exception):
    """A `${VAR:?message}` whose variable is unset or empty."""


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Substitute variables as `docker compose` does; `$$` becomes `$`."""

    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        if match["named"]:
            return env.get(match["named"], "")
        braced = _BRACED.match(match["braced"])
        assert braced, f"unsupported interpolation ${{{match['braced']}}}"
        name, op, arg = braced["name"], braced["op"], braced["arg"] or ""
        current = env.get(name)
        unset = current is None or (op is not None and op.startswith(":") and current == "")
        if op in (":-", "-"):
            return arg if unset else str(current)
        if op in (":?", "?"):
            if unset:
                raise MissingVariable(f"{name}: {arg}")
            return str(current)
        return current or ""

    return _VAR.sub(replace, value)


def interpolate_tree(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [interpolate_tree(item, env) for item in node]
    if isinstance(node, dict):
        return {key: interpolate_tree(item, env) for key, item in node.items()}
    return node


def variables_used(node: Any) -> set[str]:
    """Names compose substitutes anywhere in the (YAML-parsed, so comment-free) file."""
    if isinstance(node, list):
        return set().union(*map(variables_used, node)) if node else set()
    if isinstance(node, dict):
        return variables_used(list(node.values()))
    if not isinstance(node, str):
        return set()
    names = set()
    for match in _VAR.finditer(node):
        if match["braced"]:
            braced = _BRACED.match(match["braced"])
            assert braced
            names.add(braced["name"])
        elif match["named"]:
            names.add(match["named"])
    return names


def env_example() -> dict[str, str]:
    """Variables named in deploy/.env.example (commented ones too), with their values."""
    found = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.match(r"^#?([A-Z][A-Z0-9_]*)=(.*)$", line.strip())
        if match:
            found[match[1]] = match[2]
    return found


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def compose(raw: dict[str, Any]) -> dict[str, Any]:
    """The compose model as `docker compose config` would see it with the secrets set."""
    env = {k: v for k, v in env_example().items() if v}
    env.update(SECRETS)
    result = interpolate_tree(raw, env)
    assert isinstance(result, dict)
    return result


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result = compose["services"]
    assert isinstance(result, dict)
    return result


def as_env(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment", {})
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {str(k): str(v) for k, v in environment.items()}


# --- The compose file --------------------------------------------------------------------------

def test_schema_is_a_valid_json_schema() -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    assert schema["$schema"].startswith("http://json-schema.org/draft/2019-09/")
    jsonschema.Draft201909Validator.check_schema(schema)
    assert schema["title"] == "Compose Specification"


@pytest.mark.parametrize("interpolated", [False, True], ids=["raw", "interpolated"])
def test_compose_file_matches_the_compose_specification(
        raw: dict[str, Any], compose: dict[str, Any], interpolated: bool) -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    # Its $schema is spelt "http://…/draft/2019-09/schema#", which jsonschema does not
    # recognise by itself: name the draft explicitly.
    validator = jsonschema.Draft201909Validator(schema)
    errors = sorted(validator.iter_errors(compose if interpolated else raw), key=str)
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


def test_schema_catches_mistakes(compose: dict[str, Any]) -> None:
    """The schema is strict enough to matter: a typo in a service key fails."""
    schema = json.loads(SCHEMA_FILE.read_text())
    broken = json.loads(json.dumps(compose))
    broken["services"]["scheduler"]["depends"] = broken["services"]["scheduler"].pop("depends_on")
    errors = list(jsonschema.Draft201909Validator(schema).iter_errors(broken))
    assert any("depends" in error.message for error in errors), errors


def test_required_secrets_stop_compose_with_a_message(raw: dict[str, Any]) -> None:
    for missing in SECRETS:
        env = {k: v for k, v in SECRETS.items() if k != missing}
        with pytest.raises(MissingVariable, match=rf"{missing}: set {missing} in \.env"):
            interpolate_tree(raw, env)
    # Without the demo variables the stack still starts (the demo agent checks them itself).
    interpolate_tree(raw, SECRETS)


def test_every_variable_is_documented_in_env_example(raw: dict[str, Any]) -> None:
    # $$NAME is for the container's shell, not for compose: variables_used skips it.
    used = variables_used(raw)
    assert "POSTGRES_PASSWORD" in used
    documented = set(env_example())
    assert used - documented == set()
    assert set(SECRETS) <= documented
    assert not any(env_example()[name] for name in SECRETS), "no real secret in the example"


def test_mounted_files_and_build_context_exist(compose: dict[str, Any]) -> None:
    mounts = []
    for name, service in services(compose).items():
        for volume in service.get("volumes", []):
            source = volume["source"] if isinstance(volume, dict) else volume.split(":")[0]
            if source.startswith((".", "/")):
                mounts.append((name, source))
            else:
                assert source in compose.get("volumes", {}), f"{name}: undeclared volume {source}"
        build = service.get("build")
        if build is not None:
            context = build if isinstance(build, str) else build.get("context", ".")
            dockerfile = "Dockerfile" if isinstance(build, str) else build.get(
                "dockerfile", "Dockerfile")
            assert (REPO / context / dockerfile).is_file(), f"{name}: no {dockerfile}"
    assert mounts, "expected the broker config and init script to be mounted"
    for name, source in mounts:
        assert not source.startswith("/"), f"{name}: absolute host path {source}"
        assert (REPO / source).exists(), f"{name}: {source} does not exist"


def _pinned(image: str) -> bool:
    name, _, tag = image.rpartition(":")
    return bool(name) and "/" not in tag and tag != "latest" and bool(re.match(r"\d+\.\d+", tag))


def test_images_are_pinned(compose: dict[str, Any]) -> None:
    for name, service in services(compose).items():
        image = service.get("image")
        assert image or service.get("build"), name
        if image:
            assert _pinned(image), f"{name}: image {image!r} is not pinned to a version tag"
    bases = re.findall(r"^FROM\s+(\S+)", DOCKERFILE.read_text(), re.M)
    assert bases, "Dockerfile has no FROM"
    for base in bases:
        assert _pinned(base), f"Dockerfile: base image {base!r} is not pinned"
        assert base.startswith("python:3.11") and base.endswith("-slim-bookworm")


def test_dependencies_wait_for_health(compose: dict[str, Any]) -> None:
    svc = services(compose)
    for name, service in svc.items():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions"
        for dependency, spec in depends.items():
            condition = spec["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in svc[dependency], f"{dependency} has no healthcheck"
            if condition == "service_completed_successfully":
                assert svc[dependency].get("restart") == "no"
    assert svc["scheduler"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "mosquitto": {"condition": "service_healthy"},
        "certs-init": {"condition": "service_completed_successfully"},
    }
    assert svc["mosquitto"]["depends_on"] == {
        "mosquitto-init": {"condition": "service_completed_successfully"},
        "certs-init": {"condition": "service_completed_successfully"}}
    assert "/healthz" in " ".join(svc["scheduler"]["healthcheck"]["test"])
    assert "pg_isready" in " ".join(svc["postgres"]["healthcheck"]["test"])
    assert svc["postgres"]["image"].startswith("postgres:15.")
    assert svc["postgres"]["image"].endswith("-bookworm")
    assert svc["mosquitto"]["image"] == "eclipse-mosquitto:2.0.18"


def test_scheduler_settings_are_accepted(compose: dict[str, Any],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from scheduler.config import Settings

    svc = services(compose)
    env = as_env(svc["scheduler"])
    for key in list(os.environ):
        if key.startswith("WARDCAST_"):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.broker == "external"
    assert settings.sqlalchemy_url == (
        f"postgresql+psycopg://wardcast:{SECRETS['POSTGRES_PASSWORD']}@postgres:5432/wardcast")
    assert (settings.mqtt_host, settings.mqtt_port) == ("mosquitto", 8883)
    assert settings.mqtt_tls and settings.mqtt_url.startswith("mqtts://")
    assert str(settings.mqtt_ca_file) == "/tls/ca.crt"
    assert settings.mqtt_username == ADMIN_USER == as_env(svc["mosquitto-init"])["MQTT_ADMIN_USER"]
    assert settings.mqtt_password == SECRETS["MQTT_ADMIN_PASSWORD"]
    assert str(settings.data_dir) == "/data"
    assert "wardcast-data:/data" in svc["scheduler"]["volumes"]
    assert "tls-scheduler:/tls:ro" in svc["scheduler"]["volumes"]
    assert svc["scheduler"]["command"] == [
        "wardcast", "serve", "--host", "0.0.0.0", "--port", "8000",
        "--ssl-certfile", "/tls/scheduler.crt", "--ssl-keyfile", "/tls/scheduler.key"]
    from wardcast.cli import build_parser

    parsed = build_parser().parse_args(svc["scheduler"]["command"][1:])
    assert (parsed.ssl_certfile, parsed.ssl_keyfile) == ("/tls/scheduler.crt",
                                                         "/tls/scheduler.key")
    assert any(str(p).endswith(":8000") for p in svc["scheduler"]["ports"])
    health = " ".join(svc["scheduler"]["healthcheck"]["test"])
    assert "https://localhost:8000/healthz" in health and "cafile='/tls/ca.crt'" in health


def test_dockerfile() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"apt-get install -y --no-install-recommends ffmpeg", text)
    assert 'pip install ".[postgres]"' in text
    assert "ENV" in text and "WARDCAST_DATA_DIR=/data" in text
    assert 'VOLUME ["/data"]' in text
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and not users[-1].startswith(("root", "0")), "the image must not run as root"
    cmd = re.findall(r"^CMD\s+(.+)$", text, re.M)
    assert json.loads(cmd[-1]) == ["wardcast", "serve", "--host", "0.0.0.0", "--port", "8000"]
    # Everything COPY'd exists.
    for line in re.findall(r"^COPY\s+(.+)$", text, re.M):
        for source in line.split()[:-1]:
            assert (REPO / source).exists(), source
    ignored = (REPO / ".dockerignore").read_text().split()
    assert ".env" in ignored and ".git" in ignored and ".venv" in ignored


def test_demo_agent_command(compose: dict[str, Any], tmp_path: Path) -> None:
    """Run the demo agent's shell command with a stand-in `wardcast`; parse what it gets."""
    from wardcast.cli import build_parser

    agent = services(compose)["demo-agent"]
    assert agent["profiles"] == ["demo"], "the demo agent must not start by default"
    argv = agent["command"]
    assert argv[:2] == ["sh", "-c"]
    fake = tmp_path / "bin" / "wardcast"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$ARGS_OUT"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    out = tmp_path / "args"
    base = {"PATH": f"{fake.parent}:{os.environ['PATH']}", "ARGS_OUT": str(out)}

    missing = subprocess.run(argv, env={**base, "DEMO_STATION_ID": "", "WARDCAST_AGENT_TOKEN": ""},
                             capture_output=True, text=True, timeout=10)
    assert missing.returncode == 2
    assert "DEMO_STATION_ID" in missing.stderr and not out.exists()

    env = {**as_env(agent), "DEMO_STATION_ID": "7", "WARDCAST_AGENT_TOKEN": "tok"}
    done = subprocess.run(argv, env={**base, **env}, capture_output=True, text=True, timeout=10)
    assert done.returncode == 0, done.stderr
    args = out.read_text().splitlines()
    assert args == ["agent", "--server", "https://scheduler:8000", "--station", "7", "--mqtt",
                    "mqtts://mosquitto:8883", "--ca-file", "/tls/ca.crt",
                    "--output", "file:/played", "--state-dir", "/state"]
    parsed = build_parser().parse_args(args)
    assert parsed.station == "7" and parsed.output == "file:/played"
    assert str(parsed.ca_file) == "/tls/ca.crt"
    volumes = agent["volumes"]
    assert "demo-agent-state:/state" in volumes and "demo-agent-played:/played" in volumes
    assert "tls-ca:/tls:ro" in volumes


# --- The broker configuration ------------------------------------------------------------------

def conf_options(text: str) -> dict[str, list[str]]:
    options: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition(" ")
            options.setdefault(key, []).append(value.strip())
    return options


def test_mosquitto_conf_settings(compose: dict[str, Any]) -> None:
    text = MOSQUITTO_CONF.read_text()
    opts = conf_options(text)
    assert opts["allow_anonymous"] == ["false"]
    assert opts["persistence"] == ["true"]
    assert opts["persistence_location"] == [DATA_DIR]
    assert 0 < int(opts["autosave_interval"][0]) <= 300
    assert int(opts["max_queued_messages"][0]) >= 5000
    assert int(opts["max_queued_bytes"][0]) > 0
    assert opts["persistent_client_expiration"] == ["14d"]
    assert int(opts["max_inflight_messages"][0]) > 0
    # the protocol's largest message passes, a runaway one does not (issue 14)
    assert MAX_PAYLOAD_BYTES < int(opts["max_packet_size"][0]) <= MAX_PAYLOAD_BYTES + 8192
    # TLS only: no plain listener (see the comment in mosquitto.conf).
    assert opts["listener"] == ["8883"]
    assert opts["cafile"] == [f"{CERTS_DIR}ca.crt"]
    assert opts["certfile"] == [f"{CERTS_DIR}mosquitto.crt"]
    assert opts["keyfile"] == [f"{CERTS_DIR}mosquitto.key"]
    assert opts["tls_version"] == ["tlsv1.2"]
    assert opts["plugin"] == [IMAGE_PLUGIN]
    dynsec_file = opts["plugin_opt_config_file"][0]
    assert dynsec_file.startswith(DATA_DIR)
    svc = services(compose)
    assert f"tls-mosquitto:{CERTS_DIR.rstrip('/')}:ro" in svc["mosquitto"]["volumes"]
    assert not any(str(port).endswith(":1883") for port in svc["mosquitto"]["ports"])
    assert [str(port) for port in svc["mosquitto"]["ports"]] == ["8883:8883"]
    assert "./deploy/mosquitto/mosquitto.conf:/mosquitto/config/mosquitto.conf:ro" in (
        svc["mosquitto"]["volumes"])
    for name in ("mosquitto", "mosquitto-init"):
        assert "mosquitto-data:/mosquitto/data" in svc[name]["volumes"]
    assert as_env(svc["mosquitto-init"])["DYNSEC_FILE"] == dynsec_file
    assert os.access(INIT_DYNSEC, os.X_OK)


def test_init_dynsec_script(tmp_path: Path) -> None:
    target = tmp_path / "data" / "dynamic-security.json"
    env = {"PATH": os.environ["PATH"], "DYNSEC_FILE": str(target)}
    refused = subprocess.run(["sh", str(INIT_DYNSEC)], env=env, capture_output=True, text=True,
                             timeout=10)
    assert refused.returncode == 2 and "MQTT_ADMIN_PASSWORD" in refused.stderr
    assert not target.exists()

    env["MQTT_ADMIN_PASSWORD"] = SECRETS["MQTT_ADMIN_PASSWORD"]
    first = subprocess.run(["sh", str(INIT_DYNSEC)], env=env, capture_output=True, text=True,
                           timeout=10)
    assert first.returncode == 0, first.stderr
    content = target.read_text()
    clients = json.loads(content)["clients"]
    assert [c["username"] for c in clients] == [ADMIN_USER]
    assert SECRETS["MQTT_ADMIN_PASSWORD"] not in content
    assert stat.S_IMODE(target.stat().st_mode) == 0o600

    env["MQTT_ADMIN_PASSWORD"] = "another"
    again = subprocess.run(["sh", str(INIT_DYNSEC)], env=env, capture_output=True, text=True,
                           timeout=10)
    assert again.returncode == 0 and "exists" in again.stdout
    assert target.read_text() == content


# --- TLS files: make-certs.sh, then install-certs.sh (what certs-init runs) ---------------------

def make_certs(directory: Path, *names: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(MAKE_CERTS), "-d", str(directory), *names],
                          env={"PATH": os.environ["PATH"], **env}, capture_output=True,
                          text=True, timeout=60)


def cert_names(cert: Path) -> list[str]:
    text = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-ext",
                           "subjectAltName"], capture_output=True, text=True, check=True).stdout
    return [name.strip() for name in text.splitlines()[1].split(",")]


def install_certs(src: Path, out: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(INSTALL_CERTS)], capture_output=True, text=True, timeout=10,
        env={"PATH": os.environ["PATH"], "CERTS_SRC": str(src), "CA_OUT": str(out / "ca"),
             "MOSQUITTO_OUT": str(out / "mosquitto"), "SCHEDULER_OUT": str(out / "scheduler"),
             "MOSQUITTO_UID": str(os.getuid()), "SCHEDULER_UID": str(os.getuid()), **env})


CERT_FILES = {"ca.crt", "ca.key", "scheduler.crt", "scheduler.key", "mosquitto.crt",
              "mosquitto.key"}


def test_make_certs_script(tmp_path: Path) -> None:
    out = tmp_path / "certs"
    first = make_certs(out)
    assert first.returncode == 0, first.stderr
    assert {p.name for p in out.iterdir()} == CERT_FILES, "no stray files (csr, ext, srl)"
    for key in out.glob("*.key"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
    for cert in out.glob("*.crt"):
        assert stat.S_IMODE(cert.stat().st_mode) == 0o644, cert
    defaults = ["DNS:localhost", "IP Address:127.0.0.1", "DNS:scheduler", "DNS:mosquitto"]
    for service in ("scheduler", "mosquitto"):
        assert cert_names(out / f"{service}.crt") == defaults
        verify = subprocess.run(["openssl", "verify", "-purpose", "sslserver", "-CAfile",
                                 str(out / "ca.crt"), str(out / f"{service}.crt")],
                                capture_output=True, text=True)
        assert verify.returncode == 0, verify.stdout + verify.stderr
    # Idempotent: nothing changes on a second run.
    contents = {p.name: p.read_bytes() for p in out.iterdir()}
    again = make_certs(out)
    assert again.returncode == 0 and "kept" in again.stdout, again.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == contents
    # A new name: same CA and keys, server certificates issued again with it.
    more = make_certs(out, "wardcast.example.vn", "203.0.113.10")
    assert more.returncode == 0, more.stderr
    assert (out / "ca.crt").read_bytes() == contents["ca.crt"]
    assert (out / "scheduler.key").read_bytes() == contents["scheduler.key"]
    assert (out / "scheduler.crt").read_bytes() != contents["scheduler.crt"]
    assert cert_names(out / "mosquitto.crt") == [
        *defaults, "DNS:wardcast.example.vn", "IP Address:203.0.113.10"]
    # CERT_NAMES replaces the defaults.
    only = make_certs(tmp_path / "only", "broker.example.vn", CERT_NAMES="")
    assert only.returncode == 0, only.stderr
    assert cert_names(tmp_path / "only" / "scheduler.crt") == ["DNS:broker.example.vn"]
    assert make_certs(tmp_path / "bad", "no thing;rm").returncode == 2


def test_install_certs_script(tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    missing = install_certs(src, out)
    assert missing.returncode == 2 and "make-certs.sh" in missing.stderr
    assert make_certs(src).returncode == 0
    done = install_certs(src, out)
    assert done.returncode == 0, done.stderr
    installed = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert installed == {"ca/ca.crt", "mosquitto/ca.crt", "mosquitto/mosquitto.crt",
                         "mosquitto/mosquitto.key", "scheduler/ca.crt", "scheduler/scheduler.crt",
                         "scheduler/scheduler.key"}, "never the CA key"
    for key in out.rglob("*.key"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert key.read_bytes() == (src / key.name).read_bytes()
    if os.getuid() == 0:  # as root (the container), each key goes to its service's user
        assert install_certs(src, out, MOSQUITTO_UID="1883", SCHEDULER_UID="10001"
                             ).returncode == 0
        assert (out / "mosquitto" / "mosquitto.key").stat().st_uid == 1883
        assert (out / "scheduler" / "scheduler.key").stat().st_uid == 10001
        assert (out / "ca" / "ca.crt").stat().st_uid == 0


def test_tls_files_mounted_where_the_services_look(compose: dict[str, Any]) -> None:
    """Every TLS path a service is given is a file certs-init puts into the mounted volume."""
    svc = services(compose)
    init = svc["certs-init"]
    assert init["restart"] == "no" and init["image"] == svc["mosquitto"]["image"]
    assert "./deploy/certs:/certs-src:ro" in init["volumes"]
    assert "./deploy/certs/install-certs.sh:/install-certs.sh:ro" in init["volumes"]
    assert as_env(init)["SCHEDULER_UID"] == "10001"
    assert "--uid 10001" in DOCKERFILE.read_text()
    assert os.access(MAKE_CERTS, os.X_OK) and os.access(INSTALL_CERTS, os.X_OK)
    outputs = {"tls-ca": {"ca.crt"}, "tls-mosquitto": {"ca.crt", "mosquitto.crt",
                                                      "mosquitto.key"},
               "tls-scheduler": {"ca.crt", "scheduler.crt", "scheduler.key"}}
    targets = {"/out/ca": "tls-ca", "/out/mosquitto": "tls-mosquitto",
               "/out/scheduler": "tls-scheduler"}
    for volume, target in targets.items():
        assert f"{target}:{volume}" in init["volumes"]

    def files_seen_by(service: str) -> set[str]:
        found = set()
        for volume in svc[service]["volumes"]:
            source, target, *_ = volume.split(":")
            if source in outputs:
                found |= {f"{target}/{name}" for name in outputs[source]}
        return found

    opts = conf_options(MOSQUITTO_CONF.read_text())
    assert {opts["cafile"][0], opts["certfile"][0], opts["keyfile"][0]} <= files_seen_by(
        "mosquitto")
    command = svc["scheduler"]["command"]
    scheduler_files = {command[command.index("--ssl-certfile") + 1],
                       command[command.index("--ssl-keyfile") + 1],
                       as_env(svc["scheduler"])["WARDCAST_MQTT_CA_FILE"]}
    assert scheduler_files <= files_seen_by("scheduler")
    assert files_seen_by("demo-agent") == {"/tls/ca.crt"}, "the agent gets no private key"
    for service in ("scheduler", "mosquitto", "demo-agent"):
        volumes = [v for v in svc[service]["volumes"] if v.split(":")[0] in outputs]
        assert all(v.endswith(":ro") for v in volumes), service


# --- The broker, run with the production configuration ------------------------------------------

@dataclass
class Broker:
    port: int
    workdir: Path
    proc: Proc

    @property
    def tls(self) -> tuple[str, ...]:
        return ("-h", "localhost", "-p", str(self.port), "--cafile",
                str(self.workdir / "certs" / "ca.crt"))

    def ctrl(self, *args: str) -> None:
        done = subprocess.run(
            ["mosquitto_ctrl", *self.tls, "-u", ADMIN_USER,
             "-P", SECRETS["MQTT_ADMIN_PASSWORD"], "dynsec", *args],
            capture_output=True, text=True, timeout=10)
        assert done.returncode == 0 and "Error" not in done.stdout, done.stdout + done.stderr

    def pub(self, topic: str, *login: str, tls: tuple[str, ...] | None = None
            ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["mosquitto_pub", *(self.tls if tls is None else tls), "-q", "1", "-t", topic,
             "-m", "hello", *login], capture_output=True, text=True, timeout=10)


def production_conf(port: int, workdir: Path) -> str:
    """deploy/mosquitto/mosquitto.conf with its container paths moved to workdir."""
    certs = workdir / "certs"
    replacements = {
        "listener 8883": f"listener {port} 127.0.0.1",
        f"cafile {CERTS_DIR}ca.crt": f"cafile {certs}/ca.crt",
        f"certfile {CERTS_DIR}mosquitto.crt": f"certfile {certs}/mosquitto.crt",
        f"keyfile {CERTS_DIR}mosquitto.key": f"keyfile {certs}/mosquitto.key",
        f"plugin {IMAGE_PLUGIN}": f"plugin {dynsec_plugin()}",
        f"persistence_location {DATA_DIR}": f"persistence_location {workdir}/",
        f"plugin_opt_config_file {DATA_DIR}dynamic-security.json":
            f"plugin_opt_config_file {workdir}/dynamic-security.json",
    }
    lines = MOSQUITTO_CONF.read_text().splitlines()
    for old, new in replacements.items():
        assert old in lines, f"mosquitto.conf has no line {old!r}"
        lines[lines.index(old)] = new
    assert not any("/mosquitto/" in line for line in lines if not line.startswith("#"))
    # Running as root (CI) mosquitto would switch to user `mosquitto`, who cannot write here.
    return "user root\n" + "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    workdir = tmp_path_factory.mktemp("mosquitto")
    subprocess.run(["sh", str(INIT_DYNSEC)], check=True, capture_output=True, timeout=10,
                   env={"PATH": os.environ["PATH"],
                        "DYNSEC_FILE": str(workdir / "dynamic-security.json"),
                        "MQTT_ADMIN_PASSWORD": SECRETS["MQTT_ADMIN_PASSWORD"]})
    # The same pipeline as compose: make-certs.sh, then certs-init's copy for the broker.
    assert make_certs(workdir / "made").returncode == 0
    assert install_certs(workdir / "made", workdir / "installed",
                         MOSQUITTO_OUT=str(workdir / "certs")).returncode == 0
    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(production_conf(port, workdir))
    proc = Proc([binary, "-c", str(conf)], log=workdir / "mosquitto.log").start()
    try:
        wait_for(lambda: port_open(port) or not proc.running, timeout=10,
                 what="mosquitto to listen")
        assert proc.running, proc.output()
        yield Broker(port, workdir, proc)
    finally:
        proc.stop()


def test_mosquitto_accepts_the_production_config(broker: Broker) -> None:
    # Its log goes to stdout, buffered in a file: read in the last test, after the stop.
    assert broker.proc.running and port_open(broker.port)


def test_anonymous_clients_are_refused(broker: Broker) -> None:
    anonymous = broker.pub("wardcast/stations/1/events")
    assert anonymous.returncode != 0
    assert "not authorised" in (anonymous.stdout + anonymous.stderr).lower()
    wrong = broker.pub("wardcast/stations/1/events", "-u", ADMIN_USER, "-P", "wrong")
    assert wrong.returncode != 0


def test_the_broker_speaks_only_verified_tls(broker: Broker, tmp_path: Path) -> None:
    login = ("-u", ADMIN_USER, "-P", SECRETS["MQTT_ADMIN_PASSWORD"])
    assert broker.pub("wardcast/tls-check", *login).returncode == 0
    plain = broker.pub("wardcast/tls-check", *login,
                       tls=("-h", "127.0.0.1", "-p", str(broker.port)))
    assert plain.returncode != 0, "a clear-text client must not get in"
    assert make_certs(tmp_path / "other").returncode == 0
    other_ca = broker.pub("wardcast/tls-check", *login,
                          tls=("-h", "localhost", "-p", str(broker.port), "--cafile",
                               str(tmp_path / "other" / "ca.crt")))
    assert other_ca.returncode != 0
    assert "tls error" in (other_ca.stdout + other_ca.stderr).lower()


def test_the_production_broker_refuses_a_packet_over_the_protocols_bound(
        broker: Broker) -> None:
    """deploy/'s max_packet_size at work, not only written: the protocol's largest message
    passes, a 1 MB one is refused (the connection is closed, nothing is acknowledged)."""
    login = ("-u", ADMIN_USER, "-P", SECRETS["MQTT_ADMIN_PASSWORD"])

    def publish(size: int) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(["mosquitto_pub", *broker.tls, *login, "-q", "1", "-t",
                               "wardcast/size-check", "-s"], input=b"x" * size,
                              capture_output=True, timeout=30)

    assert publish(MAX_PAYLOAD_BYTES).returncode == 0
    assert publish(1024 * 1024).returncode != 0


def test_compose_healthcheck_command(broker: Broker, compose: dict[str, Any]) -> None:
    test = services(compose)["mosquitto"]["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL" and "-p 8883" in test[1]
    assert f"--cafile {CERTS_DIR}ca.crt" in test[1]
    command = test[1].replace("-p 8883", f"-p {broker.port}").replace(
        f"{CERTS_DIR}ca.crt", str(broker.workdir / "certs" / "ca.crt"))
    env = {"PATH": os.environ["PATH"], "MQTT_ADMIN_PASSWORD": SECRETS["MQTT_ADMIN_PASSWORD"]}
    ok = subprocess.run(["sh", "-c", command], env=env, capture_output=True, timeout=10)
    assert ok.returncode == 0, ok.stderr
    env["MQTT_ADMIN_PASSWORD"] = "wrong"
    bad = subprocess.run(["sh", "-c", command], env=env, capture_output=True, timeout=10)
    assert bad.returncode != 0


def test_station_created_over_dynsec_can_publish_only_its_own_topics(broker: Broker) -> None:
    from scheduler.broker.acl import dynsec_station_acls

    station, token = "7", "station-7-token"
    broker.ctrl("createRole", f"station-{station}")
    for acl in dynsec_station_acls(station):
        broker.ctrl("addRoleACL", f"station-{station}", str(acl["acltype"]), str(acl["topic"]),
                    "allow")
    broker.ctrl("createClient", station, "-p", token, "-c", station)
    broker.ctrl("addClientRole", station, f"station-{station}")

    own = station_topic(station, AGENT_PUBLISHES[0])
    other = station_topic("8", AGENT_PUBLISHES[0])
    login = ("-u", station, "-P", token, "-i", station)
    # The scheduler's admin login sees every topic; it must get the allowed message first,
    # although each round publishes on the other station's topic before.
    watcher = subprocess.Popen(
        ["mosquitto_sub", *broker.tls, "-u", ADMIN_USER, "-P",
         SECRETS["MQTT_ADMIN_PASSWORD"], "-t", "wardcast/#", "-q", "1", "-v", "-C", "1",
         "-W", "8"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 8
        while watcher.poll() is None and time.monotonic() < deadline:
            assert broker.pub(other, *login).returncode == 0  # QoS 1: acked, then dropped
            assert broker.pub(own, *login).returncode == 0
            time.sleep(0.05)
        out, err = watcher.communicate(timeout=10)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
    assert watcher.returncode == 0, err
    assert out.split() == [own, "hello"], out
    # Right password, wrong client id: refused (client id = station id).
    assert broker.pub(own, "-u", station, "-P", token, "-i", "someone-else").returncode != 0


def test_broker_saves_to_the_data_directory(broker: Broker) -> None:
    """Runs last: stops the broker, which must leave its database and dynsec file behind."""
    broker.ctrl("createClient", "persisted", "-p", "secret")
    broker.proc.stop()
    assert not broker.proc.running
    log = broker.proc.output()
    # The tests' own TCP probes and clear-text client end in TLS handshake errors: skip those.
    errors = [line for line in log.splitlines()
              if "Error" in line and "OpenSSL Error" not in line]
    assert "Loading plugin" in log and "running" in log and not errors, log
    assert (broker.workdir / "mosquitto.db").is_file(), log
    dynsec = json.loads((broker.workdir / "dynamic-security.json").read_text())
    assert "persisted" in {client["username"] for client in dynsec["clients"]}
