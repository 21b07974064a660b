"""A stream's address: network schemes only, credentials kept apart from it and out of logs."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from scheduler.errors import InvalidInput
from scheduler.streams.models import CREDENTIAL_LENGTH, URL_LENGTH

# ffmpeg reads files, pipes and other protocols of the server's own (file:, pipe:, concat:,
# subfile:, data:): a stream may only be fetched over the network
SCHEMES = ("http", "https")
REDACTED = "***"


class InvalidUrl(InvalidInput):
    code = "invalid_url"


@dataclass(frozen=True)
class Source:
    """Where a stream is and how to log in to it."""

    url: str
    username: str | None = None
    password: str | None = None

    def address(self) -> str:
        """The URL ffmpeg opens: the credentials in its userinfo, percent-encoded."""
        if not self.username:
            return self.url
        parts = urlsplit(self.url)
        login = quote(self.username, safe="") + ":" + quote(self.password or "", safe="")
        return urlunsplit(parts._replace(netloc=f"{login}@{parts.netloc}"))

    def redact(self, text: str) -> str:
        """Text (an ffmpeg message) with the credentials taken out."""
        text = text.replace(self.address(), self.url)
        for secret in (self.password, quote(self.password or "", safe="")):
            if secret and len(secret) >= 3:  # shorter ones would blank ordinary words
                text = text.replace(secret, REDACTED)
        return text


def refused(url: str, why_vi: str, why_en: str) -> InvalidUrl:
    shown = url if len(url) <= 80 else url[:77] + "…"
    return InvalidUrl(f"Địa chỉ luồng «{shown}» không dùng được: {why_vi} — the stream address "
                      f"cannot be used: {why_en}", field="url")


def parse(raw: str, *, username: str | None = None, password: str | None = None) -> Source:
    """Check an address typed by a person; credentials typed into it move to their fields."""
    url = raw.strip()
    if not url or len(url) > URL_LENGTH or any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise refused(url, "địa chỉ trống, quá dài hoặc có khoảng trắng",
                      "it is empty, too long or has spaces in it")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # "http://[::1" and the like
        raise refused(url, "địa chỉ viết sai", "it is not a valid address") from exc
    if parts.scheme.lower() not in SCHEMES:
        raise refused(url, "chỉ nhận địa chỉ http:// hoặc https:// (Icecast, Shoutcast, HLS)",
                      "only http:// and https:// addresses are accepted (Icecast, Shoutcast, "
                      "HLS)")
    if not parts.hostname:
        raise refused(url, "thiếu tên máy chủ", "it names no server")
    if parts.username is not None:
        username = username or unquote(parts.username)
        password = password or unquote(parts.password or "")
        parts = parts._replace(netloc=parts.netloc.rpartition("@")[2])
    if password and not username:
        raise InvalidInput("Có mật khẩu thì cần cả tên đăng nhập — a password needs a user name",
                           field="username")
    return Source(url=urlunsplit(parts._replace(scheme=parts.scheme.lower())),
                  username=_credential(username, "username"),
                  password=_credential(password, "password") if username else None)


def has_login(raw: str) -> bool:
    """Tell whether an address carries a user name (an unreadable one: parse() refuses it)."""
    try:
        return urlsplit(raw.strip()).username is not None
    except ValueError:
        return False


def _credential(value: str | None, field: str) -> str | None:
    if value is None or value == "":
        return None
    if len(value) > CREDENTIAL_LENGTH or any(ord(ch) < 32 for ch in value):
        raise InvalidInput(f"Tên đăng nhập hoặc mật khẩu của luồng quá dài hoặc có ký tự "
                           f"điều khiển — the stream's {field} is too long or has control "
                           f"characters", field=field)
    return value
