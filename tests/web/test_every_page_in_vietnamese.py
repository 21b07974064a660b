"""Every page, in Vietnamese, as the admin sees it with real data in it: no message left
untranslated (the server logs each one it meets), no English words, no machine codes, no ISO
or UTC times, no 12-hour clock.

The pages walked are every GET page route of scheduler/web: a new page with a path parameter
this walk cannot fill fails here until it is taught to fill it.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

from scheduler.web.router import AREAS
from tests.support.procs import free_port
from tests.web.conftest import (
    DESKTOP,
    PHONE,
    Pages,
    api_as,
    approve_through_api,
    register_station,
    upload_through_api,
)

# words of the pages' English that a Vietnamese page must not show (whole words, any case)
ENGLISH = re.compile(
    r"\b(the|and|of|with|from|until|since|ago|played|missed|pending|approved|rejected|normal|"
    r"priority|emergency|late|station|stations|bulletin|bulletins|timetable|timetables|playback|"
    r"preempted|conflict|offline|online|error|failed|skipped|delivered|ready|cancelled|"
    r"interrupted|planned|playing|none|null|true|false|undefined|NaN|today|"
    r"yesterday|tomorrow|minutes?|seconds?|hours?|days?|weeks?|Monday|Tuesday|Wednesday|"
    r"Thursday|Friday|Saturday|Sunday|January|February|March|April|June|July|August|September|"
    r"October|November|December|download|upload|password|user|role|editor|approver|viewer|"
    r"FREQ|BYDAY)\b", re.IGNORECASE)
# how a machine or another locale writes times: ISO dates, UTC offsets, 12-hour clocks
MACHINE_TIME = re.compile(r"\d{4}-\d\d-\d\d|\d\dT\d\d:|[+-]00:00|\b(UTC|GMT)\b|"
                          r"\d{1,2}:\d\d\s?(AM|PM|SA|CH)\b")
# snake_case machine codes (plan_not_delivered, timetable_conflict ...)
MACHINE_CODE = re.compile(r"\b[a-z]+_[a-z_]+\b")
# what a user may see in English on a Vietnamese page: the language switch offers "English";
# text marked lang="en" (the English names an admin keeps beside the Vietnamese) is English
ALLOWED = re.compile(r"\bEnglish\b")

VISIBLE = """() => {
  // what a reader sees, without the language switch, text marked as English, names people
  // gave (translate="no": user names) and what an advanced user writes in a machine's syntax
  const aside = [...document.querySelectorAll('form[action="/language"], [lang=en], ' +
                                              '[translate=no], [data-machine]')];
  const shown = aside.map(e => e.style.display);
  aside.forEach(e => { e.style.display = 'none'; });
  const text = document.body.innerText;
  aside.forEach((e, i) => { e.style.display = shown[i]; });
  const said = [...document.querySelectorAll('[title], [placeholder], [aria-label], [alt]')]
    .filter(e => !e.closest('[lang=en], [translate=no], [data-machine]'))
    .flatMap(e => ['title', 'placeholder', 'aria-label', 'alt'].map(a => e.getAttribute(a)))
    .filter(Boolean);
  return [document.title, text, ...said].join('\\n');
}"""


def page_paths() -> list[str]:
    """Every GET page the web package serves (path templates)."""
    return sorted({route.path for area in AREAS for route in area.router.routes
                   if "GET" in getattr(route, "methods", ())})


def unique(name: str) -> str:
    return f"{name} {uuid.uuid4().hex[:4]}"


def seed(pages: Pages, speech: Path) -> dict[str, int]:
    """Stations, bulletins in each state, timetables, a missed slot and a broadcast."""
    server, accounts = pages.server, pages.accounts
    station = register_station(server, unique("Trạm Phường Tân Lợi"))
    ids: dict[str, int] = {"station_id": station["id"]}
    upload_through_api(server, accounts["editor"], speech, title=unique("Bản tin chờ duyệt"))
    rejected = upload_through_api(server, accounts["editor"], speech, title=unique("Bị từ chối"))
    approved = upload_through_api(server, accounts["editor"], speech, title=unique("Tin nông vụ"))
    ids["bulletin_id"] = approved["id"]
    approve_through_api(server, accounts["approver"], approved["id"])
    with api_as(server, accounts["approver"]) as api:
        api.post(f"/bulletins/{rejected['id']}/reject",
                 json={"reason": "Âm thanh bị rè"}).raise_for_status()
    soon = datetime.now(UTC) + timedelta(seconds=4)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(hour=23, minute=0, second=0,
                                                              microsecond=0)
    with api_as(server, accounts["editor"]) as api:
        for starts_at, recurrence in ((soon, None), (tomorrow, "FREQ=DAILY;COUNT=5")):
            answer = api.post("/timetables", json={
                "bulletin_id": approved["id"], "station_ids": [station["id"]],
                "starts_at": starts_at.isoformat(), "recurrence": recurrence,
                "priority": "normal"})
            answer.raise_for_status()
            ids["timetable_id"] = answer.json()["id"]
    with api_as(server, accounts["editor"]) as api:
        # a stream that cannot be reached: its page row and the dashboard's flag are walked
        answer = api.post("/streams", json={"name": unique("VOV1 Thời sự"),
                                            "url": f"http://127.0.0.1:{free_port()}/vov1.mp3",
                                            "allow_unreachable": True})
        answer.raise_for_status()
        ids["stream_id"] = answer.json()["id"]
    with api_as(server, accounts["approver"]) as api:
        answer = api.post("/broadcasts", json={"bulletin_id": approved["id"],
                                               "station_ids": [station["id"]],
                                               "priority": "emergency"})
        answer.raise_for_status()
        ids["broadcast_id"] = answer.json()["id"]
        # the slot 4 s ahead is missed by a station that never connected (grace 3 s)
        deadline = time.monotonic() + 60
        while not api.get("/playbacks", params={"station_id": station["id"],
                                                "status": "missed"}).json()["items"]:
            assert time.monotonic() < deadline, "the never-connected station's slot not missed"
            time.sleep(0.5)
    return ids


def faults(text: str, *, names: list[str]) -> list[str]:
    """What in a page's visible text is not Vietnamese or not the people's time format."""
    for name in names:  # user names are what people typed (admin-1a2b3c)
        text = text.replace(name, "")
    text = ALLOWED.sub("", text)
    found = [f"English {m.group(0)!r} in …{text[max(0, m.start() - 40):m.end() + 40]}…"
             for m in ENGLISH.finditer(text)]
    found += [f"machine time {m.group(0)!r} in …{text[max(0, m.start() - 40):m.end() + 40]}…"
              for m in MACHINE_TIME.finditer(text)]
    found += [f"machine code {m.group(0)!r}" for m in MACHINE_CODE.finditer(text)]
    return found


def untranslated(pages: Pages) -> list[str]:
    log = (pages.server.workdir / "server.log").read_text(encoding="utf-8", errors="replace")
    return [line for line in log.splitlines() if "untranslated message in vi" in line]


def walk(page: Page, paths: list[str], *, names: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in paths:
        answer = page.goto(path)
        assert answer is not None and answer.status == 200, (path, answer and answer.status)
        page.wait_for_load_state("networkidle")
        problems = faults(page.evaluate(VISIBLE), names=names)
        if problems:
            found[path] = problems
    return found


def test_the_walk_knows_every_page() -> None:
    """Every page's path parameters are ones the walk fills (a new page must be added)."""
    unfilled = {p for p in page_paths() if re.search(r"\{(?!(station_id|bulletin_id|"
                                                    r"timetable_id|broadcast_id|stream_id)\})",
                                                    p)}
    assert unfilled == set()
    assert len(page_paths()) >= 15


