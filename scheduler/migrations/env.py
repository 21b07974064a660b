"""Alembic environment: runs on the engine handed over in the config's attributes."""

from __future__ import annotations

from alembic import context

import scheduler.models  # noqa: F401  (registers every table on Base.metadata)
from scheduler.db import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
