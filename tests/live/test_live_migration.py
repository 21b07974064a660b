"""Migration 0027: streams so far are relays; live sessions get their table; going back
removes live sessions with their streams, broadcasts and playbacks."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import inspect, text

from scheduler.db import Database
from scheduler.migrations import alembic_config, upgrade

STREAM = text("INSERT INTO streams (name, name_key, url, state, created_at, updated_at) "
              "VALUES (:name, :key, 'http://radio.example.vn/vov1.mp3', 'ok', :at, :at)")


def test_streams_become_relays_and_live_sessions_come_and_go(database_url: str) -> None:
    database = Database(database_url)
    try:
        upgrade(database.engine, "0026_relays")
        at = datetime.now(UTC)
        with database.engine.begin() as conn:
            conn.execute(STREAM, {"name": "VOV1", "key": "vov1", "at": at})
        upgrade(database.engine)
        with database.engine.begin() as conn:
            assert list(conn.execute(text("SELECT name, kind FROM streams"))) == [
                ("VOV1", "relay")]
            conn.execute(text("INSERT INTO streams (name, name_key, url, state, created_at, "
                              "updated_at, kind) VALUES ('Phát trực tiếp', 'live-1-ab.ogg', "
                              "'http://127.0.0.1:8010/live-1-ab.ogg', 'unchecked', :at, :at, "
                              "'live')"), {"at": at})
            live_stream = conn.execute(text("SELECT id FROM streams WHERE kind = 'live'")
                                       ).scalar_one()
            conn.execute(text("INSERT INTO live_sessions (mount, key_hash, stream_id, priority, "
                              "started_at, recording_state) VALUES ('live-1-ab.ogg', :h, :s, "
                              "'emergency', :at, 'recording')"),
                         {"h": "0" * 64, "s": live_stream, "at": at})
            columns = {c["name"] for c in inspect(conn).get_columns("live_sessions")}
            assert {"mount", "key_hash", "broadcast_id", "stop_reason",
                    "recording_bulletin_id"} <= columns
        command.downgrade(alembic_config(database.engine), "0026_relays")
        with database.engine.connect() as conn:
            assert "live_sessions" not in inspect(conn).get_table_names()
            assert "kind" not in {c["name"] for c in inspect(conn).get_columns("streams")}
            assert list(conn.execute(text("SELECT name FROM streams"))) == [("VOV1",)]
        upgrade(database.engine)
    finally:
        database.dispose()
