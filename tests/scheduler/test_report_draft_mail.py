"""The city's draft by e-mail to a real SMTP server (aiosmtpd on a free port): the message
arrives once, in Vietnamese (UTF-8), with the report as PDF and XLSX; STARTTLS and a login;
a server that cannot be reached is recorded on the draft and tried again at the next run."""

from __future__ import annotations

import io
import subprocess
import unicodedata
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from scheduler.config import Settings
from scheduler.db import Database
from scheduler.reports.drafts import service as drafts
from scheduler.reports.render.words import number
from scheduler.reports.schemas import ActivityReport
from tests.scheduler.report_drafts_support import DRAFT_DAY, run, stored
from tests.scheduler.report_scenario import EA_TAM, TAN_LOI, build, local
from tests.support.clock import Clock
from tests.support.procs import free_port
from tests.support.smtp import SmtpServer
from tests.tls.test_tls_path import make_certs

SENDER = "Phòng Văn hóa và Thông tin <vhtt@example.gov.vn>"
RECIPIENTS = ["lanh-dao@example.gov.vn", "van-thu@example.gov.vn"]


def _settings(tmp_path: Path, database_url: str, port: int, **more: Any) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url,
                    smtp_host="127.0.0.1", smtp_port=port,
                    smtp_security=more.pop("smtp_security", "none"), smtp_from=SENDER,
                    report_mail_to=", ".join(RECIPIENTS),
                    public_url="https://wardcast.example.gov.vn", **more)


def test_the_citys_draft_arrives_once_with_its_pdf_and_xlsx(
        db: Database, clock: Clock, tmp_path: Path, database_url: str) -> None:
    build(db, clock)
    server = SmtpServer()
    settings = _settings(tmp_path, database_url, server.port)
    with server as mailbox:
        outcome = run(db, settings, clock, local(DRAFT_DAY, 6))
        assert outcome.mailed is True
        run(db, settings, clock, local(DRAFT_DAY, 7))  # already mailed: not again
    assert len(mailbox.received) == 1
    got = mailbox.received[0]
    assert got.recipients == RECIPIENTS and got.sender == "vhtt@example.gov.vn"
    message = got.message
    assert message["Subject"] == ("Dự thảo báo cáo 6 tháng đầu năm 2026 — thông tin cơ sở "
                                  "toàn thành phố")
    assert message["From"] == SENDER  # the name, encoded for the wire, reads back intact
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    city = stored(db)[None]
    assert city.figures is not None
    report = ActivityReport.model_validate(city.figures)
    flat = " ".join(text.split())
    assert "dự thảo báo cáo 6 tháng đầu năm 2026" in flat
    assert "số liệu tính đến 06:00 10/06/2026" in flat
    assert f"{number(report.totals.planned)} lượt phát theo kế hoạch" in flat
    assert f"đã phát {number(report.totals.played)} lượt" in flat
    assert "như bảng sau" not in flat  # the PDF's words for its table, not the mail's
    assert ("Dự thảo của 2 phường, xã xem và tải về tại: "
            "https://wardcast.example.gov.vn/#report-drafts") in flat
    files = {part.get_filename(): part for part in message.iter_attachments()}
    assert set(files) == {"du-thao-bao-cao_2026-H1_thanh-pho.pdf",
                          "du-thao-bao-cao_2026-H1_thanh-pho.xlsx"}
    pdf = files["du-thao-bao-cao_2026-H1_thanh-pho.pdf"]
    assert pdf.get_content_type() == "application/pdf"
    path = tmp_path / "draft.pdf"
    path.write_bytes(pdf.get_content())
    pdf_text = unicodedata.normalize("NFC", subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], capture_output=True, check=True,
        text=True).stdout)
    squeezed = "".join(pdf_text.split())
    assert "BÁOCÁO" in squeezed and "từngày15/12/2025đếnngày14/06/2026" in squeezed
    for ward in (TAN_LOI, EA_TAM):
        assert "".join(ward.split()) in squeezed
    book = openpyxl.load_workbook(io.BytesIO(
        files["du-thao-bao-cao_2026-H1_thanh-pho.xlsx"].get_content()))
    assert book.sheetnames == ["Tổng hợp", "Phường, xã", "Trạm", EA_TAM, TAN_LOI]
    names = {row[0] for row in book["Trạm"].iter_rows(values_only=True)}
    assert {station.name for station in report.stations} <= names
    assert city.mailed_at == local(DRAFT_DAY, 6) and city.mail_error is None
    assert city.mail_attempts == 1
    assert all(d.mailed_at is None for w, d in stored(db).items() if w is not None)


