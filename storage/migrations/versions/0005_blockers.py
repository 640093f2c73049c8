"""blockers: what stops an initiative, who waits on whom, until someone resolves it

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blocker",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=1000), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=True),
        sa.Column("reported_by", sa.String(length=32), nullable=False),
        sa.Column("reported_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_by", sa.String(length=32), nullable=True),
        sa.Column("resolved_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["initiative_id"], ["initiative.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("initiative_id", "number", name="uq_blocker_initiative_number"),
    )
    with op.batch_alter_table("blocker", schema=None) as batch_op:
        batch_op.create_index("ix_blocker_initiative_open", ["initiative_id", "resolved_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("blocker", schema=None) as batch_op:
        batch_op.drop_index("ix_blocker_initiative_open")

    op.drop_table("blocker")
