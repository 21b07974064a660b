"""Topics, sources and languages through the real API: who may do what, bad input, audit."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from scheduler.catalogue import seeds
from scheduler.runtime import Runtime
from tests.scheduler.catalogue_rows import bulletin_row
from tests.scheduler.conftest import login_as


def test_everyone_logged_in_reads_the_seeded_lists(client: TestClient, runtime: Runtime) -> None:
    viewer = login_as(client, runtime, "viewer")
    topics = client.get("/api/v1/topics", headers=viewer).json()
    assert topics["total"] == len(seeds.TOPICS)
    assert [t["code"] for t in topics["items"]] == list(seeds.TOPICS)  # the plan's order
    assert topics["items"][-1] == {"code": "khac", "name_vi": "Khác", "name_en": "Other",
                                   "position": seeds.OTHER_POSITION, "active": True}
    sources = client.get("/api/v1/sources", headers=viewer).json()
    assert [(s["code"], s["name_vi"]) for s in sources["items"]] == [
        (code, vi) for code, (vi, _en) in seeds.SOURCES.items()]
    languages = client.get("/api/v1/languages", headers=viewer).json()["items"]
    assert languages[0] == {"code": "vi", "name_vi": "Tiếng Việt", "name_en": "Vietnamese"}
    assert {"code": "rad", "name_vi": "Ê Đê", "name_en": "Rade (Ê Đê)"} in languages
    one = client.get("/api/v1/sources/tiep-am", headers=viewer)
    assert one.status_code == 200 and one.json()["name_vi"] == "Tiếp âm"
    for path in ("/api/v1/topics", "/api/v1/sources", "/api/v1/languages"):
        assert client.get(path).status_code == 401


def test_admins_add_rename_and_deactivate_audited(client: TestClient, runtime: Runtime,
                                                 admin: dict[str, str]) -> None:
    for role in ("editor", "approver", "viewer"):
        other = login_as(client, runtime, role)
        assert client.post("/api/v1/topics", headers=other,
                           json={"name_vi": "Môi trường"}).status_code == 403
        assert client.patch("/api/v1/topics/y-te", headers=other,
                            json={"name_vi": "Sức khỏe"}).status_code == 403
    made = client.post("/api/v1/topics", headers=admin,
                       json={"name_vi": "  Môi   trường ", "name_en": "Environment"})
    assert made.status_code == 201, made.text
    assert made.json() == {"code": "moi-truong", "name_vi": "Môi trường",
                           "name_en": "Environment", "position": 10, "active": True}
    codes = [t["code"] for t in client.get("/api/v1/topics", headers=admin).json()["items"]]
    assert codes[-2:] == ["moi-truong", "khac"]  # after the others, "Khác" stays last
    source = client.post("/api/v1/sources", headers=admin,
                         json={"code": "dai-huyen", "name_vi": "Đài huyện"}).json()
    assert (source["code"], source["name_en"]) == ("dai-huyen", "Đài huyện")
    renamed = client.patch("/api/v1/topics/moi-truong", headers=admin,
                           json={"name_vi": "Môi trường, đô thị"})
    assert renamed.status_code == 200 and renamed.json()["name_vi"] == "Môi trường, đô thị"
    assert renamed.json()["code"] == "moi-truong"  # the code bulletins hold never changes
    off = client.patch("/api/v1/topics/moi-truong", headers=admin, json={"active": False})
    assert off.status_code == 200 and off.json()["active"] is False
    in_use = client.get("/api/v1/topics?active=true", headers=admin).json()
    assert "moi-truong" not in [t["code"] for t in in_use["items"]]
    assert in_use["total"] == len(seeds.TOPICS)
    log = client.get("/api/v1/audit?target_type=topic&target_id=moi-truong",
                     headers=admin).json()["items"]
    assert [(e["action"], e["detail"]) for e in reversed(log)] == [
        ("topic.create", {"name_vi": "Môi trường", "name_en": "Environment", "position": 10}),
        ("topic.update", {"name_vi": "Môi trường, đô thị"}),
        ("topic.update", {"active": False})]
    assert client.get("/api/v1/audit?action=source.create",
                      headers=admin).json()["items"][0]["target_id"] == "dai-huyen"


@pytest.mark.parametrize(("method", "path", "body", "status", "code", "field"), [
    ("post", "/api/v1/topics", {"name_vi": "y TE"}, 409, "name_taken", "name_vi"),
    ("post", "/api/v1/topics", {"name_vi": "Mới", "code": "y-te"}, 409, "code_taken", "code"),
    ("post", "/api/v1/topics", {"name_vi": "Mới", "code": "Mã Mới"}, 422, "invalid", "code"),
    ("post", "/api/v1/sources", {"name_vi": "   "}, 422, "invalid", "name_vi"),
    ("post", "/api/v1/sources", {"name_vi": "!!!"}, 422, "invalid", "code"),
    ("post", "/api/v1/sources", {"name_vi": "x" * 121}, 422, "invalid", "name_vi"),
    ("patch", "/api/v1/topics/khong-co", {"name_vi": "X"}, 404, "topic_not_found", "code"),
    ("patch", "/api/v1/topics/van-hoa", {"name_vi": "Y tế"}, 409, "name_taken", "name_vi"),
    ("patch", "/api/v1/topics/khac", {"active": False}, 409, "fallback_topic", "code"),
    ("delete", "/api/v1/topics/khac", None, 409, "fallback_topic", "code"),
    ("delete", "/api/v1/sources/khong-co", None, 404, "source_not_found", "code"),
])
def test_bad_changes_are_refused_in_both_languages(
        client: TestClient, admin: dict[str, str], method: str, path: str,
        body: dict[str, object] | None, status: int, code: str, field: str) -> None:
    before = {p: client.get(p, headers=admin).json() for p in ("/api/v1/topics",
                                                                "/api/v1/sources")}
    answer = client.request(method.upper(), path, headers=admin, json=body)
    assert answer.status_code == status, answer.text
    assert (answer.json()["code"], answer.json()["field"]) == (code, field)
    assert " — " in answer.json()["detail"]
    assert {p: client.get(p, headers=admin).json() for p in before} == before


def test_an_entry_in_use_is_deactivated_never_deleted(client: TestClient, runtime: Runtime,
                                                     admin: dict[str, str]) -> None:
    for code in ("dai-huyen", "nham"):
        assert client.post("/api/v1/sources", headers=admin,
                           json={"code": code, "name_vi": code}).status_code == 201
    with runtime.db.session() as session:
        bulletin_row(session, source="dai-huyen")
    refused = client.delete("/api/v1/sources/dai-huyen", headers=admin)
    assert refused.status_code == 409 and refused.json()["code"] == "entry_in_use"
    assert "1 bản tin" in refused.json()["detail"]
    assert client.get("/api/v1/sources/dai-huyen", headers=admin).status_code == 200
    assert client.delete("/api/v1/sources/nham",
                         headers=login_as(client, runtime, "editor")).status_code == 403
    assert client.delete("/api/v1/sources/nham", headers=admin).status_code == 204
    assert client.get("/api/v1/sources/nham", headers=admin).status_code == 404
    assert client.get("/api/v1/audit?action=source.delete",
                      headers=admin).json()["items"][0]["target_id"] == "nham"
