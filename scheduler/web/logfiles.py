"""The playback log as files people open: CSV (UTF-8 with a BOM, which Excel needs to read
Vietnamese) and XLSX, both a batch of rows at a time so that the log's millions of rows are
never in memory at once."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

import xlsxwriter
from sqlalchemy.orm import Session

from scheduler.catalogue import service as catalogue
from scheduler.db import Database
from scheduler.playbacks import service as playbacks
from scheduler.playbacks.service import PlaybackFilter
from scheduler.web import i18n
from scheduler.web.format import STAMP_FORMAT
from scheduler.web.i18n import N_
from scheduler.web.logcolumns import CSV, XLSX, Kind, Row, Words
from wardcast.csvcells import BOM, looks_like_formula, safe_cell
from wardcast.protocol import to_wire

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXCEL_ROWS = 1_048_576  # a worksheet's rows, its header included: more go on the next sheet
CHUNK = 64 * 1024
WIDTHS: dict[Kind, int] = {"number": 10, "text": 24, "utc": 21, "local": 19}


def csv_chunks(*, db: Database, filters: PlaybackFilter, lang: str, zone: str,
               bom: bool = True) -> Iterator[bytes]:
    """Yield the filtered log as CSV, header first, then a batch of rows at a time.

    It reads in a session of its own: the response is still streaming after the request's
    session has closed."""
    with db.session() as session:
        words = _words(session, lang=lang, zone=zone)
        cells = [_csv_cell(column.reader(words), column.kind) for column in CSV]
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write(BOM if bom else "")
        writer.writerow([column.title(words) for column in CSV])
        yield _drain(buffer)
        for batch in playbacks.log_batches(session=session, filters=filters):
            writer.writerows([cell(row) for cell in cells] for row in batch)
            yield _drain(buffer)


def _words(session: Session, *, lang: str, zone: str) -> Words:
    """The export's words, with the topic and source names an admin keeps."""
    return Words(lang, default_zone=zone,
                 names=catalogue.names(session=session, lang=i18n.pick(lang)))


def _drain(buffer: io.StringIO) -> bytes:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text.encode("utf-8")


# names, titles, words and reasons repeat from row to row: each is checked once
_safe_text = lru_cache(maxsize=4096)(safe_cell)
_formula_like = lru_cache(maxsize=4096)(looks_like_formula)


def _csv_cell(read: Callable[[Row], Any], kind: Kind) -> Callable[[Row], object]:
    """Return what gives a column's CSV cell from a row (the csv module writes None as "")."""
    if kind == "number":
        return read
    if kind == "utc":
        return lambda row: None if (moment := read(row)) is None else to_wire(moment)
    if kind == "local":
        return lambda row: None if (moment := read(row)) is None else moment.strftime(
            STAMP_FORMAT)
    # a station's reason, a title: never a formula in a spreadsheet
    return lambda row: _safe_text(read(row) or "")


def xlsx_file(*, session: Session, filters: PlaybackFilter, lang: str, zone: str,
              scratch: Path, sheet_rows: int = EXCEL_ROWS) -> IO[bytes]:
    """Write the filtered log to an XLSX temporary file in `scratch` and return it, rewound.

    XlsxWriter's constant_memory mode writes each row out to its own work file as it goes
    (strings inline), so memory stays flat however long the log (the work files take about
    1.1 GB a million rows, the XLSX a tenth of it); a sheet full at Excel's limit is followed
    by another. Work files go in a folder of their own, removed whatever happens; `scratch`
    is this process's scratch folder, which the next start sweeps if the process is killed."""
    handle = tempfile.TemporaryFile(dir=scratch)  # closed by file_chunks, or below on failure
    try:
        with tempfile.TemporaryDirectory(dir=scratch, prefix="xlsx-") as work:
            workbook = xlsxwriter.Workbook(handle, {
                "constant_memory": True, "tmpdir": work, "strings_to_formulas": False,
                "strings_to_urls": False, "strings_to_numbers": False})
            sheets = _Sheets(workbook, _words(session, lang=lang, zone=zone), sheet_rows)
            for batch in playbacks.log_batches(session=session, filters=filters):
                for row in batch:
                    sheets.write(row)
            sheets.finish()
            workbook.close()
    except BaseException:
        handle.close()
        raise
    handle.seek(0)
    return handle


def size(handle: IO[bytes]) -> int:
    return os.fstat(handle.fileno()).st_size


def file_chunks(handle: IO[bytes]) -> Iterator[bytes]:
    """Yield a file's bytes, then close it (a temporary file is gone with it)."""
    with handle:
        while chunk := handle.read(CHUNK):
            yield chunk


class _Sheets:
    """The log's worksheets: a header row frozen above an autofilter, then the rows."""

    def __init__(self, workbook: Any, words: Words, sheet_rows: int) -> None:
        self.workbook = workbook
        self.words = words
        self.sheet_rows = sheet_rows
        self.header = workbook.add_format({"bold": True, "text_wrap": True, "valign": "top"})
        self.stamp = workbook.add_format({"num_format": "dd/mm/yyyy hh:mm:ss"})
        # shown as typed with a leading ': stays text even when someone edits the cell
        self.as_text = workbook.add_format({"quote_prefix": True})
        self.cells = [(index, column.kind, column.reader(words))
                      for index, column in enumerate(XLSX)]
        self.sheet: Any = None
        self.row = 0
        self.count = 0
        self._next_sheet()

    def _next_sheet(self) -> None:
        self.finish()
        self.count += 1
        name = self.words.word(N_("Playback log"))
        self.sheet = self.workbook.add_worksheet(
            name if self.count == 1 else f"{name} ({self.count})")
        for index, column in enumerate(XLSX):
            self.sheet.set_column(index, index, WIDTHS[column.kind])
            self.sheet.write_string(0, index, column.title(self.words), self.header)
        self.sheet.freeze_panes(1, 0)
        self.row = 0

    def write(self, row: Row) -> None:
        if self.row + 1 >= self.sheet_rows:
            self._next_sheet()
        self.row += 1
        for index, kind, read in self.cells:
            self._cell(index, kind, read(row))

    def _cell(self, index: int, kind: Kind, value: object) -> None:
        if value is None or value == "":
            return
        if kind == "number" and isinstance(value, int | float):
            self.sheet.write_number(self.row, index, value)
        elif kind == "local" and isinstance(value, datetime):
            # Excel has no zones: the station's wall-clock time, as the CSV gives it
            self.sheet.write_datetime(self.row, index, value.replace(tzinfo=None), self.stamp)
        elif kind == "utc" and isinstance(value, datetime):
            self.sheet.write_string(self.row, index, to_wire(value))
        else:
            text = str(value)  # a string cell is never run, whatever it says
            self.sheet.write_string(self.row, index, text,
                                    self.as_text if _formula_like(text) else None)

    def finish(self) -> None:
        """Put the autofilter over the sheet's rows (known only once they are written)."""
        if self.sheet is not None:
            self.sheet.autofilter(0, 0, self.row, len(XLSX) - 1)
