"""A channel's digest and nudge settings: what the commands change and what the scheduler reads.

A channel with no stored settings has the defaults (weekdays at 09:00 in `HANDOFF_TIMEZONE`, nudges on), so
every channel that is home to an initiative gets its digest without anyone setting it up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time

from sqlmodel import Session

from bot.errors import InvalidInput, Problem
from bot.initiatives import Actor
from bot.recurrence import WEEKDAYS, WORKING_DAYS, Schedule
from storage import digest as digest_queries
from storage import schedules as queries
from storage.models import ChannelSettings

DEFAULT_TIME = time(9, 0)


@dataclass(frozen=True)
class ChannelPlan:
    """A channel's settings with the defaults filled in."""

    team_id: str
    channel_id: str
    schedule: Schedule
    digest_enabled: bool = True
    quiet: bool = False
    nudges_enabled: bool = True
    configured_by: str | None = None
    disabled_reason: str | None = None
    last_digest_at: datetime | None = None
    since: datetime | None = None  # when the channel's schedule began: no slot before it is "missed"
    initiatives: int = 0  # active initiatives that call the channel home, as `scheduled_channels` counted them

    @property
    def target(self) -> str:
        return f"{self.team_id}:{self.channel_id}"

    @property
    def nudges_on(self) -> bool:
        """Nudges are on and Slack has not refused posts here (which turns the digest and the nudges off)."""
        return self.nudges_enabled and self.disabled_reason is None


def plan_of(row: ChannelSettings | None, *, team_id: str, channel_id: str, default_timezone: str) -> ChannelPlan:
    if row is None:
        return ChannelPlan(team_id, channel_id, Schedule(DEFAULT_TIME, default_timezone, WORKING_DAYS))
    hour, minute = (int(part) for part in row.digest_time.split(":"))
    days = tuple(d for d in WEEKDAYS if d in row.digest_days.split(","))
    return ChannelPlan(
        team_id,
        channel_id,
        Schedule(time(hour, minute), row.digest_timezone or default_timezone, days),
        digest_enabled=row.digest_enabled,
        quiet=row.digest_quiet,
        nudges_enabled=row.nudges_enabled,
        configured_by=row.configured_by,
        disabled_reason=row.disabled_reason,
        last_digest_at=row.last_digest_at,
        since=row.updated_at,
    )


def channel_plan(*, session: Session, team_id: str, channel_id: str, default_timezone: str) -> ChannelPlan:
    row = queries.get_channel_settings(session=session, team_id=team_id, channel_id=channel_id)
    return plan_of(row, team_id=team_id, channel_id=channel_id, default_timezone=default_timezone)


def scheduled_channels(*, session: Session, default_timezone: str) -> list[ChannelPlan]:
    """Every channel that is home to an active initiative, with its settings; sorted, so runs are repeatable."""
    stored = queries.all_channel_settings(session=session)
    plans = []
    for team_id, channel_id, first_created, initiatives in queries.channels_with_initiatives(session=session):
        plan = plan_of(
            stored.get((team_id, channel_id)), team_id=team_id, channel_id=channel_id, default_timezone=default_timezone
        )
        # A schedule changed today may not reach back before the change, nor before the channel's first initiative.
        since = max(first_created, plan.since) if plan.since else first_created
        plans.append(replace(plan, since=since, initiatives=initiatives))
    return sorted(plans, key=lambda p: (p.team_id, p.channel_id))


def set_schedule(
    *,
    session: Session,
    actor: Actor,
    channel_id: str,
    at: time,
    timezone: str | None,
    days: Sequence[str] | None,
    now: datetime,
    default_timezone: str,
) -> ChannelPlan:
    """`digest at …`: a new time (and optionally zone and days); it also turns the digest back on."""
    row = _row(session, actor, channel_id, now)
    row.digest_time = at.strftime("%H:%M")
    if timezone is not None:
        row.digest_timezone = timezone
    if days is not None:
        row.digest_days = ",".join(days)
    row.digest_enabled, row.disabled_reason = True, None
    return _save(session, row, default_timezone)


def set_digest_enabled(
    *, session: Session, actor: Actor, channel_id: str, enabled: bool, now: datetime, default_timezone: str
) -> ChannelPlan:
    row = _row(session, actor, channel_id, now)
    if row.digest_enabled == enabled and row.disabled_reason is None:
        raise InvalidInput.single("digest", Problem.DIGEST_ALREADY, enabled=enabled)
    row.digest_enabled, row.disabled_reason = enabled, None
    return _save(session, row, default_timezone)


def set_quiet(
    *, session: Session, actor: Actor, channel_id: str, quiet: bool, now: datetime, default_timezone: str
) -> ChannelPlan:
    row = _row(session, actor, channel_id, now)
    row.digest_quiet = quiet
    return _save(session, row, default_timezone)


def set_channel_nudges(
    *, session: Session, actor: Actor, channel_id: str, enabled: bool, now: datetime, default_timezone: str
) -> ChannelPlan:
    row = _row(session, actor, channel_id, now)
    row.nudges_enabled = enabled
    return _save(session, row, default_timezone)


@dataclass(frozen=True)
class RefusedChannel:
    """A channel whose digest and nudges are off because Slack refused posts there, and who is told so."""

    plan: ChannelPlan
    tell: tuple[str, ...]  # whoever set the channel up, else the leads of the initiatives homed there


def disable_for_slack_error(
    *, session: Session, team_id: str, channel_id: str, error: str, now: datetime, default_timezone: str
) -> RefusedChannel:
    """Slack will not take posts here: stop the digest and nudges until someone turns the digest back on."""
    row = queries.get_channel_settings(session=session, team_id=team_id, channel_id=channel_id)
    if row is None:
        row = ChannelSettings(team_id=team_id, channel_id=channel_id, updated_at=now)
    row.digest_enabled, row.disabled_reason = False, error
    plan = _save(session, row, default_timezone)
    if plan.configured_by:
        return RefusedChannel(plan, (plan.configured_by,))
    rows = digest_queries.initiatives_in_channel(session=session, team_id=team_id, channel_id=channel_id)
    leads = dict.fromkeys(x for home in rows for x in (home.ds_lead_id, home.eng_lead_id) if x)
    return RefusedChannel(plan, tuple(leads))


def record_digest_posted(*, session: Session, team_id: str, channel_id: str, at: datetime) -> None:
    """The next digest reports what happened after `at`."""
    if queries.set_last_digest_at(session=session, team_id=team_id, channel_id=channel_id, at=at):
        return
    if queries.get_channel_settings(session=session, team_id=team_id, channel_id=channel_id) is None:
        # The defaults are not stored until this first digest, whose `updated_at` must not postpone any slot.
        queries.save_channel_settings(
            session=session, settings=ChannelSettings(team_id=team_id, channel_id=channel_id, updated_at=at)
        )
        queries.set_last_digest_at(session=session, team_id=team_id, channel_id=channel_id, at=at)


def _row(session: Session, actor: Actor, channel_id: str, now: datetime) -> ChannelSettings:
    row = queries.get_channel_settings(session=session, team_id=actor.team_id, channel_id=channel_id)
    if row is None:
        row = ChannelSettings(team_id=actor.team_id, channel_id=channel_id, updated_at=now)
    row.configured_by, row.updated_at = actor.user_id, now
    return row


def _save(session: Session, row: ChannelSettings, default_timezone: str) -> ChannelPlan:
    saved = queries.save_channel_settings(session=session, settings=row)
    return plan_of(saved, team_id=saved.team_id, channel_id=saved.channel_id, default_timezone=default_timezone)
