"""A bulletin's topic and source through the API: on upload, by category, changed, filtered."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from scheduler.bulletins.models import Bulletin
from scheduler.runtime import Runtime
from tests.scheduler.catalogue_rows import bulletin_row
from tests.scheduler.conftest import login_as


def _upload(client: TestClient, headers: dict[str, str], audio: Path,
            **fields: str) -> dict[str, object]:
    with audio.open("rb") as handle:
        answer = client.post("/api/v1/bulletins", headers=headers,
                             files={"file": (audio.name, handle, "audio/mpeg")},
                             data={"title": "Bản tin", "language": "vi"} | fields)
    body: dict[str, object] = answer.json()
    body["status_code"] = answer.status_code
    return body


def test_upload_keeps_the_topic_and_source_given_else_the_categorys_topic(
        client: TestClient, runtime: Runtime, speech_mp3: Path) -> None:
    editor = login_as(client, runtime, "editor")
    given = _upload(client, editor, speech_mp3, category="Y tế", topic="an-ninh-trat-tu",
                    source="tiep-am", language="rad")
    assert given["status_code"] == 201, given
    assert (given["topic"], given["source"], given["category"], given["language"]) == (
        "an-ninh-trat-tu", "tiep-am", "Y tế", "rad")
    # the form sends its empty choices as empty fields: no topic, no source
    mapped = _upload(client, editor, speech_mp3, category=" Sức khoẻ ", topic="", source="")
    assert (mapped["topic"], mapped["source"], mapped["category"]) == ("y-te", None,
                                                                      "Sức khoẻ")
    read = client.get(f"/api/v1/bulletins/{mapped['id']}", headers=editor).json()
    assert (read["topic"], read["source"]) == ("y-te", None)
    log = client.get("/api/v1/audit?action=bulletin.upload",
                     headers=login_as(client, runtime, "admin")).json()["items"]
    assert (log[-1]["detail"]["topic"], log[-1]["detail"]["source"]) == ("an-ninh-trat-tu",
                                                                         "tiep-am")


@pytest.mark.parametrize(("fields", "code", "field", "named"), [
    ({"topic": "khong-co"}, "unknown_topic", "topic", "Không có chủ đề 'khong-co'"),
    ({"source": "dai-tu-nhan"}, "unknown_source", "source", "unknown source 'dai-tu-nhan'"),
    ({"topic": "Y tế"}, "unknown_topic", "topic", "unknown topic 'Y tế'"),
    ({"topic": "van-hoa-cu"}, "inactive_topic", "topic", "Văn hóa cũ' đã ngừng dùng"),
    ({"language": "Tiếng Việt"}, "invalid", "language", "Mã ngôn ngữ không hợp lệ"),
])
def test_unknown_or_retired_codes_are_refused_and_leave_nothing(
        client: TestClient, runtime: Runtime, admin: dict[str, str], speech_mp3: Path,
        fields: dict[str, str], code: str, field: str, named: str) -> None:
    client.post("/api/v1/topics", headers=admin, json={"name_vi": "Văn hóa cũ"})
    client.patch("/api/v1/topics/van-hoa-cu", headers=admin, json={"active": False})
    incoming = sorted(runtime.store.incoming.iterdir())
    refused = _upload(client, login_as(client, runtime, "editor"), speech_mp3, **fields)
    assert refused["status_code"] == 422, refused
    assert (refused["code"], refused["field"]) == (code, field)
    assert named in str(refused["detail"]) and " — " in str(refused["detail"])
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Bulletin)) == 0
    assert sorted(runtime.store.incoming.iterdir()) == incoming
    assert not list(runtime.store.dist.iterdir())


def test_patch_changes_topic_and_source_and_the_topic_follows_its_category(
        client: TestClient, runtime: Runtime) -> None:
    with runtime.db.session() as session:
        derived = bulletin_row(session, category="Y tế", topic="y-te").id
        chosen = bulletin_row(session, category="Y tế", topic="an-ninh-trat-tu",
                              source="cap-tinh").id
    editor = login_as(client, runtime, "editor")

    def patch(bulletin_id: int, **change: object) -> dict[str, object]:
        answer = client.patch(f"/api/v1/bulletins/{bulletin_id}", headers=editor, json=change)
        assert answer.status_code == 200, answer.text
        body: dict[str, object] = answer.json()
        return body

    # a topic that came from the category follows a new category
    assert patch(derived, category="Bão lũ")["topic"] == "phong-chong-thien-tai"
    # one chosen by hand stays; null brings back the category's
    assert patch(chosen, category="Bão lũ")["topic"] == "an-ninh-trat-tu"
    assert patch(chosen, topic=None)["topic"] == "phong-chong-thien-tai"
    changed = patch(chosen, topic="van-hoa", source="tiep-am")
    assert (changed["topic"], changed["source"]) == ("van-hoa", "tiep-am")
    assert patch(chosen, source=None)["source"] is None
    both = patch(derived, category="Nông nghiệp", topic="giam-ngheo")
    assert (both["category"], both["topic"]) == ("Nông nghiệp", "giam-ngheo")
    unknown = client.patch(f"/api/v1/bulletins/{chosen}", headers=editor,
                           json={"topic": "van-hoa", "source": "khong-co"})
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_source"
    assert client.get(f"/api/v1/bulletins/{chosen}", headers=editor).json()["topic"] == "van-hoa"
    viewer = login_as(client, runtime, "viewer")
    assert client.patch(f"/api/v1/bulletins/{chosen}", headers=viewer,
                        json={"topic": "y-te"}).status_code == 403
    audit = client.get(f"/api/v1/audit?action=bulletin.update&target_id={chosen}",
                       headers=login_as(client, runtime, "admin")).json()["items"]
    assert {"topic": "van-hoa", "source": "tiep-am"} in [e["detail"] for e in audit]


def test_a_deactivated_topic_stays_on_its_bulletins(client: TestClient, runtime: Runtime,
                                                    admin: dict[str, str]) -> None:
    client.post("/api/v1/topics", headers=admin, json={"name_vi": "Bầu cử"})
    with runtime.db.session() as session:
        bulletin_id, other = bulletin_row(session, topic="bau-cu").id, bulletin_row(session).id
    client.patch("/api/v1/topics/bau-cu", headers=admin, json={"active": False})
    kept = client.patch(f"/api/v1/bulletins/{bulletin_id}", headers=admin,
                        json={"title": "Bầu cử đại biểu", "topic": "bau-cu"})
    assert kept.status_code == 200 and kept.json()["topic"] == "bau-cu"
    refused = client.patch(f"/api/v1/bulletins/{other}", headers=admin, json={"topic": "bau-cu"})
    assert refused.status_code == 422 and refused.json()["code"] == "inactive_topic"


def test_list_filters_by_topic_source_and_language(client: TestClient,
                                                   runtime: Runtime) -> None:
    with runtime.db.session() as session:
        ids = {name: bulletin_row(session, title=name, **fields).id for name, fields in (
            ("vi-y-te", {"topic": "y-te"}),
            ("rad-y-te-relay", {"topic": "y-te", "source": "tiep-am", "language": "rad"}),
            ("rad-culture", {"topic": "van-hoa", "language": "rad", "source": "cap-tinh"}),
            ("vi-other", {}))}
    viewer = login_as(client, runtime, "viewer")

    def titles(query: str) -> set[str]:
        answer = client.get(f"/api/v1/bulletins?{query}", headers=viewer)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["total"] == len(body["items"])
        return {b["title"] for b in body["items"]}

    assert titles("topic=y-te") == {"vi-y-te", "rad-y-te-relay"}
    assert titles("source=tiep-am") == {"rad-y-te-relay"}
    assert titles("language=rad") == {"rad-y-te-relay", "rad-culture"}
    assert titles("language=rad&topic=y-te") == {"rad-y-te-relay"}
    assert titles("topic=khac") == {"vi-other"}
    assert titles("topic=khong-co") == set()
    listed = client.get("/api/v1/bulletins", headers=viewer).json()["items"]
    assert {b["id"]: (b["topic"], b["source"]) for b in listed}[ids["rad-culture"]] == (
        "van-hoa", "cap-tinh")