def test_an_smtp_server_that_cannot_be_reached_is_recorded_and_tried_again(
        db: Database, clock: Clock, tmp_path: Path, database_url: str) -> None:
    build(db, clock)
    port = free_port()  # nobody listens there yet
    settings = _settings(tmp_path, database_url, port)
    outcome = run(db, settings, clock, local(DRAFT_DAY, 6))
    assert outcome.made == [None, EA_TAM, TAN_LOI] and outcome.mailed is False
    city = stored(db)[None]
    assert city.mailed_at is None and city.mail_attempts == 1
    assert city.mail_error is not None and "ConnectionRefusedError" in city.mail_error
    with SmtpServer(port=port) as mailbox:  # the server is back for the next run
        assert run(db, settings, clock, local(DRAFT_DAY, 7)).mailed is True
    assert len(mailbox.received) == 1
    city = stored(db)[None]
    assert (city.mailed_at, city.mail_error, city.mail_attempts) == (
        local(DRAFT_DAY, 7), None, 2)


def test_mail_is_tried_a_few_times_only(db: Database, clock: Clock, tmp_path: Path,
                                        database_url: str) -> None:
    build(db, clock)
    settings = _settings(tmp_path, database_url, free_port())
    for hour in range(6, 6 + drafts.MAX_ATTEMPTS):
        assert run(db, settings, clock, local(DRAFT_DAY, hour)).mailed is False
    assert run(db, settings, clock, local(DRAFT_DAY, 12)).mailed is None
    assert stored(db)[None].mail_attempts == drafts.MAX_ATTEMPTS


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_starttls_and_a_login(db: Database, clock: Clock, tmp_path: Path,
                              database_url: str) -> None:
    build(db, clock)
    certs = make_certs(tmp_path / "certs")
    server = SmtpServer(certs=certs, login=("wardcast", "mật-khẩu-thư"))
    settings = _settings(tmp_path, database_url, server.port, smtp_security="starttls",
                         smtp_ca_file=certs / "ca.crt", smtp_username="wardcast",
                         smtp_password="mật-khẩu-thư")
    with server as mailbox:
        assert run(db, settings, clock, local(DRAFT_DAY, 6)).mailed is True
    assert mailbox.logins == [("wardcast", "mật-khẩu-thư")] and len(mailbox.received) == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_server_certificate_from_another_ca_is_refused(
        db: Database, clock: Clock, tmp_path: Path, database_url: str) -> None:
    build(db, clock)
    server = SmtpServer(certs=make_certs(tmp_path / "certs"))
    other_ca = make_certs(tmp_path / "other") / "ca.crt"
    settings = _settings(tmp_path, database_url, server.port, smtp_security="starttls",
                         smtp_ca_file=other_ca)
    with server as mailbox:
        assert run(db, settings, clock, local(DRAFT_DAY, 6)).mailed is False
    assert mailbox.received == []
    error = stored(db)[None].mail_error
    assert error is not None and "CERTIFICATE_VERIFY_FAILED" in error


def test_no_mail_without_an_smtp_server(db: Database, clock: Clock, tmp_path: Path,
                                        database_url: str) -> None:
    build(db, clock)
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url,
                        report_mail_to="lanh-dao@example.gov.vn")
    assert run(db, settings, clock, local(date(2026, 6, 10), 6)).mailed is None
    assert stored(db)[None].mail_attempts == 0
