"""Alembic migrations, applied at start-up (`upgrade`) or by `wardcast db upgrade`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

HERE = Path(__file__).resolve().parent


def alembic_config(engine: Engine) -> Config:
    """Return an Alembic config bound to this engine, with no alembic.ini needed."""
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema up to date."""
    command.upgrade(alembic_config(engine), revision)
