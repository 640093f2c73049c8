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
REF_KEY_MAX = 24
CHECKPOINT_TITLE_MAX = 200
MITIGATION_MAX = 1000
ITEM_KEY_MAX = 32
URL_MAX = 2000
KPI_NAME_MAX = 80
KPI_UNIT_MAX = 16
SOURCE_TEXT_MAX = 250  # an MLflow experiment, metric, model or alias name
SOURCE_FILTER_MAX = 1000  # an MLflow run filter
SOURCE_QUERY_MAX = 2000  # a PromQL query
SOURCE_KEY_MAX = 255
SOURCE_FAILURE_MAX = 1000
IDEA_MAX = 1000
BLOCKER_MAX = 1000


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
        UniqueConstraint("team_id", "ref_key", name="uq_initiative_team_ref_key"),
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
    # The short, stable key in checkpoint references (`churn` in `churn#3`); kept when the initiative is renamed.
    ref_key: str = Field(default="", max_length=REF_KEY_MAX)
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
    # `nudges off <initiative>`: the daily nudges leave this initiative out.
    nudges_enabled: bool = Field(default=True, sa_column_kwargs={"server_default": "1"})

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
    # Moved past an incomplete readiness checklist; `note` holds the reason and `forced_items` what was missing.
    forced: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    forced_items: str | None = Field(default=None, max_length=1000)


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


