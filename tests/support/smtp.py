"""A real SMTP server for tests (aiosmtpd, in a thread of the test process) that keeps every
message it is sent, as received."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as Server
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from tests.support.procs import free_port


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Mailbox:
    """What the server was sent, and who logged in."""

    received: list[Received] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_DATA(self, server: Server, session: Session,  # noqa: N802 - aiosmtpd's
                          envelope: Envelope) -> str:
        assert envelope.mail_from is not None and isinstance(envelope.content, bytes)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                      envelope.original_content or envelope.content))
        return "250 OK"


class Accounts:
    """An AUTH checker: one user name and password."""

    def __init__(self, mailbox: Mailbox, username: str, password: str) -> None:
        self.mailbox, self.username, self.password = mailbox, username, password

    def __call__(self, server: Server, session: Session, envelope: Envelope, mechanism: str,
                 auth_data: Any) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.mailbox.logins.append((login, password))
        return AuthResult(success=(login, password) == (self.username, self.password))


class SmtpServer:
    """aiosmtpd on 127.0.0.1 and a free port (or the port given), optionally with STARTTLS
    required and a login."""

    def __init__(self, *, port: int | None = None, certs: Path | None = None,
                 login: tuple[str, str] | None = None) -> None:
        self.port = port or free_port()
        self.mailbox = Mailbox()
        options: dict[str, Any] = {}
        if certs is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(certs / "scheduler.crt", certs / "scheduler.key")
            options |= {"tls_context": context, "require_starttls": True}
        if login is not None:
            options |= {"authenticator": Accounts(self.mailbox, *login), "auth_required": True}
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port,
                                     **options)

    def __enter__(self) -> Mailbox:
        self.controller.start()
        return self.mailbox

    def __exit__(self, *_exc: object) -> None:
        self.controller.stop()
