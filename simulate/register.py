"""Register the simulated stations through the REST API, or reuse those already there.

A station's token is shown only when it is made, so a station found by name gets a new one
(``POST /stations/{id}/token``; the old token stops working). Requests run in parallel, a
bounded number at a time, so 10,000 stations take seconds of the scheduler's time, not an
hour of round trips.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from wardcast.protocol import API

log = logging.getLogger(__name__)

PAGE = 1000
CONNECT_TRIES = 5


class RegistrationError(RuntimeError):
    """The scheduler refused a login or a station; the message says what and why."""


@dataclass(frozen=True)
class Credentials:
    """One simulated station's login."""

    station_id: int
    name: str
    token: str


def station_name(prefix: str, number: int) -> str:
    """Name the n-th simulated station: PREFIX-0001, PREFIX-0002 …"""
    return f"{prefix}-{number:04d}"


async def login(http: httpx.AsyncClient, *, username: str, password: str) -> str:
    """Return an access token for an admin user."""
    answer = await http.post(f"{API}/auth/token",
                             data={"username": username, "password": password})
    if answer.status_code != 200:
        raise RegistrationError(f"Đăng nhập thất bại — login as {username!r} failed: "
                                f"HTTP {answer.status_code} {_detail(answer)}")
    return str(answer.json()["access_token"])


async def existing(http: httpx.AsyncClient, *, prefix: str) -> dict[str, int]:
    """Return {name: id} of the stations already named PREFIX-…"""
    found: dict[str, int] = {}
    offset = 0
    while True:
        answer = await http.get(f"{API}/stations", params={"limit": PAGE, "offset": offset})
        _check(answer, "list stations")
        page = answer.json()
        for row in page["items"]:
            if str(row["name"]).startswith(f"{prefix}-"):
                found[str(row["name"])] = int(row["id"])
        offset += PAGE
        if offset >= int(page["total"]):
            return found


async def register_all(http: httpx.AsyncClient, *, prefix: str, count: int,
                       parallel: int = 32) -> list[Credentials]:
    """Make sure stations PREFIX-0001 … exist and return a fresh token for each."""
    known = await existing(http, prefix=prefix)
    gate = asyncio.Semaphore(parallel)

    async def one(number: int) -> Credentials:
        name = station_name(prefix, number)
        async with gate:
            if name in known:
                answer = await _post(http, f"{API}/stations/{known[name]}/token")
                _check(answer, f"issue a new token for {name}")
            else:
                answer = await _post(http, f"{API}/stations",
                                              json={"name": name, "ward": prefix})
                _check(answer, f"register {name}")
        body = answer.json()
        return Credentials(station_id=int(body["id"]), name=name, token=str(body["token"]))

    stations = await asyncio.gather(*(one(n) for n in range(1, count + 1)))
    log.info("%d station(s) registered, %d reused with a new token",
             count - len(known.keys() & {c.name for c in stations}),
             len(known.keys() & {c.name for c in stations}))
    return list(stations)


def save(path: Path, stations: list[Credentials]) -> None:
    """Write the logins where only this user can read them (benchmarks and audits use it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_suffix(".part")
    descriptor = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump([asdict(c) for c in stations], handle)
    part.replace(path)  # whole or absent: a reader never sees half a file


async def _post(http: httpx.AsyncClient, url: str, json: dict[str, str] | None = None
                ) -> httpx.Response:
    """POST, trying again when the request never reached the server (so it did nothing)."""
    for attempt in range(CONNECT_TRIES):
        try:
            return await http.post(url, json=json)
        except (httpx.ConnectError, httpx.PoolTimeout, httpx.ConnectTimeout):
            if attempt == CONNECT_TRIES - 1:
                raise
            await asyncio.sleep(1 + attempt)
    raise AssertionError("unreachable")


def _check(answer: httpx.Response, what: str) -> None:
    if answer.status_code >= 400:
        raise RegistrationError(f"Máy chủ từ chối — the scheduler refused to {what}: "
                                f"HTTP {answer.status_code} {_detail(answer)}")


def _detail(answer: httpx.Response) -> str:
    try:
        return str(answer.json().get("detail", ""))
    except ValueError:
        return answer.text[:200]
