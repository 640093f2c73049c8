"""standups: settings per initiative, daily prompts and answers, time away; blockers from standups

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "away",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("starts", sa.Date(), nullable=False),
        sa.Column("ends", sa.Date(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("away", schema=None) as batch_op:
        batch_op.create_index("ix_away_user", ["team_id", "user_id", "ends"], unique=False)

    op.create_table(
        "standup_prompt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("prompted_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("prompt_channel", sa.String(length=32), nullable=True),
        sa.Column("prompt_ts", sa.String(length=32), nullable=True),
        sa.Column("reminded_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answers", sa.String(length=12000), nullable=True),
        sa.Column("post_channel", sa.String(length=32), nullable=True),
        sa.Column("post_ts", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["initiative_id"], ["initiative.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("initiative_id", "user_id", "day", name="uq_standup_prompt_day"),
    )
    with op.batch_alter_table("standup_prompt", schema=None) as batch_op:
        batch_op.create_index("ix_standup_prompt_state", ["state", "prompted_at"], unique=False)

    op.create_table(
        "standup_settings",
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("time", sa.String(length=5), nullable=False),
        sa.Column("days", sa.String(length=32), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("questions", sa.String(length=4000), nullable=True),
        sa.Column("configured_by", sa.String(length=32), nullable=True),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["initiative_id"], ["initiative.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("initiative_id"),
    )
    with op.batch_alter_table("blocker", schema=None) as batch_op:
        batch_op.add_column(sa.Column("standup_prompt_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("blocker", schema=None) as batch_op:
        batch_op.drop_column("standup_prompt_id")

    op.drop_table("standup_settings")
    with op.batch_alter_table("standup_prompt", schema=None) as batch_op:
        batch_op.drop_index("ix_standup_prompt_state")

    op.drop_table("standup_prompt")
    with op.batch_alter_table("away", schema=None) as batch_op:
        batch_op.drop_index("ix_away_user")

    op.drop_table("away")
