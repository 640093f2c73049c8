"""standup prompts by initiative and day: a report finds its window's prompts by day, an initiative at a time

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 17:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_standup_prompt_initiative_day", "standup_prompt", ["initiative_id", "day"])


def downgrade() -> None:
    op.drop_index("ix_standup_prompt_initiative_day", table_name="standup_prompt")
