"""Codes read as names in the reader's language; categories map onto topics."""

from __future__ import annotations

import pytest

from scheduler.audit.service import CLI
from scheduler.catalogue import seeds, service
from scheduler.catalogue.matching import fold, match_topic, slug
from scheduler.catalogue.names import built_in
from scheduler.catalogue.schemas import EntryCreate, EntryUpdate
from scheduler.catalogue.service import Kind
from scheduler.db import Database
from tests.scheduler.catalogue_rows import bulletin_row


def test_languages_topics_and_sources_by_name() -> None:
    vi, en = built_in("vi"), built_in("en")
    assert (vi.language("rad"), en.language("rad")) == ("Ê Đê", "Rade (Ê Đê)")
    assert vi.language("vi-VN") == "Tiếng Việt"  # a regional tag reads as its language
    assert vi.language("xyz") == "xyz"
    assert vi.topic("y-te") == "Y tế" and en.topic("y-te") == "Health"
    assert (vi.topic(""), en.topic("")) == ("Chưa phân loại", "Uncategorised")
    assert vi.source("tiep-am") == "Tiếp âm"
    assert (vi.source(None), en.topic(None)) == ("Chưa phân loại", "Uncategorised")


def test_words_compare_without_case_or_diacritics() -> None:
    assert fold("  Y Tế, Sức khoẻ!") == "y te suc khoe"
    assert fold("ĐỜI SỐNG văn hóa") == fold("doi song van hoa")
    assert slug("Môi trường – đô thị") == "moi-truong-do-thi"


@pytest.mark.parametrize(("category", "topic"), [
    ("Y tế", "y-te"), ("y te", "y-te"), ("Sức khỏe", "y-te"), ("suc khoe", "y-te"),
    ("y-te", "y-te"), ("HEALTH", "y-te"), ("Thiên tai", "phong-chong-thien-tai"),
    ("bão lũ", "phong-chong-thien-tai"), ("Phòng chống thiên tai", "phong-chong-thien-tai"),
    ("Nông nghiệp", "san-xuat-kinh-doanh"), ("Chủ trương, chính sách, pháp luật",
                                              "chu-truong-chinh-sach"),
    ("Tin y tế", "khac"), ("Môi trường", "khac"), ("", "khac"), (None, "khac"),
])
def test_a_category_maps_onto_a_topic(category: str | None, topic: str) -> None:
    assert match_topic(category, seeds.TOPICS) == topic


def test_every_synonym_names_a_seeded_topic() -> None:
    assert set(seeds.TOPIC_SYNONYMS.values()) <= set(seeds.TOPICS)


def test_names_and_mapping_come_from_the_tables(db: Database) -> None:
    with db.session() as session:
        service.create(session=session, kind=Kind.TOPICS, actor=CLI,
                       data=EntryCreate(name_vi="Môi trường", name_en="Environment"))
        service.update(session=session, kind=Kind.TOPICS, code="y-te", actor=CLI,
                       change=EntryUpdate(name_vi="Y tế, dân số"))
        service.update(session=session, kind=Kind.SOURCES, code="tiep-am", actor=CLI,
                       change=EntryUpdate(name_en="Rebroadcast", active=False))
        vi, en = service.names(session=session, lang="vi"), service.names(session=session,
                                                                          lang="en")
        assert (vi.topic("moi-truong"), en.topic("moi-truong")) == ("Môi trường", "Environment")
        assert vi.topic("y-te") == "Y tế, dân số"
        assert (vi.source("tiep-am"), en.source("tiep-am")) == ("Tiếp âm", "Rebroadcast")
        assert (vi.language("jra"), en.language("cmo")) == ("Jrai (Gia Rai)", "Mnong")
        # an admin's own topic takes categories too; a deactivated one takes none
        assert service.topic_of(session=session, category="môi trường") == "moi-truong"
        assert service.topic_of(session=session, category="y tế, dân số") == "y-te"
        service.update(session=session, kind=Kind.TOPICS, code="moi-truong", actor=CLI,
                       change=EntryUpdate(active=False))
        assert service.topic_of(session=session, category="Môi trường") == "khac"


def test_rows_written_past_the_service_take_their_categorys_topic(db: Database) -> None:
    with db.session() as session:
        mapped = bulletin_row(session, category="Bão lũ")
        plain = bulletin_row(session)
        session.refresh(mapped)
        assert (mapped.topic, plain.topic, plain.source) == ("phong-chong-thien-tai", "khac",
                                                             None)
