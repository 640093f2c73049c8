"""SQLModel tables. Every schema change here needs an Alembic migration in `storage/migrations/versions`."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime

NAME_MAX = 80
GOAL_MAX = 1000
NOTE_MAX = 500


class Phase(StrEnum):
    """Where a joint initiative stands; production code waits until the DS work is summarised."""

    DISCOVERY = "discovery"
    RESEARCH = "research"
    SUMMARY = "summary"
    DEVELOPMENT = "development"
    PRODUCTION = "production"
    MONITORING = "monitoring"
    PAUSED = "paused"
    CANCELLED = "cancelled"


class Initiative(SQLModel, table=True):
    """A joint DS/engineering piece of work, scoped to one Slack workspace."""

    __tablename__ = "initiative"
    __table_args__ = (
        UniqueConstraint("team_id", "name_key", name="uq_initiative_team_name"),
        # Status in a channel, and the workspace-wide list and its count, each read one index range in name order.
        Index("ix_initiative_team_channel", "team_id", "home_channel_id", "name_key"),
        Index("ix_initiative_team_archived", "team_id", "archived", "name_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    name: str = Field(max_length=NAME_MAX)
    # Case-folded name: uniqueness and lookups are case-insensitive on every database.
    name_key: str = Field(max_length=NAME_MAX * 3)
    home_channel_id: str = Field(max_length=32)
    ds_lead_id: str | None = Field(default=None, max_length=32)
    eng_lead_id: str | None = Field(default=None, max_length=32)
    embedded_engineer_id: str | None = Field(default=None, max_length=32)
    phase: str = Field(default=Phase.DISCOVERY.value, max_length=16)
    goal: str | None = Field(default=None, max_length=GOAL_MAX)
    jira_project_key: str | None = Field(default=None, max_length=32)
    jira_epic_key: str | None = Field(default=None, max_length=64)
    target_date: date | None = None
    # The kickoff message is the initiative's thread; it stays where it was posted if the home channel moves.
    thread_channel_id: str | None = Field(default=None, max_length=32)
    thread_ts: str | None = Field(default=None, max_length=32)
    thread_permalink: str | None = Field(default=None, max_length=512)
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_by: str = Field(max_length=32)
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    archived: bool = Field(default=False)
    archived_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))

    @property
    def phase_enum(self) -> Phase:
        return Phase(self.phase)


class PhaseChange(SQLModel, table=True):
    """One step in an initiative's phase history; the first row records its creation."""

    __tablename__ = "phase_change"

    id: int | None = Field(default=None, primary_key=True)
    initiative_id: int = Field(
        sa_column=Column(Integer, ForeignKey("initiative.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    from_phase: str | None = Field(default=None, max_length=16)
    to_phase: str = Field(max_length=16)
    changed_by: str = Field(max_length=32)
    changed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    note: str | None = Field(default=None, max_length=NOTE_MAX)


class SlackUser(SQLModel, table=True):
    """What we cache of a Slack user: `users.info` is rate-limited, so it is not called per request."""

    __tablename__ = "slack_user"

    team_id: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(primary_key=True, max_length=32)
    name: str = Field(default="", max_length=255)
    real_name: str = Field(default="", max_length=255)
    tz: str | None = Field(default=None, max_length=64)
    is_admin: bool = False
    is_owner: bool = False
    is_bot: bool = False
    deleted: bool = False
    fetched_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
