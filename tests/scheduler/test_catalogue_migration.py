"""Migration 0018: the lists seeded, every bulletin's topic taken from its free-text category."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from scheduler.catalogue import seeds
from scheduler.db import Database
from scheduler.migrations import alembic_config, upgrade

# category as typed before topics existed → the topic 0018 gives it
CATEGORIES = {
    "Y tế": "y-te", "suc khoe": "y-te", "SỨC KHOẺ": "y-te", "Health": "y-te",
    "THIÊN TAI": "phong-chong-thien-tai", "Bão lũ": "phong-chong-thien-tai",
    "nông nghiệp": "san-xuat-kinh-doanh", "an-ninh-trat-tu": "an-ninh-trat-tu",
    "Đời sống văn hoá": "van-hoa", "Policy and law": "chu-truong-chinh-sach",
    "Môi trường": "khac", "Tin y tế tuần này": "khac", "demo": "khac", None: "khac",
}
INSERT = text(
    "INSERT INTO bulletins (title, language, category, status, duration_ms, sha256, size_bytes,"
    " loudness_lufs, true_peak_dbtp, source_loudness_lufs, source_duration_ms, source_format,"
    " normalization_type, original_sha256, original_filename, created_at) VALUES (:title, 'vi',"
    " :category, 'approved', 1000, :sha, 1, -16, -2, -20, 1000, 'wav', 'linear', :sha, 'a.wav',"
    " :at)")


@pytest.fixture
def database(database_url: str) -> Database:
    return Database(database_url)


def test_categories_become_topics_and_the_lists_are_seeded(database: Database) -> None:
    upgrade(database.engine, "0017")
    with database.engine.begin() as conn:
        for index, category in enumerate(CATEGORIES):
            conn.execute(INSERT, {"title": f"b{index}", "category": category,
                                  "sha": f"{index:064d}", "at": datetime.now(UTC)})
    upgrade(database.engine, "0018")
    with database.engine.connect() as conn:
        topics = conn.execute(text("SELECT category, topic, source FROM bulletins ORDER BY id"))
        assert [(c, t, s) for c, t, s in topics] == [
            (c, t, None) for c, t in CATEGORIES.items()]
        seeded = conn.execute(text("SELECT code, name_vi, name_en, active FROM topics "
                                   "ORDER BY position")).all()
        assert [(c, vi, en, bool(a)) for c, vi, en, a in seeded] == [
            (c, vi, en, True) for c, (vi, en) in seeds.TOPICS.items()]
        sources = conn.execute(text("SELECT code, name_vi FROM sources ORDER BY position"))
        assert list(sources) == [(c, vi) for c, (vi, _en) in seeds.SOURCES.items()]
        columns = {c["name"]: c for c in inspect(conn).get_columns("bulletins")}
        assert not columns["topic"]["nullable"] and columns["source"]["nullable"]
    with pytest.raises(IntegrityError), database.engine.begin() as conn:
        conn.execute(text("UPDATE bulletins SET topic = 'khong-co' WHERE title = 'b0'"))
    with pytest.raises(IntegrityError), database.engine.begin() as conn:
        conn.execute(text("UPDATE bulletins SET source = 'khong-co' WHERE title = 'b0'"))
    with pytest.raises(IntegrityError), database.engine.begin() as conn:
        conn.execute(text("UPDATE bulletins SET topic = NULL WHERE title = 'b0'"))
    database.dispose()


def test_it_goes_back_and_forth_keeping_the_bulletins(database: Database) -> None:
    upgrade(database.engine, "0017")
    with database.engine.begin() as conn:
        conn.execute(INSERT, {"title": "b", "category": "Y tế", "sha": "1" * 64,
                              "at": datetime.now(UTC)})
    upgrade(database.engine, "0018")
    command.downgrade(alembic_config(database.engine), "0017")
    with database.engine.connect() as conn:
        assert "topics" not in inspect(conn).get_table_names()
        assert "topic" not in {c["name"] for c in inspect(conn).get_columns("bulletins")}
        assert conn.execute(text("SELECT title, category FROM bulletins")).all() == [
            ("b", "Y tế")]
    upgrade(database.engine, "0018")
    with database.engine.connect() as conn:
        assert conn.execute(text("SELECT topic FROM bulletins")).scalar_one() == "y-te"
        # SQLite's foreign keys are back on once the migrations are done
        if conn.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    database.dispose()
