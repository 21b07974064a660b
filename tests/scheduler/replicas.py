"""Helpers for the tests that run several scheduler replicas on one PostgreSQL database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import postgres_url
from tests.support.server import Server


@contextmanager
def fresh_postgres() -> Iterator[str]:
    """Create an empty PostgreSQL database for the replicas to share; drop it afterwards."""
    admin_url = make_url(postgres_url())
    name = f"wardcast_replicas_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def health(server: Server) -> dict[str, Any]:
    """The replica's /healthz answer ({} while it does not answer)."""
    try:
        found: dict[str, Any] = httpx.get(f"{server.base}/healthz", timeout=2).json()
    except httpx.HTTPError:
        return {}
    return found
