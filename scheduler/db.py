"""Database engine, sessions, the declarative base, the UTC datetime column type and ids."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    DateTime,
    Engine,
    Insert,
    Integer,
    MetaData,
    Table,
    bindparam,
    create_engine,
    event,
    func,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, QueryableAttribute, Session, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

from wardcast.private import private_sqlite
from wardcast.protocol import DB_INT

# a row's id as the API takes it: the columns are 32-bit, so a larger one is invalid input
Id = Annotated[int, Field(ge=1, le=DB_INT)]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """Store aware datetimes as UTC; always read them back as aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def in_list(session: Session, column: QueryableAttribute[Any], values: Sequence[Any]
            ) -> ColumnElement[bool]:
    """``column IN values`` for hundreds of values; on PostgreSQL one array parameter.

    An IN list of 500 parameters is a new statement text for the driver to parse (psycopg
    does not cache it) and for PostgreSQL to plan, every time; an array is one. It is read as
    ``IN (SELECT unnest(array))``, a join the planner can hash, not ``= ANY(array)``, which
    a plan that reads the rows by another index tests element by element on every row, many
    times slower on a chunk of plans right after an emergency (docs/benchmarks.md §2,
    third round).
    Integers go as bigint, so an id too large for the column matches nothing, as in an IN.
    """
    if session.get_bind().dialect.name == "postgresql":
        kind = column.type
        item = BigInteger() if isinstance(kind, Integer) else kind
        array = bindparam(None, list(values), type_=ARRAY(item))
        return column.in_(select(func.unnest(array)).scalar_subquery())
    return column.in_(values)


def insert_new(session: Session, table: Table) -> Insert:
    """``INSERT … ON CONFLICT DO NOTHING``: rows another writer already stored are kept."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def plan_with_values(session: Session) -> None:
    """Have PostgreSQL plan this transaction's statements with their parameters' values.

    psycopg prepares a statement run five times on a connection, and PostgreSQL may then
    keep one generic plan for it, chosen blind to the parameters and on the statistics of
    the moment. Right after an emergency added many playbacks (not yet analysed) the generic
    plan of a plan chunk read every open playback for each of its stations, which made a large
    push seconds slower (docs/benchmarks.md §2, third round). Planning anew costs
    a fraction of a millisecond a statement.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


# A request takes its connection in a dependency (the login check) on one of the thread pool's
# 40 threads and finishes on another; with fewer connections than threads, requests that hold
# one wait for a thread while every thread waits for a connection (64 registrations at once
# timed out after 30 s). So: a connection for every thread, and some for the dispatcher, the
# jobs and the leader's lock.
POOL_SIZE, MAX_OVERFLOW = 10, 40


def make_engine(url: str, *, pooled: bool = True) -> Engine:
    """Create the engine; SQLite gets WAL, a busy timeout and foreign keys.

    pooled=False opens a connection per use: for a background worker that must make progress
    even while every pooled connection is held by requests waiting for it."""
    extra: dict[str, Any] = ({"pool_size": POOL_SIZE, "max_overflow": MAX_OVERFLOW} if pooled
                             else {"poolclass": NullPool})
    if url.startswith("sqlite"):
        _private_file(url)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               **extra)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=pooled, **extra)


def _private_file(url: str) -> None:
    """Keep a SQLite database file and its -wal/-shm readable by this user only."""
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        path = Path(database)
        if path.parent.is_dir():  # else SQLite says what is wrong
            private_sqlite(path)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class Database:
    """The engine and a session factory, owned by the app's lifespan."""

    def __init__(self, url: str, *, pooled: bool = True) -> None:
        self.engine = make_engine(url, pooled=pooled)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Yield a session that commits on success and rolls back on error."""
        with self.sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()
