"""KPI sources: a KPI read from MLflow or Prometheus, and each reading's key in its source

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kpi_source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kpi_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("experiment", sa.String(length=250), nullable=True),
        sa.Column("experiment_id", sa.String(length=64), nullable=True),
        sa.Column("metric", sa.String(length=250), nullable=True),
        sa.Column("run_pick", sa.String(length=8), nullable=True),
        sa.Column("run_filter", sa.String(length=1000), nullable=True),
        sa.Column("model", sa.String(length=250), nullable=True),
        sa.Column("alias", sa.String(length=250), nullable=True),
        sa.Column("model_version", sa.String(length=32), nullable=True),
        sa.Column("query", sa.String(length=2000), nullable=True),
        sa.Column("set_by", sa.String(length=32), nullable=False),
        sa.Column("set_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_good_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("failing_since", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("failure", sa.String(length=1000), nullable=True),
        sa.Column("failure_reported", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("retry_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["kpi_id"], ["kpi.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kpi_id", name="uq_kpi_source_kpi"),
    )
    with op.batch_alter_table("kpi_reading", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_key", sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint("uq_kpi_reading_source_key", ["kpi_id", "source_key"])


def downgrade() -> None:
    with op.batch_alter_table("kpi_reading", schema=None) as batch_op:
        batch_op.drop_constraint("uq_kpi_reading_source_key", type_="unique")
        batch_op.drop_column("source_key")
    op.drop_table("kpi_source")
