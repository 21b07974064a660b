"""The app in-process for schemathesis: an admin, a few real objects, a log of what went wrong.

Schemathesis drives the ASGI app directly (no sockets except the embedded broker's). Its ASGI
client starts the app's lifespan once (database migrations, embedded broker, dispatcher, jobs)
and keeps it for the module; the fixtures below are created through the API with that client.
The module runs once on SQLite and once on PostgreSQL (marked ``postgres``), as production does.

Everything the fuzzer finds is collected in ``FINDINGS`` and printed at the end of the run
(``pytest_terminal_summary``): each distinct 5xx with a reproducing request and the server's
traceback, and each distinct response-schema mismatch. Only 5xx fail the test.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import time
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from schemathesis.python import asgi

from scheduler.app import create_app
from scheduler.config import Settings
from scheduler.runtime import Runtime
from scheduler.stations import service as stations
from scheduler.users import service as users
from tests.conftest import postgres_url
from tests.live.live_support import FileMounts
from tests.support.postgres import fresh_database
from tests.support.procs import free_port

PASSWORD = "password-123"
API = "/api/v1"
PROJECT_DIRS = ("/scheduler/", "/wardcast/", "/media/", "/agents/")


# --- what the fuzzer found ------------------------------------------------------------------


@dataclass
class ServerError:
    """One distinct 5xx: where, how to reproduce it, and what the server logged."""

    where: str
    status: int
    request: str
    traceback: str
    count: int = 1


@dataclass
class Findings:
    # (backend, operation, exception type and innermost project frame) -> the error
    server_errors: dict[tuple[str, str, str], ServerError] = field(default_factory=dict)
    # (failure kind, detail) -> {operation: [count, smallest request, message]}
    mismatches: dict[tuple[str, str], dict[str, list[Any]]] = field(default_factory=dict)
    requests: int = 0
    operations: set[str] = field(default_factory=set)

    def server_error(self, backend: str, operation: str, status: int, request: str,
                     error: BaseException | None, body: str) -> None:
        trace, signature = _short_traceback(error) if error else (body, str(status))
        key = (backend, operation, signature)
        found = self.server_errors.get(key)
        if found is None:
            self.server_errors[key] = ServerError(f"[{backend}] {operation}", status, request,
                                                  trace)
        else:
            found.count += 1
            if len(request) < len(found.request):  # keep the smallest reproduction
                found.request = request

    def mismatch(self, operation: str, kind: str, detail: str, request: str,
                 message: str) -> None:
        per_operation = self.mismatches.setdefault((kind, detail), {})
        found = per_operation.get(operation)
        if found is None:
            per_operation[operation] = [1, request, message]
        else:
            found[0] += 1
            if len(request) < len(found[1]):
                found[1], found[2] = request, message

    def report(self) -> str:
        lines = [f"{self.requests} requests over {len(self.operations)} operations"]
        lines.append(f"\n=== {len(self.server_errors)} distinct 5xx (they fail the test) ===")
        for error in self.server_errors.values():
            lines += [f"\n--- {error.where} -> {error.status} (seen {error.count}x)",
                      f"reproduce: {error.request}", _indent(error.traceback, limit=4000)]
        lines.append(f"\n=== {len(self.mismatches)} distinct response/schema mismatches "
                     "(reported only) ===")
        for (kind, detail), per_operation in sorted(self.mismatches.items()):
            total = sum(found[0] for found in per_operation.values())
            smallest = min(per_operation.items(), key=lambda item: len(item[1][1]))
            lines += [f"\n--- {kind}: {detail} (seen {total}x in {len(per_operation)} "
                      "operations)",
                      _indent(", ".join(sorted(per_operation)), limit=4000),
                      f"e.g. {smallest[1][1]}", _indent(smallest[1][2])]
        return "\n".join(lines)


def _short_traceback(error: BaseException) -> tuple[str, str]:
    """The project's frames and the last library ones; and a signature to tell bugs apart."""
    trace = traceback.TracebackException.from_exception(error)
    frames = list(trace.stack)
    ours = [i for i, f in enumerate(frames)
            if any(d in f.filename for d in PROJECT_DIRS) and "limits.py" not in f.filename]
    keep = sorted(set(ours) | set(range(max(0, len(frames) - 2), len(frames))))
    lines = ["Traceback (most recent call last, framework frames left out):"]
    for i in keep:
        lines += traceback.format_list([frames[i]])[0].rstrip("\n").splitlines()
    lines += "".join(trace.format_exception_only()).rstrip().splitlines()
    last = frames[ours[-1]] if ours else (frames[-1] if frames else None)
    where = f"{last.filename}:{last.lineno}" if last else "?"
    return "\n".join(lines), f"{type(error).__name__} @ {where}"


def _indent(text: str, limit: int = 1200) -> str:
    text = text.strip()
    if len(text) > limit:
        text = text[:limit] + " …"
    return "\n".join("    " + line for line in text.splitlines())


