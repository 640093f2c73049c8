"""schedules: channel settings, job slots, nudge state; when each Jira status change was learnt of

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_settings",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("digest_enabled", sa.Boolean(), nullable=False),
        sa.Column("digest_time", sa.String(length=5), nullable=False),
        sa.Column("digest_timezone", sa.String(length=64), nullable=True),
        sa.Column("digest_days", sa.String(length=32), nullable=False),
        sa.Column("digest_quiet", sa.Boolean(), nullable=False),
        sa.Column("nudges_enabled", sa.Boolean(), nullable=False),
        sa.Column("configured_by", sa.String(length=32), nullable=True),
        sa.Column("disabled_reason", sa.String(length=64), nullable=True),
        sa.Column("last_digest_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "channel_id"),
    )
    op.create_table(
        "job_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=80), nullable=False),
        sa.Column("slot", sa.String(length=32), nullable=False),
        sa.Column("due_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("lease_until", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("holder", sa.String(length=32), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("root_ts", sa.String(length=32), nullable=True),
        sa.Column("parts_posted", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("claimed_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("job", "target", "slot", name="uq_job_run_slot"),
    )
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.create_index("ix_job_run_state_lease", ["state", "lease_until"], unique=False)
        batch_op.create_index("ix_job_run_job_due", ["job", "due_at"], unique=False)

    op.create_table(
        "nudge_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("gap_key", sa.String(length=64), nullable=False),
        sa.Column("times_nudged", sa.Integer(), nullable=False),
        sa.Column("last_nudged_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("snoozed_until", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("snoozed_by", sa.String(length=32), nullable=True),
        sa.Column("escalated_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["initiative_id"], ["initiative.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("initiative_id", "gap_key", name="uq_nudge_state_gap"),
    )
    with op.batch_alter_table("nudge_state", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_nudge_state_initiative_id"), ["initiative_id"], unique=False)

    with op.batch_alter_table("jira_status_change", schema=None) as batch_op:
        batch_op.add_column(sa.Column("logged_at", storage.types.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table("initiative", schema=None) as batch_op:
        batch_op.add_column(sa.Column("nudges_enabled", sa.Boolean(), server_default="1", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("jira_status_change", schema=None) as batch_op:
        batch_op.drop_column("logged_at")

    with op.batch_alter_table("initiative", schema=None) as batch_op:
        batch_op.drop_column("nudges_enabled")

    with op.batch_alter_table("nudge_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nudge_state_initiative_id"))

    op.drop_table("nudge_state")
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.drop_index("ix_job_run_job_due")
        batch_op.drop_index("ix_job_run_state_lease")

    op.drop_table("job_run")
    op.drop_table("channel_settings")
