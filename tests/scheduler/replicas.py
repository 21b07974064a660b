"""Helpers for the tests that run several scheduler replicas on one PostgreSQL database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from tests.conftest import postgres_url
from tests.support.postgres import fresh_database
from tests.support.server import Server


@contextmanager
def fresh_postgres() -> Iterator[str]:
    """Create an empty PostgreSQL database for the replicas to share; drop it afterwards."""
    with fresh_database(postgres_url(), prefix="wardcast_replicas") as url:
        yield url


def health(server: Server) -> dict[str, Any]:
    """The replica's /healthz answer ({} while it does not answer)."""
    try:
        found: dict[str, Any] = httpx.get(f"{server.base}/healthz", timeout=2).json()
    except httpx.HTTPError:
        return {}
    return found
