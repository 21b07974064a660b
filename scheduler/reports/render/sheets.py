"""Writing a worksheet top to bottom with typed cells: what the workbook's sheets share."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

from wardcast.csvcells import looks_like_formula

# number formats Excel shows with the reader's own separators (1.234,5 on a Vietnamese PC)
FORMATS: dict[str, dict[str, Any]] = {
    "title": {"bold": True, "font_size": 14},
    "bold": {"bold": True},
    "label": {},
    "text": {},
    "header": {"bold": True, "text_wrap": True, "valign": "top", "border": 1,
               "bg_color": "#DDEBF7"},
    "count": {"num_format": "#,##0"},
    "hours": {"num_format": "#,##0.00"},
    "duration": {"num_format": "[h]:mm"},
    "share": {"num_format": "0.0%"},
    "change_count": {"num_format": "+#,##0;-#,##0;0"},
    "change_hours": {"num_format": "+#,##0.00;-#,##0.00;0.00"},
    "change_points": {"num_format": "+0.0%;-0.0%;0.0%"},
    "change_share": {"num_format": "+0.0%;-0.0%;0.0%"},
    "date": {"num_format": "dd/mm/yyyy"},
    "datetime": {"num_format": "dd/mm/yyyy hh:mm"},
}


class Cell(NamedTuple):
    value: object
    style: str = "text"


class Styles:
    """The workbook's formats by name, each with a twin for text that looks like a formula."""

    def __init__(self, book: Any) -> None:
        self._book = book
        self._plain = {name: book.add_format(props) for name, props in FORMATS.items()}
        self._quoted: dict[str, Any] = {}

    def get(self, style: str, *, quoted: bool = False) -> Any:
        if not quoted:
            return self._plain[style]
        if style not in self._quoted:  # Excel keeps the text as text even once edited
            self._quoted[style] = self._book.add_format({**FORMATS[style], "quote_prefix": True})
        return self._quoted[style]


class Rows:
    """A worksheet written row after row, as constant_memory mode needs (a row left is gone)."""

    def __init__(self, sheet: Any, styles: Styles) -> None:
        self.sheet = sheet
        self.styles = styles
        self.row = 0
        self._header_row: int | None = None

    def columns(self, widths: Sequence[float]) -> None:
        for column, width in enumerate(widths):
            self.sheet.set_column(column, column, width)

    def header(self, heads: Sequence[str], *, freeze: bool = True) -> None:
        """Write a table's header row; freeze it (and the first column) on screen."""
        self.sheet.set_row(self.row, 48)
        if freeze:
            self.sheet.freeze_panes(self.row + 1, 1)
        self._header_row = self.row
        self.line(*(Cell(head, "header") for head in heads))

    def line(self, *cells: Cell) -> None:
        for column, cell in enumerate(cells):
            self._put(column, cell)
        self.row += 1

    def blank(self) -> None:
        self.row += 1

    def done(self, *, filter_width: int = 0) -> None:
        """Finish the sheet: a filter on its table, and its temporary file closed."""
        if filter_width and self._header_row is not None and self.row > self._header_row + 1:
            self.sheet.autofilter(self._header_row, 0, self.row - 1, filter_width - 1)
        # Each sheet streams into a temporary file that XlsxWriter keeps open until the book
        # closes: hundreds of ward sheets would run out of file descriptors. It reopens the
        # file itself when it assembles the book (Packager._write_worksheet_files).
        self.sheet._opt_close()

    def _put(self, column: int, cell: Cell) -> None:
        value, style = cell
        if value is None:
            self.sheet.write_blank(self.row, column, None, self.styles.get(style))
        elif isinstance(value, str):
            # write_string: a name someone typed is never read as a formula
            self.sheet.write_string(self.row, column, value, self.styles.get(
                style, quoted=looks_like_formula(value)))
        elif isinstance(value, datetime | date):
            self.sheet.write_datetime(self.row, column, value, self.styles.get(style))
        elif isinstance(value, int | float):
            self.sheet.write_number(self.row, column, value, self.styles.get(style))
        else:
            raise TypeError(f"no cell for {type(value).__name__}")
