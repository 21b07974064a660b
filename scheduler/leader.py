"""One active planner among replicas: a PostgreSQL session-level advisory lock.

The lock lives on a connection of its own. PostgreSQL releases it when that connection or its
process dies, and that is the take-over: the next replica to try gets it. On any other database
(SQLite: one process) this node is always the leader.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

# Fixed for every replica of one database ("ward" in ASCII). Below 2**31, so pg_locks shows it
# as classid 0, objid LOCK_KEY.
LOCK_KEY = 0x77617264
# The leader's host may vanish without closing its socket (power cut, partition). These make
# both ends notice within ~20 s instead of the kernel's two hours: libpq's keepalives for this
# side, and the server's own (settable per session) so that PostgreSQL frees the lock.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
              "keepalives_count": 3, "connect_timeout": 5,
              "options": "-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 "
                         "-c tcp_keepalives_count=3"}
HOLDS_LOCK = text("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
                  "AND pid = pg_backend_pid() AND classid = 0 AND objid = :key AND granted)")

OnChange = Callable[[bool], None]


class Leadership:
    """Holds or waits for the planner lock; `tick()` runs every few seconds on every replica."""

    def __init__(self, *, url: str, replica: str, on_change: OnChange) -> None:
        self.replica = replica
        self._on_change = on_change
        self._engine: Engine | None = None
        self._conn: Connection | None = None
        self._leader = False
        self._lock = threading.Lock()  # tick() runs on the job pool, release() at shutdown
        if make_url(url).get_backend_name() == "postgresql":
            self._engine = create_engine(url, poolclass=NullPool, connect_args=KEEPALIVES,
                                         isolation_level="AUTOCOMMIT")

    @property
    def is_leader(self) -> bool:
        return self._leader

    def tick(self) -> None:
        """Check the lock we hold, or try to take it."""
        with self._lock:
            self._tick()

    def _tick(self) -> None:
        if self._engine is None:
            if not self._leader:
                log.info("replica %s is the planner (single database, no election)",
                         self.replica)
                self._change(True)
            return
        if self._leader:
            if not self._still_held():
                self._step_down("lost the lock connection")
        elif self._try_lock():
            log.info("replica %s is now the planner (holds advisory lock %d)", self.replica,
                     LOCK_KEY)
            self._change(True)

    def release(self) -> None:
        """Give the lock back at shutdown so another replica takes over at once."""
        with self._lock:
            if self._leader and self._engine is not None:
                log.info("replica %s gives up the planner lock", self.replica)
                self._unlock()
            self._leader = False  # the jobs stop with the scheduler; no callback needed
            self._close()
            if self._engine is not None:
                self._engine.dispose()

    def _unlock(self) -> None:
        """Release the lock before closing: the server ends a closed session a moment later."""
        if self._conn is None:
            return
        try:
            self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
        except Exception:  # the session is gone, and the lock with it
            log.debug("releasing the planner lock failed", exc_info=True)

    def _still_held(self) -> bool:
        assert self._conn is not None
        try:
            return bool(self._conn.execute(HOLDS_LOCK, {"key": LOCK_KEY}).scalar())
        except Exception:  # any failure means the lock may be gone: step down
            log.warning("leader lock check failed", exc_info=True)
            return False

    def _try_lock(self) -> bool:
        assert self._engine is not None
        try:
            if self._conn is None:
                self._conn = self._engine.connect()
            got = self._conn.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                     {"key": LOCK_KEY}).scalar()
        except Exception:  # the database is away; try again next tick
            log.warning("cannot reach the database to seek leadership", exc_info=True)
            self._close()
            return False
        return bool(got)

    def _step_down(self, why: str) -> None:
        log.warning("replica %s is no longer the planner: %s", self.replica, why)
        self._change(False)
        self._close()  # a fresh connection next tick, which may win the lock again

    def _change(self, leader: bool) -> None:
        self._leader = leader
        self._on_change(leader)

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()  # closing the session also releases a lock it still held
            except Exception:  # already broken; nothing to give back
                log.debug("closing the lock connection failed", exc_info=True)
