"""The SQL a report needs that SQLite and PostgreSQL spell differently."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, bindparam, case, func, literal_column, text
from sqlalchemy.orm import InstrumentedAttribute, Session

from scheduler.db import UtcDateTime

Instant = ColumnElement[datetime] | InstrumentedAttribute[datetime]


def postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def seconds(session: Session, start: ColumnElement[Any] | InstrumentedAttribute[Any],
            end: ColumnElement[Any] | InstrumentedAttribute[Any]) -> ColumnElement[float]:
    """The seconds from one instant to the next, as a float."""
    if postgres(session):
        # date_part is double precision; EXTRACT(EPOCH ...) is numeric since PostgreSQL 14,
        # and summing numerics over millions of rows costs more than the scan
        return func.date_part("epoch", end - start, type_=Float())
    # SQLite keeps instants as text; julianday reads it (to some 50 µs at these dates)
    return (func.julianday(end, type_=Float()) - func.julianday(start, type_=Float())) * 86400.0


def total_seconds(session: Session, start: ColumnElement[Any] | InstrumentedAttribute[Any],
                  end: ColumnElement[Any] | InstrumentedAttribute[Any]) -> ColumnElement[float]:
    """Σ (end − start) in seconds over a group, as a float (0 for none)."""
    if postgres(session):
        # intervals add up cheaply; turning each into seconds first cost ~10 % of a pass
        return func.coalesce(func.date_part("epoch", func.sum(end - start), type_=Float()),
                             0.0)
    return func.coalesce(func.sum(seconds(session, start, end)), 0.0)


def instant(value: datetime, name: str) -> ColumnElement[datetime]:
    """A UTC instant as a parameter, stored as the columns store it (text on SQLite)."""
    return bindparam(name, value, type_=UtcDateTime())


def later(a: Instant, b: Instant) -> ColumnElement[datetime]:
    """The later of two instants (neither NULL); GREATEST and max() differ by dialect."""
    return case((a > b, a), else_=b)


def earlier(a: Instant, b: Instant) -> ColumnElement[datetime]:
    """The earlier of two instants (neither NULL)."""
    return case((a < b, a), else_=b)


def one_of(column: ColumnElement[str] | InstrumentedAttribute[str], values: tuple[str, ...]
           ) -> ColumnElement[bool]:
    """``column IN (values)`` with the values written into the SQL: our own state names, in
    expressions PostgreSQL must recognise again in GROUP BY (parameters would differ)."""
    return column.in_([literal_column(f"'{value}'") for value in values])


def text_literal(value: str) -> ColumnElement[str]:
    """A string of ours written into the SQL (see one_of)."""
    return literal_column(f"'{value}'")


def tune(session: Session) -> None:
    """Give this transaction's report queries what they need on PostgreSQL.

    They aggregate millions of rows once in a while: a hash of every station's figures
    wants more than the default 4 MB of work_mem (else it spills to disk), and JIT compiling
    them cost more than it saved (docs/benchmarks.md, §9).
    """
    if postgres(session):
        session.execute(text("SET LOCAL work_mem = '64MB'"))
        session.execute(text("SET LOCAL jit = off"))
