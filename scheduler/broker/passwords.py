"""Mosquitto's password file: station logins hashed the way `mosquitto_passwd` hashes them.

A station's token is shown once and stored only as its sha256, from which Mosquitto's hash
cannot be made; so when a token is issued its Mosquitto hash is stored beside it, and the
password file is written from the database whenever it changes.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

SALT_BYTES = 12


def mosquitto_hash(password: str, *, salt: bytes | None = None) -> str:
    """Return the `$6$` salted SHA-512 hash Mosquitto checks a password against.

    Not `mosquitto_passwd`'s default `$7$` (PBKDF2, 101 rounds): on every reload Mosquitto
    checks each connected client's password again, and with thousands of stations that held
    the broker for a noticeable time per reload (an emergency going out meanwhile waits;
    docs/benchmarks.md §2b). Stretching protects
    passwords people choose; a station token is 256 random bits, out of reach either way.
    """
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    digest = hashlib.sha512(password.encode() + salt).digest()
    return f"$6${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def write_password_file(path: Path, logins: Iterable[tuple[str, str]]) -> int:
    """Write `username:hash` lines atomically, readable by this user only; return how many."""
    lines = [f"{username}:{hashed}\n" for username, hashed in logins]
    part = path.with_name(path.name + ".part")
    descriptor = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.writelines(lines)
    part.replace(path)  # Mosquitto reloading never reads half a file
    return len(lines)