FINDINGS = Findings()
# Ids of the real objects the fixture created (and the upload's audio), for the generators.
IDS: dict[str, Any] = {}


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FINDINGS.requests:
        terminalreporter.write_sep("=", "OpenAPI fuzz findings (tests/fuzz)")
        terminalreporter.write_line(FINDINGS.report())


# --- the app, with server exceptions turned into what a client sees ---------------------------


class CatchServerErrors:
    """ASGI wrapper: keep the 500 a client would get, and the exception the server would log.

    Starlette answers an unhandled exception with the app's 500 handler and then re-raises it
    for the server to log; an in-process client would see the exception, not the response.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last_error: BaseException | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        self.last_error = None
        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            self.last_error = exc
            if not started:
                raise


@dataclass
class FuzzEnv:
    """The running app and the ids of real objects to aim generated requests at."""

    backend: str
    app: CatchServerErrors
    runtime: Runtime
    client: Any
    username: str
    token: str = ""
    station_token: str = ""
    ids: dict[str, Any] = field(default_factory=dict)

    def headers(self) -> dict[str, str]:
        """A valid admin Authorization header, repairing what the fuzzer did to the admin.

        The fuzzer may demote or deactivate the admin, change its password or wards (which
        also ends its sessions); put it back so every operation keeps being tested as an admin.
        """
        with self.runtime.db.session() as session:
            valid = bool(self.token) and users.user_for_token(session=session,
                                                              token=self.token) is not None
            me = users.get(session=session, user_id=self.ids["admin_id"])
            if me.role != "admin" or not me.active or me.wards:
                users.update_user(session=session, user_id=me.id, role="admin", active=True,
                                  wards=[])
                valid = valid and me.active
            if not valid:
                users.update_user(session=session, user_id=me.id, password=PASSWORD)
                self.token = users.login(session=session, username=self.username,
                                         password=PASSWORD, ttl=timedelta(hours=12))
            session.commit()
        return {"Authorization": f"Bearer {self.token}"}

    def station_headers(self) -> dict[str, str]:
        """A valid station token for the agents' routes (the fuzzer may rotate or revoke it)."""
        with self.runtime.db.session() as session:
            if stations.by_token(session=session, token=self.station_token) is None:
                _, self.station_token = stations.rotate_token(
                    session=session, station_id=self.ids["agent_station_id"])
                session.commit()
        return {"Authorization": f"Bearer {self.station_token}"}


def describe(method: str, path: str, *, query: dict[str, Any] | None = None,
             headers: dict[str, Any] | None = None, body: Any = None,
             media_type: str | None = None) -> str:
    """A short description of a request to reproduce it (the admin token is left out)."""
    url = path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    parts = [f"{method} {url}"]
    for name, value in (headers or {}).items():
        if name.lower() != "authorization":
            parts.append(f"-H {shlex.quote(f'{name}: {value}')}")
    if body is not None:
        if isinstance(body, bytes | bytearray):
            shown = repr(bytes(body[:80])) + ("…" if len(body) > 80 else "")
        elif isinstance(body, dict) and media_type == "multipart/form-data":
            shown = repr({k: (f"<{len(v)} bytes>" if isinstance(v, bytes | bytearray) else v)
                          for k, v in body.items()})
        else:
            try:
                shown = json.dumps(body, ensure_ascii=False)
            except (TypeError, ValueError):
                shown = repr(body)
        parts.append(f"[{media_type or 'body'}] {shown}")
    return " ".join(parts)


