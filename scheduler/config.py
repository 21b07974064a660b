"""Settings from the environment (WARDCAST_*), validated once at start-up."""

from __future__ import annotations

import ipaddress
from email.utils import parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from scheduler.reports.cutoffs import Cutoffs
from scheduler.reports.drafts.dates import DraftDates


class Settings(BaseSettings):
    """Everything the scheduler can be told; bad values fail fast with a clear message."""

    model_config = SettingsConfigDict(env_prefix="WARDCAST_", extra="ignore")

    data_dir: Path = Path("./wardcast-data")
    database_url: str | None = None
    broker: Literal["embedded", "external"] = "embedded"
    # Which broker `embedded` runs: Mosquitto (supervised) where its binary is found, else
    # amqtt in-process (fit for a few hundred stations); or one of them on purpose.
    embedded_broker: Literal["auto", "mosquitto", "amqtt"] = "auto"
    mosquitto_binary: Path | None = None  # None: `mosquitto` on PATH, /usr/sbin, /usr/local/sbin
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    # PEM CA bundle that signed the broker's certificate, for an mqtts:// mqtt_url (without
    # it: the system's trust store). The broker's certificate and host name are always checked.
    mqtt_ca_file: Path | None = None
    timezone: str = "Asia/Ho_Chi_Minh"
    loudness_target: float = Field(default=-16.0, ge=-40.0, le=-5.0)
    true_peak: float = Field(default=-1.5, ge=-9.0, le=0.0)
    max_upload_bytes: int = Field(default=200 * 1024 * 1024, gt=0)
    # Every other body (JSON, forms); 20,000 station ids are about 0.2 MB of JSON.
    max_json_bytes: int = Field(default=1024 * 1024, ge=64 * 1024)
    horizon_hours: float = Field(default=48.0, gt=0, le=24 * 31)
    # New and changed timetables are checked for clashes this far ahead (past the horizon,
    # by comparing expansions); 0 checks the horizon only.
    lookahead_days: float = Field(default=366.0, ge=0, le=3660)
    # After its slot, a playback with no start report is `missed` once this has passed and
    # the station is online (or came back without reporting it). Longer than the broker
    # takes to notice a link that died without a word (1.5 x the agents' 30 s keepalive, then
    # the station's will makes it offline): else a slot played during such a silence would be
    # declared missed while its report could not get through (tests/faults/test_silent_link).
    missed_grace_s: float = Field(default=60.0, gt=0)
    # A station that is offline may be playing from its plan; its unreported slots are
    # only declared `missed` after this long (or when it reconnects without reporting them).
    offline_grace_s: float = Field(default=6 * 3600.0, gt=0)
    # A slot whose station still lacks its plan or its media this long before it is "at risk"
    # (GET /playbacks?at_risk=true, the dashboard, the home page): time to act on it.
    at_risk_lead_s: float = Field(default=600.0, ge=0, le=7 * 24 * 3600.0)
    # Slots that passed less than this ago are still sent to agents (they may start late).
    late_grace_s: float = Field(default=5.0, ge=0)
    token_ttl_hours: float = Field(default=12.0, gt=0)
    # Reverse proxies (IPs or CIDRs, comma-separated) allowed to name the client in
    # X-Forwarded-For / -Proto; from any other peer the socket's address counts, or a guesser
    # could rotate the header to dodge the login throttle. Empty: trust no one.
    trusted_proxies: str = ""
    # Who uploads a bulletin never approves it, admins included (false: admins may).
    two_person_rule: bool = True
    # Slow HTTP clients (scheduler/http_timeouts.py): a request head must be complete this
    # long after the connection (or its first byte), a request body must not stall this long.
    http_header_timeout_s: float = Field(default=20.0, gt=0, le=3600)
    http_body_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    watchdog_interval_s: float = Field(default=2.0, gt=0)
    planner_interval_s: float = Field(default=300.0, gt=0)
    log_level: str = "INFO"
    # Stream sources (scheduler/streams): the leader probes every stream this often; a probe
    # decodes this many seconds of it to tell a silent stream from one that sounds.
    stream_check_s: float = Field(default=300.0, ge=5, le=86400)
    stream_listen_s: float = Field(default=4.0, ge=1, le=30)
    # Live voice (scheduler/live, docs/live.md): `wardcast serve` runs Icecast 2, supervised,
    # where its binary is found (icecast_binary, else `icecast2` on PATH, /usr/bin,
    # /usr/local/bin), listening on live_host:live_port; live=false runs none. Agents are sent
    # live_url (default: loopback, like mqtt_url). icecast_url (with its source password):
    # an Icecast run by someone else, whose listener check points at wardcast.
    live: bool = True
    icecast_binary: Path | None = None
    live_host: str = "0.0.0.0"
    live_port: int = Field(default=8010, ge=1, le=65535)
    live_url: str | None = None
    icecast_url: str | None = None
    icecast_source_password: SecretStr | None = None
    # Live sessions (scheduler/live): one lasts at most this long (its broadcast's span), and
    # stops itself (`source_lost`) once its source (the browser's WebSocket, an ffmpeg PUT)
    # has been gone this long without a new connection.
    live_max_s: int = Field(default=3600, ge=10, le=24 * 3600)
    live_drop_s: float = Field(default=10.0, ge=1, le=600)
    # Past one machine (docs/scaling.md): each replica names itself (its MQTT client id is
    # derived from it); on PostgreSQL the replicas elect one planner every few seconds.
    replica_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,40}$")
    leader_check_interval_s: float = Field(default=2.0, gt=0, le=60)
    # Consume agent messages through `$share/wardcast/...` so each lands on one replica only.
    shared_subscriptions: bool = False
    # Media in an S3-compatible store (s3://bucket/optional/prefix) instead of the data dir;
    # credentials come the usual AWS way (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...).
    media_url: str | None = None
    s3_endpoint_url: str | None = None  # MinIO, Ceph, Garage...; None: AWS itself
    s3_region: str | None = None

    # Activity reports (scheduler/reports/periods.py): a report year's data begins on this
    # day (MM-DD) of the year before, its second half on this day; Decree 09/2019/NĐ-CP's
    # cut-offs by default. "01-01" and "07-01" give calendar years.
    report_year_start: str = "12-15"
    report_half_start: str = "06-15"
    # The PDF report's letterhead and closing (Decree 30/2020/NĐ-CP); "|" separates lines.
    # The issuing body last, the bodies above it before it.
    report_issuer: str = "ỦY BAN NHÂN DÂN THÀNH PHỐ|PHÒNG VĂN HÓA VÀ THÔNG TIN"
    report_symbol: str = Field(default="VHTT", pattern=r"^[^\s/|]{1,30}$")  # Số: .../BC-VHTT
    report_place: str = ""  # "Buôn Ma Thuột, ngày ..."; empty: dots to fill in by hand
    report_signer_title: str = "TRƯỞNG PHÒNG"  # e.g. "KT. TRƯỞNG PHÒNG|PHÓ TRƯỞNG PHÒNG"
    report_signer: str = ""  # empty: the name is written by hand under the signature
    report_recipients: str = "UBND thành phố (để báo cáo)|Lưu: VT"
    # A PDF lists every station up to this many; past it, the stations most in need of
    # attention (the complete list is in the XLSX): WeasyPrint's time and memory grow with
    # every row (measured in docs/report-files.md).
    report_pdf_max_stations: int = Field(default=500, ge=1, le=100_000)
    # Drafts (scheduler/reports/drafts): on these local days (MM-DD, comma-separated; empty:
    # none) the scheduler makes the city's and each ward's report of the period whose
    # deadline follows, checking every report_draft_check_s whether they are due.
    report_draft_dates: str = "06-10,12-10"
    report_draft_check_s: float = Field(default=3600.0, ge=1, le=86400)
    # The city's draft is e-mailed (PDF and XLSX) to these addresses (comma-separated) when
    # smtp_host is set; ward drafts are on the pages and the API only.
    report_mail_to: str = ""
    # Where people open wardcast (https://wardcast.example.gov.vn), for links in e-mails;
    # empty: the e-mail names the page without a link.
    public_url: str = ""

    # E-mail (SMTP); empty smtp_host: no e-mail. The port defaults by security: 25 for none,
    # 587 for starttls, 465 for tls. A login goes over TLS only.
    smtp_host: str = ""
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "tls"] = "starttls"
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_from: str = ""  # "Phòng VH-TT <vhtt@example.gov.vn>"
    smtp_ca_file: Path | None = None  # None: the system's trust store
    smtp_timeout_s: float = Field(default=30.0, gt=0, le=600)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("report_issuer", "report_signer_title")
    @classmethod
    def _some_lines(cls, value: str) -> str:
        if not lines(value):
            raise ValueError("expected at least one line (lines are separated by |)")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies(cls, value: str) -> str:
        for entry in _entries(value):
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError as exc:
                raise ValueError(f"expected IP addresses or CIDR networks separated by commas, "
                                 f"got {entry!r}") from exc
        return value

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(f"expected mqtt://host:port or mqtts://host:port, got {value!r}")
        return value

    @field_validator("media_url")
    @classmethod
    def _media_url(cls, value: str | None) -> str | None:
        if value is not None and (urlsplit(value).scheme != "s3" or not urlsplit(value).netloc):
            raise ValueError(f"expected s3://bucket or s3://bucket/prefix, got {value!r}")
        return value

    @field_validator("live_url")
    @classmethod
    def _live_url(cls, value: str | None) -> str | None:
        parts = urlsplit(value or "")
        if value is not None and (parts.scheme not in ("http", "https") or not parts.hostname):
            raise ValueError(f"expected http(s)://host[:port], got {value!r}")
        return value.rstrip("/") if value else value

    @field_validator("icecast_url")
    @classmethod
    def _icecast_url(cls, value: str | None) -> str | None:
        # the scheduler's ffmpeg sends to it with icecast://, which speaks plain HTTP
        parts = urlsplit(value or "")
        if value is not None and (parts.scheme != "http" or not parts.hostname
                                  or parts.path.strip("/") or parts.port == 0):
            raise ValueError(f"expected http://host:port, got {value!r}")
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _external_icecast(self) -> Settings:
        if self.icecast_url and not (self.icecast_source_password
                                     and self.icecast_source_password.get_secret_value()):
            raise ValueError("icecast_source_password: needed with icecast_url (the password "
                             "sources log in to that Icecast with)")
        return self

    @property
    def trusted_proxy_list(self) -> list[str]:
        return _entries(self.trusted_proxies)

    @model_validator(mode="after")
    def _report_cutoffs(self) -> Settings:
        try:
            Cutoffs.parse(self.report_year_start, self.report_half_start).half(2026, 1)
        except ValueError as exc:
            raise ValueError(f"report_year_start / report_half_start: {exc}") from exc
        return self

    @property
    def report_cutoffs(self) -> Cutoffs:
        return Cutoffs.parse(self.report_year_start, self.report_half_start)

    @model_validator(mode="after")
    def _draft_dates(self) -> Settings:
        try:
            DraftDates.parse(self.report_draft_dates, self.report_cutoffs)
        except ValueError as exc:
            raise ValueError(f"report_draft_dates: expected MM-DD days separated by commas, "
                             f"one a period: {exc}") from exc
        return self

    @property
    def draft_dates(self) -> DraftDates:
        return DraftDates.parse(self.report_draft_dates, self.report_cutoffs)

    @field_validator("smtp_from", "report_mail_to")
    @classmethod
    def _addresses(cls, value: str) -> str:
        for entry in _entries(value):
            if not _address(entry):
                raise ValueError(f"expected e-mail addresses (name@example.gov.vn or "
                                 f"Name <name@example.gov.vn>), got {entry!r}")
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if value and (parts.scheme not in ("http", "https") or not parts.netloc):
            raise ValueError(f"expected http(s)://host[:port][/path], got {value!r}")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _smtp(self) -> Settings:
        if not self.smtp_host:
            return self
        if not self.smtp_from:
            raise ValueError("smtp_from: the sender's address is needed when smtp_host is set")
        if bool(self.smtp_username) != bool(self.smtp_password.get_secret_value()):
            raise ValueError("smtp_username and smtp_password go together")
        if self.smtp_username and self.smtp_security == "none":
            raise ValueError("smtp_username: a password is sent over TLS only "
                             "(smtp_security starttls or tls)")
        return self

    @property
    def report_mail_list(self) -> list[str]:
        return _entries(self.report_mail_to)

    @property
    def smtp_port_or_default(self) -> int:
        return self.smtp_port or {"none": 25, "starttls": 587, "tls": 465}[self.smtp_security]

    @property
    def mqtt_tls(self) -> bool:
        return urlsplit(self.mqtt_url).scheme == "mqtts"

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'wardcast.sqlite3').resolve()}"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def mqtt_host(self) -> str:
        return urlsplit(self.mqtt_url).hostname or "127.0.0.1"

    @property
    def mqtt_port(self) -> int:
        parts = urlsplit(self.mqtt_url)
        return parts.port or (8883 if parts.scheme == "mqtts" else 1883)

    @property
    def mqtt_username(self) -> str | None:
        return urlsplit(self.mqtt_url).username

    @property
    def mqtt_password(self) -> str | None:
        return urlsplit(self.mqtt_url).password


def lines(value: str) -> list[str]:
    """Split a "|"-separated setting into its non-empty lines."""
    return [part.strip() for part in value.split("|") if part.strip()]


def _entries(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _address(entry: str) -> bool:
    """Tell whether a text is one e-mail address, with or without a display name."""
    _name, address = parseaddr(entry)
    local, at, domain = address.rpartition("@")
    return bool(local and at and domain) and " " not in address


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings."""
    return Settings()
