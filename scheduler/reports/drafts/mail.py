"""The city's draft by e-mail: a short Vietnamese message with the key totals, the report as
PDF and XLSX attached, sent over SMTP (stdlib smtplib) with a timeout."""

from __future__ import annotations

import base64
import io
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from scheduler.catalogue.names import Names
from scheduler.config import Settings
from scheduler.reports import formats
from scheduler.reports.drafts import service as drafts
from scheduler.reports.drafts.models import ReportDraft
from scheduler.reports.render import tables, words
from scheduler.reports.schemas import ActivityReport
from wardcast.protocol import utcnow

# the drafts are on the home page (scheduler/web/templates/home.html, section report-drafts)
PAGE = "/#report-drafts"


def enabled(settings: Settings) -> bool:
    """Whether drafts are mailed: an SMTP server and someone to mail them to."""
    return bool(settings.smtp_host and settings.report_mail_list)


def compose(*, draft: ReportDraft, report: ActivityReport, names: Names, settings: Settings,
            wards: int) -> EmailMessage:
    """The message: subject and body in Vietnamese, the PDF and the XLSX attached."""
    message = EmailMessage()
    message["Subject"] = f"{drafts.title(report.title)} — thông tin cơ sở toàn thành phố"
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(settings.report_mail_list)
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(domain=_domain(settings.smtp_from))
    message.set_content(_body(report, settings, wards), charset="utf-8")
    for extension, (maintype, subtype) in (("pdf", ("application", "pdf")),
                                           ("xlsx", ("application", formats.XLSX_TYPE.split(
                                               "/", 1)[1]))):
        out = io.BytesIO()
        formats.FORMATS[extension].write(report, names, out, settings)
        message.add_attachment(out.getvalue(), maintype=maintype, subtype=subtype,
                               filename=drafts.file_name(draft, extension))
    return message


def send(message: EmailMessage, *, settings: Settings) -> dict[str, tuple[int, bytes]]:
    """Send a message; return the recipients the server refused (the others got it).

    Raises smtplib.SMTPException or OSError (refused connection, timeout, TLS) if nobody got it.
    """
    context = ssl.create_default_context(
        cafile=str(settings.smtp_ca_file) if settings.smtp_ca_file else None)
    host, port, timeout = settings.smtp_host, settings.smtp_port_or_default, settings.smtp_timeout_s
    client = (smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
              if settings.smtp_security == "tls" else smtplib.SMTP(host, port, timeout=timeout))
    with client:
        if settings.smtp_security == "starttls":
            client.starttls(context=context)
        if settings.smtp_username:
            _login(client, settings.smtp_username, settings.smtp_password.get_secret_value())
        return client.send_message(message)


def _login(client: smtplib.SMTP, username: str, password: str) -> None:
    """Log in; smtplib encodes credentials as ASCII, so others go as UTF-8 in AUTH PLAIN
    (RFC 4616), which every server that offers PLAIN reads."""
    if (username + password).isascii():
        client.login(username, password)
        return
    client.ehlo_or_helo_if_needed()
    if "PLAIN" not in client.esmtp_features.get("auth", "").upper().split():
        raise smtplib.SMTPException("the server offers no AUTH PLAIN, which a login that is "
                                    "not ASCII needs")
    token = base64.b64encode(f"\0{username}\0{password}".encode()).decode()
    code, reply = client.docmd("AUTH", f"PLAIN {token}")
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, reply)


def _body(report: ActivityReport, settings: Settings, wards: int) -> str:
    zone = report.timezone
    where = (f"{settings.public_url}{PAGE}" if settings.public_url
             else "trang chủ của wardcast")
    lines = [
        f"wardcast đã tự động lập {drafts.title(report.title).lower()} về tình hình hoạt "
        f"động thông tin cơ sở của toàn thành phố, số liệu tính đến "
        f"{words.stamp(report.generated_at, zone)}.",
        "",
        # the PDF's first paragraphs: what was planned, what became of it, time on air (its
        # third announces a table the message has not)
        *[f"{paragraph}\n" for paragraph in tables.summary(report)[:2]],
        f"Báo cáo đầy đủ ở hai tệp đính kèm: PDF (theo mẫu báo cáo hành chính) và XLSX "
        f"(số liệu từng phường, từng trạm). Dự thảo của {words.number(wards)} phường, xã "
        f"xem và tải về tại: {where}",
        "",
        f"Đây là dự thảo do hệ thống tự lập; số liệu kỳ báo cáo còn thay đổi đến hết ngày "
        f"{words.day(report.to)}.",
        "",
        "-- ",
        "wardcast",
    ]
    return "\n".join(lines) + "\n"


def _domain(address: str) -> str:
    return parseaddr(address)[1].rpartition("@")[2] or "wardcast"
