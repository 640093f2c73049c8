"""checkpoints, Jira status log, Jira push outbox, sync state, idempotency keys; initiative ref keys

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 09:00:00
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# A frozen copy of the rule in storage.initiatives.ref_key_base: migrations must not change when the code does.
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def _ref_key_base(name: str) -> str:
    words = [w for w in _NOT_ALNUM.split(name.casefold()) if w]
    return (words[0] if words else "i")[:16]


def _backfill_ref_keys() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, team_id, name FROM initiative ORDER BY id")).all()
    taken: set[tuple[str, str]] = set()
    for row in rows:
        base = _ref_key_base(row.name)
        key, suffix = base, 1
        while (row.team_id, key) in taken:
            suffix += 1
            key = f"{base}{suffix}"
        taken.add((row.team_id, key))
        connection.execute(sa.text("UPDATE initiative SET ref_key = :key WHERE id = :id"), {"key": key, "id": row.id})


def upgrade() -> None:
    with op.batch_alter_table("initiative", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ref_key", sa.String(length=24), nullable=True))
    _backfill_ref_keys()
    with op.batch_alter_table("initiative", schema=None) as batch_op:
        batch_op.alter_column("ref_key", existing_type=sa.String(length=24), nullable=False)
        batch_op.create_unique_constraint("uq_initiative_team_ref_key", ["team_id", "ref_key"])

    op.create_table(
        "checkpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("done_by", sa.String(length=32), nullable=True),
        sa.Column("done_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("mitigation", sa.String(length=1000), nullable=True),
        sa.Column("mitigated_by", sa.String(length=32), nullable=True),
        sa.Column("mitigated_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("jira_key", sa.String(length=64), nullable=True),
        sa.Column("jira_summary", sa.String(length=512), nullable=True),
        sa.Column("jira_status", sa.String(length=128), nullable=True),
        sa.Column("jira_status_category", sa.String(length=16), nullable=True),
        sa.Column("jira_assignee", sa.String(length=255), nullable=True),
        sa.Column("jira_updated_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=32), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("removed_by", sa.String(length=32), nullable=True),
        sa.Column("removed_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["initiative_id"], ["initiative.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("initiative_id", "number", name="uq_checkpoint_initiative_number"),
    )
    with op.batch_alter_table("checkpoint", schema=None) as batch_op:
        batch_op.create_index("ix_checkpoint_jira_key", ["jira_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_checkpoint_initiative_id"), ["initiative_id"], unique=False)

    op.create_table(
        "jira_status_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checkpoint_id", sa.Integer(), nullable=False),
        sa.Column("issue_key", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.String(length=512), nullable=True),
        sa.Column("from_status", sa.String(length=128), nullable=True),
        sa.Column("to_status", sa.String(length=128), nullable=False),
        sa.Column("to_category", sa.String(length=16), nullable=True),
        sa.Column("changed_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("checkpoint_effect", sa.String(length=16), nullable=True),
        sa.Column("claimed_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("posted_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["checkpoint_id"], ["checkpoint.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("jira_status_change", schema=None) as batch_op:
        batch_op.create_index("ix_jira_status_change_unposted", ["posted_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_jira_status_change_checkpoint_id"), ["checkpoint_id"], unique=False)

    op.create_table(
        "jira_push",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("checkpoint_id", sa.Integer(), nullable=False),
        sa.Column("issue_key", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.String(length=32), nullable=False),
        sa.Column("thread_url", sa.String(length=512), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("transitioned", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reported_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["checkpoint_id"], ["checkpoint.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("jira_push", schema=None) as batch_op:
        batch_op.create_index("ix_jira_push_due", ["state", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_jira_push_checkpoint_id"), ["checkpoint_id"], unique=False)

    op.create_table(
        "jira_sync_state",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("watermark", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_full_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "idempotency_key",
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key"),
    )


def downgrade() -> None:
    op.drop_table("idempotency_key")
    op.drop_table("jira_sync_state")
    with op.batch_alter_table("jira_push", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jira_push_checkpoint_id"))
        batch_op.drop_index("ix_jira_push_due")
    op.drop_table("jira_push")
    with op.batch_alter_table("jira_status_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jira_status_change_checkpoint_id"))
        batch_op.drop_index("ix_jira_status_change_unposted")
    op.drop_table("jira_status_change")
    with op.batch_alter_table("checkpoint", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkpoint_initiative_id"))
        batch_op.drop_index("ix_checkpoint_jira_key")
    op.drop_table("checkpoint")
    with op.batch_alter_table("initiative", schema=None) as batch_op:
        batch_op.drop_constraint("uq_initiative_team_ref_key", type_="unique")
        batch_op.drop_column("ref_key")
