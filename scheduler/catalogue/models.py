"""Topics and sources: short managed lists of codes with a Vietnamese and an English name."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.db import Base

CODE_LENGTH = 64
NAME_LENGTH = 120


class CatalogueEntry(Base):
    """What a topic and a source both are; an entry in use is deactivated, never deleted."""

    __abstract__ = True

    code: Mapped[str] = mapped_column(String(CODE_LENGTH), primary_key=True)
    name_vi: Mapped[str] = mapped_column(String(NAME_LENGTH))
    name_en: Mapped[str] = mapped_column(String(NAME_LENGTH))
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class Topic(CatalogueEntry):
    """What a bulletin is about (the city plan's themes)."""

    __tablename__ = "topics"


class Source(CatalogueEntry):
    """Where a bulletin comes from (own production, province, city or nation, relay)."""

    __tablename__ = "sources"
