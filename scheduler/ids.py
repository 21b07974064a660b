"""Bounded id and paging types: the database's integers are 32-bit, so larger numbers are
refused as invalid input instead of failing in the database."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from scheduler.db import Id as Id
from wardcast.protocol import DB_INT

IdPath = Annotated[int, Path(ge=1, le=DB_INT)]
IdQuery = Annotated[int | None, Query(ge=1, le=DB_INT)]
Offset = Annotated[int, Query(ge=0, le=DB_INT)]