def test_every_page_reads_in_vietnamese(pages: Pages, speech: Path) -> None:
    ids = seed(pages, speech)
    paths = [p.format(**ids) for p in page_paths()]
    # the same pages with the filters people use
    paths += ["/log?status=missed", "/bulletins?status=rejected", "/bulletins?status=pending"]
    names = list(pages.accounts.values())
    found: dict[str, Any] = {}
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = pages.login("admin", viewport=viewport)
        found |= {f"{size} {path}": problems
                  for path, problems in walk(page, paths, names=names).items()}
        page.goto(f"/log?station_id={ids['station_id']}")
        pages.shot(page, f"log-{size}")
    assert found == {}, json.dumps(found, ensure_ascii=False, indent=1)
    assert untranslated(pages) == []


def test_the_checks_catch_english_and_machine_times() -> None:
    """The walk's checks themselves: they would catch what users reported."""
    reported = ["ưu tiên normal", "played to the end", "preempted by playback 7",
                "2026-11-30T23:00:00+00:00", "06:00 AM", "plan_not_delivered", "late"]
    assert all(faults(text, names=[]) for text in reported)
    assert faults("Đã phát lúc 06:00 Thứ Hai, 30/11/2026 ở Trạm Phường An Khánh · English",
                  names=[]) == []
