"""Empty PostgreSQL databases on the local test server, for tests and benchmarks alike."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)


@contextmanager
def fresh_database(admin_url: str, *, prefix: str) -> Iterator[str]:
    """Create an empty database named prefix_<random>; yield its URL; drop it afterwards."""
    admin_at = make_url(admin_url)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_at, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield admin_at.set(database=name).render_as_string(hide_password=False)
        finally:
            _drop(admin, name)
    finally:
        admin.dispose()


def _drop(admin: Engine, name: str) -> None:
    """Drop a database, ending its sessions; a process still starting may hold it a moment."""
    for _ in range(20):
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        except DBAPIError:
            time.sleep(0.5)  # not a timing figure: waiting for the session to let go
    log.warning("could not drop database %s; drop it by hand", name)