@pytest.fixture(scope="module")
def speech_vi(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real Vietnamese speech: espeak-ng -v vi -w x.wav "Thông báo"."""
    path = tmp_path_factory.mktemp("fuzz-audio") / "x.wav"
    subprocess.run(["espeak-ng", "-v", "vi", "-w", str(path), "Thông báo"], check=True)
    return path


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fuzz_database(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(backend, a fresh empty database URL)."""
    if request.param == "sqlite":
        yield "sqlite", f"sqlite:///{tmp_path_factory.mktemp('fuzz-db') / 'fuzz.sqlite3'}"
        return
    with fresh_database(postgres_url(), prefix="wardcast_fuzz") as url:
        yield "postgres", url


@pytest.fixture(scope="module")
def fuzz_env(tmp_path_factory: pytest.TempPathFactory, fuzz_database: tuple[str, str],
             speech_vi: Path) -> Iterator[FuzzEnv]:
    backend, database_url = fuzz_database
    # a live session lasts 10 s at most: the fuzzer starts many, each an ffmpeg
    settings = Settings(data_dir=tmp_path_factory.mktemp("fuzz-data"), database_url=database_url,
                        broker="embedded", mqtt_url=f"mqtt://127.0.0.1:{free_port()}",
                        max_upload_bytes=5 * 1024 * 1024, live_max_s=10)
    app = CatchServerErrors(create_app(settings))
    client = asgi.get_client(app)
    # schemathesis' pytest plugin ends every ASGI lifespan after each test, so each operation
    # would start the app again: migrations, the broker on the same port (a restart that finds
    # the port taken fails every operation after it), the dispatcher. One lifespan for the
    # module, as the app runs in production: the plugin's call does nothing until we end it.
    shutdown_lifespans = asgi.shutdown_lifespans
    asgi.shutdown_lifespans = lambda: None
    try:
        # Entering the client starts the app's lifespan; it runs until shutdown_lifespans().
        client.__enter__()
        env = FuzzEnv(backend=backend, app=app, runtime=app.app.state.runtime, client=client,
                      username=f"fuzz-admin-{uuid.uuid4().hex[:6]}")
        # live sessions' mounts are files (no streaming server needed to start one)
        env.runtime.live = FileMounts(tmp_path_factory.mktemp("fuzz-mounts"))
        _create_fixtures(env, speech_vi)
        IDS.clear()
        IDS.update(env.ids, audio=speech_vi.read_bytes())
        yield env
    finally:
        IDS.clear()
        client.__exit__(None, None, None)
        asgi.shutdown_lifespans = shutdown_lifespans
        asgi.shutdown_lifespans()


def _create_fixtures(env: FuzzEnv, speech: Path) -> None:
    with env.runtime.db.session() as session:
        admin = users.create_user(session=session, username=env.username, password=PASSWORD,
                                  role="admin")
        other = users.create_user(session=session, username=f"fuzz-editor-{uuid.uuid4().hex[:6]}",
                                  password=PASSWORD, role="editor")
        approver = users.create_user(session=session, password=PASSWORD, role="approver",
                                     username=f"fuzz-approver-{uuid.uuid4().hex[:6]}")
        env.ids.update(admin_id=admin.id, user_id=other.id)
        session.commit()
    c = env.client
    answer = c.post(f"{API}/auth/token", data={"username": env.username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    env.token = answer.json()["access_token"]
    h = env.headers()

    def ok(answer: Any, *codes: int) -> Any:
        assert answer.status_code in codes, (f"{answer.request.method} {answer.request.url}: "
                                             f"{answer.status_code} {answer.text}")
        return answer.json() if answer.content else None

    station = ok(c.post(f"{API}/stations", headers=h,
                        json={"name": "Loa tổ 1", "ward": "Phường 1"}), 201)
    env.ids.update(station_id=station["id"])
    agent = ok(c.post(f"{API}/stations", headers=h,
                      json={"name": "Loa tổ 2", "ward": "Phường 1"}), 201)
    env.ids.update(agent_station_id=agent["id"])
    env.station_token = agent["token"]
    with speech.open("rb") as handle:
        bulletin = ok(c.post(f"{API}/bulletins", headers=h,
                             files={"file": ("x.wav", handle, "audio/wav")},
                             data={"title": "Thông báo", "language": "vi"}), 201)
    # the two-person rule: the admin uploaded it, another user approves it
    second = c.post(f"{API}/auth/token", data={"username": approver.username,
                                               "password": PASSWORD}).json()["access_token"]
    ok(c.post(f"{API}/bulletins/{bulletin['id']}/approve",
              headers={"Authorization": f"Bearer {second}"}), 200)
    env.ids.update(bulletin_id=bulletin["id"], sha256=bulletin["sha256"])
    group = ok(c.post(f"{API}/groups", headers=h,
                      json={"name": "Khu phố 1", "station_ids": [station["id"]]}), 201)
    env.ids.update(group_id=group["id"])
    timetable = ok(c.post(f"{API}/timetables", headers=h, json={
        "bulletin_id": bulletin["id"], "station_ids": [station["id"]],
        "starts_at": "2031-01-01T06:00:00+07:00", "recurrence": "FREQ=DAILY;COUNT=3",
        "priority": "normal"}), 201)
    env.ids.update(timetable_id=timetable["id"])
    ok(c.post(f"{API}/broadcasts", headers=h, json={
        "bulletin_id": bulletin["id"], "station_ids": [station["id"]], "priority": "normal"}), 201)
    playbacks = ok(c.get(f"{API}/playbacks", headers=h, params={"limit": 1}), 200)
    if playbacks["items"]:
        env.ids.update(playback_id=playbacks["items"][0]["id"])
    token = ok(c.post(f"{API}/users/me/tokens", headers=h, json={"name": "fuzz"}), 201)
    env.ids.update(token_id=token["id"])
    feed = ok(c.post(f"{API}/feeds", headers=h, json={"station_id": station["id"]}), 201)
    env.ids.update(feed_id=feed["id"], token=feed["token"])
    live = ok(c.post(f"{API}/live", headers=h, json={"station_ids": [station["id"]]}), 201)
    env.ids.update(live_id=live["id"], key=live["ingest_url"].rpartition("key=")[2])
    # The dispatcher's broker link must be up, or /healthz answers 503 for a reason of our own.
    deadline = time.monotonic() + 15
    while c.get("/healthz").status_code != 200:
        assert time.monotonic() < deadline, c.get("/healthz").text
        time.sleep(0.1)
