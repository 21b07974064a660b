"""The playback log as files people open: CSV (UTF-8 with a BOM, which Excel needs to read
Vietnamese) and XLSX, both a batch of rows at a time so that the log's millions of rows are
never in memory at once."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

import xlsxwriter
from sqlalchemy.orm import Session

from scheduler.db import Database
from scheduler.playbacks import service as playbacks
from scheduler.playbacks.service import PlaybackFilter
from scheduler.web.format import STAMP_FORMAT
from scheduler.web.i18n import N_
from scheduler.web.logcolumns import CSV, XLSX, Column, Kind, Row, Words
from wardcast.csvcells import looks_like_formula, safe_cell
from wardcast.protocol import to_wire

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOM = "\ufeff"
EXCEL_ROWS = 1_048_576  # a worksheet's rows, its header included: more go on the next sheet
CHUNK = 64 * 1024
WIDTHS: dict[Kind, int] = {"number": 10, "text": 24, "utc": 21, "local": 19}


def csv_chunks(*, db: Database, filters: PlaybackFilter, lang: str, zone: str,
               bom: bool = True) -> Iterator[bytes]:
    """Yield the filtered log as CSV, header first, then a batch of rows at a time.

    It reads in a session of its own: the response is still streaming after the request's
    session has closed."""
    words = Words(lang, default_zone=zone)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(BOM if bom else "")
    writer.writerow([column.title(words) for column in CSV])
    yield _drain(buffer)
    with db.session() as session:
        for batch in playbacks.log_batches(session=session, filters=filters):
            writer.writerows([_csv_cell(column, column.get(row, words)) for column in CSV]
                             for row in batch)
            yield _drain(buffer)


def _drain(buffer: io.StringIO) -> bytes:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text.encode("utf-8")


def _csv_cell(column: Column, value: object) -> object:
    if value is None:
        return ""
    if column.kind == "utc" and isinstance(value, datetime):
        return to_wire(value)
    if column.kind == "local" and isinstance(value, datetime):
        return value.strftime(STAMP_FORMAT)
    return safe_cell(value)  # a station's reason, a title: never a formula in a spreadsheet


def xlsx_file(*, session: Session, filters: PlaybackFilter, lang: str, zone: str,
              sheet_rows: int = EXCEL_ROWS) -> IO[bytes]:
    """Write the filtered log to an XLSX temporary file and return it, rewound.

    XlsxWriter's constant_memory mode writes each row out as it goes (strings inline), so
    memory stays flat however long the log; a sheet full at Excel's limit is followed by
    another."""
    handle = tempfile.TemporaryFile()  # closed by file_chunks, or below on failure
    try:
        workbook = xlsxwriter.Workbook(handle, {
            "constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
            "strings_to_numbers": False})
        sheets = _Sheets(workbook, Words(lang, default_zone=zone), sheet_rows)
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
        for index, column in enumerate(XLSX):
            self._cell(index, column.kind, column.get(row, self.words))

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
                                    self.as_text if looks_like_formula(text) else None)

    def finish(self) -> None:
        """Put the autofilter over the sheet's rows (known only once they are written)."""
        if self.sheet is not None:
            self.sheet.autofilter(0, 0, self.row, len(XLSX) - 1)
