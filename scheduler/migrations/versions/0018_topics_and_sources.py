"""topics and sources: managed lists; bulletins.topic (from the free-text category) and .source

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

# The lists and the category words as wardcast ships them (one place for both, as the issue
# asks); a later change to a seeded entry needs a migration of its own for databases past 0018.
from scheduler.catalogue import seeds
from scheduler.catalogue.matching import match_topic

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def _entries(name: str) -> sa.Table:
    return op.create_table(
        name,
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name_vi", sa.String(length=120), nullable=False),
        sa.Column("name_en", sa.String(length=120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f(f"pk_{name}")),
    )


def _seed(table: sa.Table, entries: dict[str, tuple[str, str]]) -> None:
    op.bulk_insert(table, [
        {"code": code, "name_vi": vi, "name_en": en, "active": True,
         "position": seeds.OTHER_POSITION if code == seeds.OTHER_TOPIC else index}
        for index, (code, (vi, en)) in enumerate(entries.items(), start=1)])


def _add_reference(column: str, table: str, **options: Any) -> None:
    """Add a bulletins column that holds one of a list's codes."""
    name = op.f(f"fk_bulletins_{column}_{table}")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite alters no constraints: the reference goes in the column's own definition (a
        # NOT NULL column with a default may carry one only while foreign keys are off, as
        # the migration environment has them, checking them at the end)
        op.add_column("bulletins", sa.Column(column, sa.String(length=64), sa.ForeignKey(
            f"{table}.code", name=name), **options), inline_references=True)
    else:
        op.add_column("bulletins", sa.Column(column, sa.String(length=64), **options))
        op.create_foreign_key(name, "bulletins", table, [column], ["code"])
    op.create_index(op.f(f"ix_bulletins_{column}"), "bulletins", [column])


def upgrade() -> None:
    _seed(_entries("topics"), seeds.TOPICS)
    _seed(_entries("sources"), seeds.SOURCES)
    _add_reference("topic", "topics", nullable=False, server_default=seeds.OTHER_TOPIC)
    _add_reference("source", "sources", nullable=True)
    # every bulletin is "Khác" now; those whose category names a topic move to it
    bind = op.get_bind()
    categories = bind.execute(sa.text(
        "SELECT DISTINCT category FROM bulletins WHERE category IS NOT NULL")).scalars().all()
    for category in categories:
        topic = match_topic(category, seeds.TOPICS)
        if topic != seeds.OTHER_TOPIC:
            bind.execute(sa.text("UPDATE bulletins SET topic = :topic WHERE category = :category"),
                         {"topic": topic, "category": category})


def downgrade() -> None:
    # the references go with their columns (SQLite's have no name to drop them by)
    with op.batch_alter_table("bulletins") as batch_op:
        batch_op.drop_index(batch_op.f("ix_bulletins_source"))
        batch_op.drop_index(batch_op.f("ix_bulletins_topic"))
        batch_op.drop_column("source")
        batch_op.drop_column("topic")
    op.drop_table("sources")
    op.drop_table("topics")