class CheckpointStatus(StrEnum):
    """The stored state of a checkpoint's work. `missed` is never stored: it is an open or in-progress
    checkpoint whose due date has passed, so moving the date or finishing the work clears it by itself."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    MISSED = "missed"


class Checkpoint(SQLModel, table=True):
    """A milestone on the way to production; optionally mirrored by a Jira issue."""

    __tablename__ = "checkpoint"
    __table_args__ = (
        UniqueConstraint("initiative_id", "number", name="uq_checkpoint_initiative_number"),
        Index("ix_checkpoint_jira_key", "jira_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    initiative_id: int = Field(
        sa_column=Column(Integer, ForeignKey("initiative.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    # Numbers are never reused, so `churn#3` keeps meaning the same checkpoint after others are removed.
    number: int
    title: str = Field(max_length=CHECKPOINT_TITLE_MAX)
    owner_id: str | None = Field(default=None, max_length=32)
    due_date: date | None = None
    status: str = Field(default=CheckpointStatus.OPEN.value, max_length=16)
    done_by: str | None = Field(default=None, max_length=32)
    done_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    mitigation: str | None = Field(default=None, max_length=MITIGATION_MAX)
    mitigated_by: str | None = Field(default=None, max_length=32)
    mitigated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    jira_key: str | None = Field(default=None, max_length=64)
    jira_summary: str | None = Field(default=None, max_length=512)
    jira_status: str | None = Field(default=None, max_length=128)
    jira_status_category: str | None = Field(default=None, max_length=16)
    jira_assignee: str | None = Field(default=None, max_length=255)
    # Jira's own `updated` time of the issue as last seen: older news about the issue is ignored.
    jira_updated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_by: str = Field(max_length=32)
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    removed_by: str | None = Field(default=None, max_length=32)
    removed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class JiraStatusChange(SQLModel, table=True):
    """A status change of a linked Jira issue, logged once and posted once in the initiative's thread.

    `posted_at` is set after the thread post; `claimed_at` keeps two posters from posting the same row.
    """

    __tablename__ = "jira_status_change"
    __table_args__ = (Index("ix_jira_status_change_unposted", "posted_at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    checkpoint_id: int = Field(
        sa_column=Column(Integer, ForeignKey("checkpoint.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    issue_key: str = Field(max_length=64)
    summary: str | None = Field(default=None, max_length=512)
    from_status: str | None = Field(default=None, max_length=128)
    to_status: str = Field(max_length=128)
    to_category: str | None = Field(default=None, max_length=16)
    changed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # What the change did to the checkpoint: "done", "reopened" or None.
    checkpoint_effect: str | None = Field(default=None, max_length=16)
    # When Handoff learnt of it (`changed_at` is Jira's time): the digest reports what it learnt since the last one.
    logged_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    claimed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    posted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class JiraPushState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class JiraPush(SQLModel, table=True):
    """Outbox: a change Slack made that Jira must learn of (transition, comment, remote link).

    Rows stay `pending` until Jira takes them; transient failures are retried with backoff, permanent ones end
    `failed` and are reported to the person and the thread once (`reported_at`).
    """

    __tablename__ = "jira_push"
    __table_args__ = (Index("ix_jira_push_due", "state", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    checkpoint_id: int = Field(
        sa_column=Column(Integer, ForeignKey("checkpoint.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    issue_key: str = Field(max_length=64)
    action: str = Field(max_length=16)  # done, reopen, remote_link
    actor_id: str = Field(max_length=32)
    thread_url: str | None = Field(default=None, max_length=512)
    state: str = Field(default=JiraPushState.PENDING.value, max_length=16)
    # The transition already happened; a retry only adds the comment (never a second transition).
    transitioned: bool = False
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    claimed_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    last_error: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    reported_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class JiraSyncState(SQLModel, table=True):
    """Progress of the pull sync with the one configured Jira site."""

    __tablename__ = "jira_sync_state"

    name: str = Field(primary_key=True, max_length=32)
    # The newest `updated` time seen on a linked issue, in Jira's own clock: incremental syncs ask from here.
    watermark: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    last_full_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    last_success_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    last_attempt_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    last_error: str | None = Field(default=None, max_length=1000)


class IdempotencyKey(SQLModel, table=True):
    """Something that must happen once: a Slack event, a Jira webhook delivery, a reply about a Jira key.

    The first writer of `(scope, key)` wins; everyone else sees the primary key taken and stands down.
    """

    __tablename__ = "idempotency_key"

    scope: str = Field(primary_key=True, max_length=32)
    key: str = Field(primary_key=True, max_length=255)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class HandoffDoc(SQLModel, table=True):
    """A link that satisfies a readiness item (`kind`): the model card, the API contract...; who attested it, when."""

    __tablename__ = "handoff_doc"
    __table_args__ = (Index("ix_handoff_doc_initiative_kind", "initiative_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    initiative_id: int = Field(
        sa_column=Column(Integer, ForeignKey("initiative.id", ondelete="CASCADE"), nullable=False)
    )
    kind: str = Field(max_length=ITEM_KEY_MAX)
    url: str = Field(max_length=URL_MAX)
    note: str | None = Field(default=None, max_length=NOTE_MAX)
    added_by: str = Field(max_length=32)
    added_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    removed_by: str | None = Field(default=None, max_length=32)
    removed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class ChecklistEntryAction(StrEnum):
    ADD = "add"  # an item this initiative needs beyond the workspace's checklist
    WAIVE = "waive"  # an item this initiative does not need, and why


class ChecklistEntry(SQLModel, table=True):
    """One initiative's own change to its readiness checklist: an added item or a waiver, with who, when, why."""

    __tablename__ = "checklist_entry"
    __table_args__ = (UniqueConstraint("initiative_id", "item_key", "action", name="uq_checklist_entry_item"),)

    id: int | None = Field(default=None, primary_key=True)
    initiative_id: int = Field(
        sa_column=Column(Integer, ForeignKey("initiative.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    item_key: str = Field(max_length=ITEM_KEY_MAX)
    action: str = Field(max_length=8)
    gate: str | None = Field(default=None, max_length=16)  # for an added item: the phase it is needed to enter
    reason: str = Field(max_length=NOTE_MAX)
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class KpiDirection(StrEnum):
    AT_LEAST = ">="
    AT_MOST = "<="


class Kpi(SQLModel, table=True):
    """The agreed measure of "good" for an initiative: a target, a direction, and who owns it."""

    __tablename__ = "kpi"
    __table_args__ = (UniqueConstraint("initiative_id", "name_key", name="uq_kpi_initiative_name"),)

    id: int | None = Field(default=None, primary_key=True)
    initiative_id: int = Field(
        sa_column=Column(Integer, ForeignKey("initiative.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    name: str = Field(max_length=KPI_NAME_MAX)
    name_key: str = Field(max_length=KPI_NAME_MAX * 3)
    direction: str = Field(max_length=2)
    target: float
    unit: str | None = Field(default=None, max_length=KPI_UNIT_MAX)
    owner_id: str | None = Field(default=None, max_length=32)
    # The thread was told the KPI misses its target, and no reading has met it since.
    in_breach: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class KpiReading(SQLModel, table=True):
    """One measurement of a KPI, with who recorded it and when."""

    __tablename__ = "kpi_reading"
    __table_args__ = (
        Index("ix_kpi_reading_kpi_time", "kpi_id", "recorded_at", "id"),
        UniqueConstraint("kpi_id", "source_key", name="uq_kpi_reading_source_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kpi_id: int = Field(sa_column=Column(Integer, ForeignKey("kpi.id", ondelete="CASCADE"), nullable=False))
    value: float
    note: str | None = Field(default=None, max_length=NOTE_MAX)
    recorded_by: str = Field(max_length=32)  # a Slack user id, or the source's kind for a reading read from it
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # What the reading is in its source (an MLflow run's metric at a step and time, a Prometheus sample time):
    # unique per KPI, so repeated polls, restarts and replicas record it once. None for a typed reading.
    source_key: str | None = Field(default=None, max_length=SOURCE_KEY_MAX)


class KpiSourceKind(StrEnum):
    MLFLOW = "mlflow"
    PROMETHEUS = "prometheus"


class KpiSource(SQLModel, table=True):
    """Where a KPI's readings are read from, and how reading them went lately."""

    __tablename__ = "kpi_source"
    __table_args__ = (UniqueConstraint("kpi_id", name="uq_kpi_source_kpi"),)

    id: int | None = Field(default=None, primary_key=True)
    kpi_id: int = Field(sa_column=Column(Integer, ForeignKey("kpi.id", ondelete="CASCADE"), nullable=False))
    kind: str = Field(max_length=16)
    # MLflow: the experiment, the metric, which run (`latest` or `best`), an optional run filter, and an optional
    # registered model and alias whose new versions are announced.
    experiment: str | None = Field(default=None, max_length=SOURCE_TEXT_MAX)
    experiment_id: str | None = Field(default=None, max_length=64)  # found when set, so a poll needs no lookup
    metric: str | None = Field(default=None, max_length=SOURCE_TEXT_MAX)
    run_pick: str | None = Field(default=None, max_length=8)
    run_filter: str | None = Field(default=None, max_length=SOURCE_FILTER_MAX)
    model: str | None = Field(default=None, max_length=SOURCE_TEXT_MAX)
    alias: str | None = Field(default=None, max_length=SOURCE_TEXT_MAX)
    model_version: str | None = Field(default=None, max_length=32)  # the alias's version last announced
    # Prometheus: an instant query returning one series.
    query: str | None = Field(default=None, max_length=SOURCE_QUERY_MAX)
    set_by: str = Field(max_length=32)
    set_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_good_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # Failing since this poll, for this reason; the thread and owner were told once (`failure_reported`).
    failing_since: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    failure: str | None = Field(default=None, max_length=SOURCE_FAILURE_MAX)
    failure_reported: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})  # failed polls in a row
    retry_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class IdeaOutcome(StrEnum):
    WORKED = "worked"
    FAILED = "failed"
    DROPPED = "dropped"


class Idea(SQLModel, table=True):
    """Something tried (or to try), referenced as `churn#i2`, so nobody repeats a dead end unknowingly."""

    __tablename__ = "idea"
    __table_args__ = (UniqueConstraint("initiative_id", "number", name="uq_idea_initiative_number"),)

    id: int | None = Field(default=None, primary_key=True)
    initiative_id: int = Field(
        sa_column=Column(Integer, ForeignKey("initiative.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    number: int
    text: str = Field(max_length=IDEA_MAX)
    author_id: str = Field(max_length=32)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    outcome: str | None = Field(default=None, max_length=16)
    outcome_note: str | None = Field(default=None, max_length=NOTE_MAX)
    outcome_by: str | None = Field(default=None, max_length=32)
    outcome_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class ChannelSettings(SQLModel, table=True):
    """How a channel wants its daily digest and nudges; a channel without a row has the defaults."""

    __tablename__ = "channel_settings"

    team_id: str = Field(primary_key=True, max_length=32)
    channel_id: str = Field(primary_key=True, max_length=32)
    digest_enabled: bool = True
    digest_time: str = Field(default="09:00", max_length=5)  # HH:MM, local to `digest_timezone`
    digest_timezone: str | None = Field(default=None, max_length=64)  # None: the workspace's HANDOFF_TIMEZONE
    digest_days: str = Field(default="mon,tue,wed,thu,fri", max_length=32)
    # A digest with nothing new is not posted at all, instead of as one line.
    digest_quiet: bool = False
    nudges_enabled: bool = True
    configured_by: str | None = Field(default=None, max_length=32)
    # Slack refused to post here (`not_in_channel`...); the digest stays off until someone turns it on again.
    disabled_reason: str | None = Field(default=None, max_length=64)
    # The digest's "since the previous digest" starts here.
    last_digest_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class WeeklyReport(SQLModel, table=True):
    """Where a channel's weekly report goes and when: the report of the initiatives at home in the channel."""

    __tablename__ = "weekly_report"

    team_id: str = Field(primary_key=True, max_length=32)
    channel_id: str = Field(primary_key=True, max_length=32)
    enabled: bool = True
    report_day: str = Field(default="mon", max_length=3)
    report_time: str = Field(default="09:00", max_length=5)  # HH:MM, local to `timezone`
    timezone: str | None = Field(default=None, max_length=64)  # None: the zone of the channel's digest
    configured_by: str | None = Field(default=None, max_length=32)
    # Slack refused to post here (`not_in_channel`...); the report stays off until someone sets it again.
    disabled_reason: str | None = Field(default=None, max_length=64)
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class JobRunState(StrEnum):
    CLAIMED = "claimed"  # someone is on it until `lease_until`; after that anyone may finish it
    DONE = "done"
    SKIPPED = "skipped"  # missed past the grace window, or nothing to say
    FAILED = "failed"  # given up: Slack refused for good, or retries ran out


class JobRun(SQLModel, table=True):
    """One slot of a recurring job (the digest of #churn on 2027-01-04), claimed before anything is posted.

    The unique key makes the slot happen once across restarts and replicas. A claim whose holder died is taken
    over once its lease ends; `root_ts` and `parts_posted` let the new holder finish instead of starting again.
    """

    __tablename__ = "job_run"
    __table_args__ = (
        UniqueConstraint("job", "target", "slot", name="uq_job_run_slot"),
        Index("ix_job_run_state_lease", "state", "lease_until"),
        Index("ix_job_run_job_due", "job", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=16)
    target: str = Field(max_length=80)
    slot: str = Field(max_length=32)
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    state: str = Field(default=JobRunState.CLAIMED.value, max_length=16)
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # Who holds the claim (a token per process): only the holder may extend it or record progress on it.
    holder: str | None = Field(default=None, max_length=32)
    attempts: int = 0
    root_ts: str | None = Field(default=None, max_length=32)
    parts_posted: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    claimed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class NudgeState(SQLModel, table=True):
    """What Handoff has said about one gap of one initiative (a missing doc, an overdue checkpoint...)."""

    __tablename__ = "nudge_state"
    __table_args__ = (UniqueConstraint("initiative_id", "gap_key", name="uq_nudge_state_gap"),)

    id: int | None = Field(default=None, primary_key=True)
    initiative_id: int = Field(
        sa_column=Column(Integer, ForeignKey("initiative.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    gap_key: str = Field(max_length=64)
    times_nudged: int = 0
    last_nudged_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    snoozed_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    snoozed_by: str | None = Field(default=None, max_length=32)
    escalated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # When the gap was first nudged (None for gaps nudged before this was recorded, and for snoozes alone).
    first_nudged_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class ClosedGap(SQLModel, table=True):
    """A nudged gap that closed: kept when its `NudgeState` is forgotten, so reports can tell how fast gaps close."""

    __tablename__ = "closed_gap"
    __table_args__ = (Index("ix_closed_gap_initiative_closed", "initiative_id", "closed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    initiative_id: int = Field(
        sa_column=Column(Integer, ForeignKey("initiative.id", ondelete="CASCADE"), nullable=False)
    )
    gap_key: str = Field(max_length=64)
    times_nudged: int
    first_nudged_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    last_nudged_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    escalated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # The nudges run that found the gap closed: closing is noticed there, so this is at most a day late.
    closed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class BlockerDirection(StrEnum):
    """Who waits on whom: the direction tells which team can unblock it."""

    ON_ENG = "on-eng"  # the DS team waits on engineering
    ON_DS = "on-ds"  # engineering waits on the DS team
    ON_PLATFORM = "on-platform"  # both wait on data or platform


class Blocker(SQLModel, table=True):
    """Something that stops the work, referenced as `churn#b2`, open until someone marks it resolved."""

    __tablename__ = "blocker"
    __table_args__ = (
        UniqueConstraint("initiative_id", "number", name="uq_blocker_initiative_number"),
        Index("ix_blocker_initiative_open", "initiative_id", "resolved_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    initiative_id: int = Field(
        sa_column=Column(Integer, ForeignKey("initiative.id", ondelete="CASCADE"), nullable=False)
    )
    number: int
    text: str = Field(max_length=BLOCKER_MAX)
    direction: str | None = Field(default=None, max_length=16)
    reported_by: str = Field(max_length=32)
    reported_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    resolved_by: str | None = Field(default=None, max_length=32)
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # Reported in a standup answer: editing that answer may change or resolve it.
    standup_prompt_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))


class StandupSettings(SQLModel, table=True):
    """When an initiative's embedded engineer is asked for the standup, and which questions; the defaults apply to
    an initiative without a row (weekdays at 09:30 in the engineer's own time zone)."""

    __tablename__ = "standup_settings"

    initiative_id: int = Field(
        sa_column=Column(Integer, ForeignKey("initiative.id", ondelete="CASCADE"), primary_key=True)
    )
    enabled: bool = True
    time: str = Field(default="09:30", max_length=5)
    days: str = Field(default="mon,tue,wed,thu,fri", max_length=32)
    # Pins the time to this zone; None: the engineer's own (from Slack), else the channel's, else the workspace's.
    timezone: str | None = Field(default=None, max_length=64)
    questions: str | None = Field(default=None, max_length=4000)  # JSON list; None: the default questions
    configured_by: str | None = Field(default=None, max_length=32)
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class StandupState(StrEnum):
    PROMPTED = "prompted"
    ANSWERED = "answered"
    MISSED = "missed"


class StandupPrompt(SQLModel, table=True):
    """One day's standup prompt to one engineer about one initiative, and the answer posted in its thread."""

    __tablename__ = "standup_prompt"
    __table_args__ = (
        UniqueConstraint("initiative_id", "user_id", "day", name="uq_standup_prompt_day"),
        Index("ix_standup_prompt_state", "state", "prompted_at"),
        # a report's window of days, an initiative at a time: SQLite, without statistics, always starts from the
        # initiatives in scope, so an index leading with the day would go unused there
        Index("ix_standup_prompt_initiative_day", "initiative_id", "day"),
    )

    id: int | None = Field(default=None, primary_key=True)
    initiative_id: int = Field(
        sa_column=Column(Integer, ForeignKey("initiative.id", ondelete="CASCADE"), nullable=False)
    )
    team_id: str = Field(max_length=32)
    user_id: str = Field(max_length=32)
    day: date  # the engineer's local date
    timezone: str = Field(max_length=64)
    state: str = Field(default=StandupState.PROMPTED.value, max_length=16)
    prompted_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    prompt_channel: str | None = Field(default=None, max_length=32)
    prompt_ts: str | None = Field(default=None, max_length=32)
    reminded_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    answered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    answers: str | None = Field(default=None, max_length=12000)  # JSON: {"answers": [...], "blockers": [...]}
    post_channel: str | None = Field(default=None, max_length=32)
    post_ts: str | None = Field(default=None, max_length=32)


class Away(SQLModel, table=True):
    """A person's time away: no standup prompts from `starts` to `ends`, both included (their local dates)."""

    __tablename__ = "away"
    __table_args__ = (Index("ix_away_user", "team_id", "user_id", "ends"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    user_id: str = Field(max_length=32)
    starts: date
    ends: date
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class PostingTurn(SQLModel, table=True):
    """When a workspace, or one destination in it, may next be posted to: the posting budget every replica shares.

    The row whose destination is `WORKSPACE_TURN` paces the workspace as a whole (`HANDOFF_SLACK_POSTS_PER_MINUTE`);
    each other row paces one channel or person (Slack takes about one message a second in each).
    """

    __tablename__ = "posting_turn"

    team_id: str = Field(primary_key=True, max_length=32)
    destination: str = Field(primary_key=True, max_length=32)
    next_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class HomeOpened(SQLModel, table=True):
    """When a person last opened Handoff's App Home: whose Home is worth republishing when something changes."""

    __tablename__ = "home_opened"

    team_id: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(primary_key=True, max_length=32)
    opened_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
