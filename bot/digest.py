"""A channel's daily digest, as data: where each initiative stands and what changed since the previous digest.

Composition costs the same handful of statements however many initiatives the channel has (see
`bench/digest.py`): every list below is read for all of the channel's initiatives at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlmodel import Session

from bot.channel_settings import ChannelPlan, record_digest_posted
from bot.checklist import Checklist
from bot.slot_ledger import OnDone
from bot.status import InitiativeSummary, enriched_summaries, summary_from_row
from storage import digest as queries
from storage.models import Blocker, Checkpoint, JiraStatusChange


@dataclass(frozen=True)
class CheckpointLine:
    """An unfinished checkpoint as the digest names it (`churn#3`)."""

    ref: str
    checkpoint: Checkpoint


@dataclass(frozen=True)
class JiraChangeLine:
    ref: str
    change: JiraStatusChange


@dataclass(frozen=True)
class BlockerLine:
    ref: str  # `churn#b2`
    blocker: Blocker


@dataclass(frozen=True)
class DigestEntry:
    summary: InitiativeSummary
    ref_key: str
    next_due: CheckpointLine | None = None
    overdue: tuple[CheckpointLine, ...] = ()
    jira_changes: tuple[JiraChangeLine, ...] = ()
    new_blockers: tuple[BlockerLine, ...] = ()  # reported since the previous digest (some perhaps resolved since)
    open_blockers: tuple[BlockerLine, ...] = ()  # reported earlier and still open
    became_overdue: bool = False  # a checkpoint fell due since the previous digest
    active: bool = False  # anything was written about it since the previous digest

    @property
    def changed(self) -> bool:
        return self.active or self.became_overdue or bool(self.jira_changes) or bool(self.new_blockers)


@dataclass(frozen=True)
class ChannelDigest:
    team_id: str
    channel_id: str
    since: datetime
    today: date
    entries: tuple[DigestEntry, ...]
    composed_at: datetime

    @property
    def changed(self) -> bool:
        return any(e.changed for e in self.entries)


def compose_digest(
    *,
    session: Session,
    team_id: str,
    channel_id: str,
    since: datetime,
    now: datetime,
    today: date,
    since_day: date,
    checklist: Checklist,
    stale_days: int,
) -> ChannelDigest:
    """The digest of one channel: `since` is the previous digest (or a day ago), `since_day` its local date."""
    rows = queries.initiatives_in_channel(session=session, team_id=team_id, channel_id=channel_id)
    summaries = [summary_from_row(row, now) for row in rows]
    summaries = enriched_summaries(
        session=session, summaries=summaries, now=now, today=today, checklist=checklist, stale_days=stale_days
    )
    ids = [row.id for row in rows]
    ref_keys = {row.id: row.ref_key for row in rows}
    unfinished: dict[int, list[Checkpoint]] = {}
    for checkpoint in queries.unfinished_checkpoints(session=session, initiative_ids=ids):
        unfinished.setdefault(checkpoint.initiative_id, []).append(checkpoint)
    changes: dict[int, list[JiraChangeLine]] = {}
    for change, initiative_id, number in queries.status_changes_since(session=session, initiative_ids=ids, since=since):
        changes.setdefault(initiative_id, []).append(JiraChangeLine(f"{ref_keys[initiative_id]}#{number}", change))
    active = queries.initiatives_with_activity_since(session=session, initiative_ids=ids, since=since)
    blockers: dict[int, list[BlockerLine]] = {}
    for blocker in queries.blockers_for_digest(session=session, initiative_ids=ids, since=since):
        ref = f"{ref_keys[blocker.initiative_id]}#b{blocker.number}"
        blockers.setdefault(blocker.initiative_id, []).append(BlockerLine(ref, blocker))
    entries = []
    for summary in summaries:
        initiative_id = summary.initiative.id
        ref_key = ref_keys[initiative_id]
        mine = unfinished.get(initiative_id, [])
        overdue = [c for c in mine if c.due_date is not None and c.due_date < today]
        upcoming = [c for c in mine if c.due_date is not None and c.due_date >= today]
        entries.append(
            DigestEntry(
                summary=summary,
                ref_key=ref_key,
                next_due=CheckpointLine(f"{ref_key}#{upcoming[0].number}", upcoming[0]) if upcoming else None,
                overdue=tuple(CheckpointLine(f"{ref_key}#{c.number}", c) for c in overdue),
                jira_changes=tuple(changes.get(initiative_id, ())),
                new_blockers=tuple(b for b in blockers.get(initiative_id, ()) if b.blocker.reported_at > since),
                open_blockers=tuple(b for b in blockers.get(initiative_id, ()) if b.blocker.reported_at <= since),
                became_overdue=any(c.due_date is not None and c.due_date >= since_day for c in overdue),
                active=initiative_id in active,
            )
        )
    return ChannelDigest(team_id, channel_id, since, today, tuple(entries), composed_at=now)


class DigestSkip(StrEnum):
    """Why a channel's digest slot posts nothing (the slot's recorded reason)."""

    NO_INITIATIVES = "no initiatives call this channel home"
    QUIET = "quiet digest: nothing changed"


@dataclass(frozen=True)
class ScheduledDigest:
    """A digest slot's digest, and why it is not posted when it is not."""

    digest: ChannelDigest
    skip: DigestSkip | None = None


def scheduled_digest(
    *,
    session: Session,
    channel: ChannelPlan,
    now: datetime,
    due_at: datetime,
    checklist: Checklist,
    stale_days: int,
    asked: bool = False,
) -> ScheduledDigest:
    """The digest of the slot due at `due_at`, since the previous digest (or a day before); `asked` (a deliberate
    run) posts it even on a quiet day without news."""
    since = channel.last_digest_at or (due_at - timedelta(days=1))
    tz = channel.schedule.tz
    digest = compose_digest(
        session=session,
        team_id=channel.team_id,
        channel_id=channel.channel_id,
        since=since,
        now=now,
        today=now.astimezone(tz).date(),
        since_day=since.astimezone(tz).date(),
        checklist=checklist,
        stale_days=stale_days,
    )
    if not digest.entries:
        return ScheduledDigest(digest, DigestSkip.NO_INITIATIVES)
    if channel.quiet and not digest.changed and not asked:
        return ScheduledDigest(digest, DigestSkip.QUIET)
    return ScheduledDigest(digest)


def digest_posted(digest: ChannelDigest) -> OnDone:
    """What the slot records once `digest` is posted: what was written while it was being posted (after it was
    composed) belongs to the next one."""

    def record(session: Session, _posted_at: datetime) -> None:
        record_digest_posted(
            session=session, team_id=digest.team_id, channel_id=digest.channel_id, at=digest.composed_at
        )

    return record
