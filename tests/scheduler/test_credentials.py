"""Secrets at rest and in time: argon2 password hashes, tokens kept only as hashes and
refused once expired, and an approved bulletin's audio that nothing can swap."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from scheduler import security
from scheduler.bulletins.models import Bulletin
from scheduler.runtime import Runtime
from scheduler.stations.models import Station
from scheduler.users.models import ApiToken, User
from tests.scheduler.conftest import approved_bulletin, station
from wardcast.protocol import utcnow


def test_passwords_are_argon2_and_tokens_are_kept_only_as_hashes(
        client: TestClient, runtime: Runtime, admin: dict[str, str]) -> None:
    bearer = admin["Authorization"].removeprefix("Bearer ")
    made = station(client, admin, "Trạm bí mật")
    with runtime.db.session() as session:
        hashes = session.scalars(select(User.password_hash)).all()
        assert hashes and all(h.startswith("$argon2id$") for h in hashes)
        stored = session.scalars(select(ApiToken.token_hash)).all()
        assert bearer not in stored and security.token_hash(bearer) in stored
        kept = session.scalar(select(Station.token_hash).where(Station.id == made["id"]))
        assert kept == security.token_hash(made["token"]) and kept != made["token"]


def test_an_expired_token_is_refused(client: TestClient, runtime: Runtime,
                                     admin: dict[str, str]) -> None:
    assert client.get("/api/v1/stations", headers=admin).status_code == 200
    bearer = admin["Authorization"].removeprefix("Bearer ")
    with runtime.db.session() as session:
        session.execute(update(ApiToken)
                        .where(ApiToken.token_hash == security.token_hash(bearer))
                        .values(expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    refused = client.get("/api/v1/stations", headers=admin)
    assert refused.status_code == 401, refused.text


def test_an_approved_bulletins_audio_cannot_be_replaced(
        client: TestClient, runtime: Runtime, admin: dict[str, str], speech_mp3: Path) -> None:
    bulletin_id = approved_bulletin(client, admin, speech_mp3)
    before = client.get(f"/api/v1/bulletins/{bulletin_id}", headers=admin).json()
    changed = client.patch(f"/api/v1/bulletins/{bulletin_id}", headers=admin, json={
        "title": "Tiêu đề mới", "sha256": "0" * 64, "status": "pending",
        "duration_ms": 1, "original_sha256": "1" * 64})
    assert changed.status_code == 200, changed.text
    after = changed.json()
    assert after["title"] == "Tiêu đề mới"
    for kept in ("sha256", "status", "duration_ms", "loudness_lufs", "size_bytes"):
        assert after[kept] == before[kept], kept
    with runtime.db.session() as session:
        row = session.get(Bulletin, bulletin_id)
        assert row is not None and row.original_sha256 == before.get(
            "original_sha256", row.original_sha256)
    # the one route that takes new audio for an existing bulletin refuses an approved one
    paths = client.get("/openapi.json").json()["paths"]
    takes_audio = {(method, path) for path, operations in paths.items()
                   if path.startswith("/api/v1/bulletins/{")
                   for method, operation in operations.items()
                   if "multipart" in str(operation.get("requestBody", ""))}
    assert takes_audio == {("post", "/api/v1/bulletins/{bulletin_id}/audio")}
    with speech_mp3.open("rb") as handle:
        refused = client.post(f"/api/v1/bulletins/{bulletin_id}/audio", headers=admin,
                              files={"file": ("moi.mp3", handle, "audio/mpeg")})
    assert refused.status_code == 409, refused.text
    assert client.get(f"/api/v1/bulletins/{bulletin_id}",
                      headers=admin).json()["sha256"] == before["sha256"]
