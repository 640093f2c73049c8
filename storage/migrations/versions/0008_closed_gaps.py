"""closed gaps: when each nudged gap was first nudged and when it closed, for the report's follow-through

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 16:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("nudge_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_nudged_at", storage.types.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        "closed_gap",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("gap_key", sa.String(length=64), nullable=False),
        sa.Column("times_nudged", sa.Integer(), nullable=False),
        sa.Column("first_nudged_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_nudged_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["initiative_id"], ["initiative.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("closed_gap", schema=None) as batch_op:
        batch_op.create_index("ix_closed_gap_initiative_closed", ["initiative_id", "closed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("closed_gap", schema=None) as batch_op:
        batch_op.drop_index("ix_closed_gap_initiative_closed")
    op.drop_table("closed_gap")
    with op.batch_alter_table("nudge_state", schema=None) as batch_op:
        batch_op.drop_column("first_nudged_at")
