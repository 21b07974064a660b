"""Alembic environment: runs on the engine handed over in the config's attributes."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import scheduler.models  # noqa: F401  (registers every table on Base.metadata)
from scheduler.db import Base


def _run(connection: Connection) -> None:
    with connection.begin():
        context.configure(connection=connection, target_metadata=Base.metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
        if connection.dialect.name == "sqlite":
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"migrations left rows that break a foreign key: {broken}")


engine = context.config.attributes["engine"]
with engine.connect() as connection:
    if connection.dialect.name != "sqlite":
        _run(connection)
    else:
        # Off while migrating, as Alembic advises: SQLite drops the referenced table when a
        # batch operation copies it, and refuses a NOT NULL column with a default and a
        # REFERENCES clause. It can only be switched outside a transaction; checked at the end.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
        try:
            _run(connection)
        finally:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
