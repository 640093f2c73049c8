"""A channel's weekly report: where it goes, on which day and at what time, and the week a slot reports on.

The report covers the initiatives at home in the channel it is posted in. A channel without a stored setting has
no weekly report; once set, a day, time or zone left out is Monday, 09:00 and the zone of the channel's digest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlmodel import Session

from bot.channel_settings import channel_plan
from bot.errors import InvalidInput
from bot.initiatives import Actor
from bot.recurrence import Schedule
from storage import schedules as schedule_queries
from storage import weekly_reports as queries
from storage.models import WeeklyReport

DEFAULT_DAY = "mon"
DEFAULT_TIME = time(9, 0)
REPORT_DAYS = 7  # a slot reports on the seven local days before its own
ALREADY_OFF = "There is no weekly report in that channel to turn off."


@dataclass(frozen=True)
class WeeklyReportPlan:
    """A channel's weekly report setting with the defaults filled in."""

    team_id: str
    channel_id: str
    schedule: Schedule
    enabled: bool = False
    configured_by: str | None = None
    disabled_reason: str | None = None
    since: datetime | None = None  # when the setting last changed: no slot before it is "missed"

    @property
    def target(self) -> str:
        return f"{self.team_id}:{self.channel_id}"

    @property
    def on(self) -> bool:
        """Set, and Slack has not refused posts in the channel since."""
        return self.enabled and self.disabled_reason is None

    def window_start(self, due_at: datetime) -> date:
        """The first local day of the week the slot due at `due_at` reports on (its own day is not in it)."""
        return self.schedule.local_date(due_at) - timedelta(days=REPORT_DAYS)

    def window_end(self, due_at: datetime) -> datetime:
        """The end (excluded) of the week the slot due at `due_at` reports on: the start of its own local day."""
        return datetime.combine(self.schedule.local_date(due_at), time(), tzinfo=self.schedule.tz)


def weekly_report_plan(*, session: Session, team_id: str, channel_id: str, default_timezone: str) -> WeeklyReportPlan:
    """The channel's weekly report setting (off, with the defaults, when never set)."""
    row = queries.get_weekly_report(session=session, team_id=team_id, channel_id=channel_id)
    digest_zone = _digest_zone(session, team_id, channel_id, default_timezone)
    return _plan_of(row, team_id=team_id, channel_id=channel_id, digest_zone=digest_zone)


def weekly_report_plans(*, session: Session, default_timezone: str) -> list[WeeklyReportPlan]:
    """Every weekly report that is on, sorted by workspace and channel, so runs are repeatable."""
    settings = schedule_queries.all_channel_settings(session=session)
    plans = []
    for row in queries.weekly_reports_on(session=session):
        digest = settings.get((row.team_id, row.channel_id))
        zone = (digest.digest_timezone if digest else None) or default_timezone
        plans.append(_plan_of(row, team_id=row.team_id, channel_id=row.channel_id, digest_zone=zone))
    return plans


def channels_with_initiatives(*, session: Session) -> set[tuple[str, str]]:
    """(team, channel) of every channel that is home to an active initiative: the others have nothing to report."""
    return {(team, channel) for team, channel, _, _ in schedule_queries.channels_with_initiatives(session=session)}


def free_chart_claim(*, session: Session, run_id: int, holder: str, thread_ts: str | None, now: datetime) -> bool:
    """Name the report's thread on its chart's fresh claim and end the claim's lease at once, for the first sweep
    to take it over; False if the claim is not `holder`'s."""
    return schedule_queries.record_progress(
        session=session, run_id=run_id, root_ts=thread_ts, parts_posted=0, lease_until=now, holder=holder
    )


def set_weekly_report(
    *,
    session: Session,
    actor: Actor,
    channel_id: str,
    day: str | None,
    at: time | None,
    timezone: str | None,
    now: datetime,
    default_timezone: str,
) -> WeeklyReportPlan:
    """`report weekly #channel [day] [time] [zone]`: turns the channel's weekly report on; what is left out stays as
    it was (at first Monday, 09:00, the zone of the channel's digest)."""
    row = _row(session, actor, channel_id, now)
    if day is not None:
        row.report_day = day
    if at is not None:
        row.report_time = at.strftime("%H:%M")
    if timezone is not None:
        row.timezone = timezone
    row.enabled, row.disabled_reason = True, None
    queries.save_weekly_report(session=session, report=row)
    return weekly_report_plan(
        session=session, team_id=actor.team_id, channel_id=channel_id, default_timezone=default_timezone
    )


def turn_off_weekly_report(
    *, session: Session, actor: Actor, channel_id: str, now: datetime, default_timezone: str
) -> WeeklyReportPlan:
    """`report weekly #channel off`; a channel without a weekly report is told so and nothing is written."""
    row = queries.get_weekly_report(session=session, team_id=actor.team_id, channel_id=channel_id)
    if row is None or not row.enabled:
        raise InvalidInput.said("report", ALREADY_OFF)
    row = _row(session, actor, channel_id, now)
    row.enabled = False
    queries.save_weekly_report(session=session, report=row)
    return weekly_report_plan(
        session=session, team_id=actor.team_id, channel_id=channel_id, default_timezone=default_timezone
    )


def disable_weekly_report(
    *, session: Session, team_id: str, channel_id: str, error: str, default_timezone: str
) -> WeeklyReportPlan:
    """Slack will not take posts in the channel: stop its weekly report until someone sets it again."""
    row = queries.get_weekly_report(session=session, team_id=team_id, channel_id=channel_id)
    if row is not None:
        row.disabled_reason = error[:64]
        queries.save_weekly_report(session=session, report=row)
    return weekly_report_plan(
        session=session, team_id=team_id, channel_id=channel_id, default_timezone=default_timezone
    )


def _row(session: Session, actor: Actor, channel_id: str, now: datetime) -> WeeklyReport:
    row = queries.get_weekly_report(session=session, team_id=actor.team_id, channel_id=channel_id)
    if row is None:
        row = WeeklyReport(team_id=actor.team_id, channel_id=channel_id, updated_at=now)
    row.configured_by, row.updated_at = actor.user_id, now
    return row


def _plan_of(row: WeeklyReport | None, *, team_id: str, channel_id: str, digest_zone: str) -> WeeklyReportPlan:
    if row is None:
        return WeeklyReportPlan(team_id, channel_id, Schedule(DEFAULT_TIME, digest_zone, (DEFAULT_DAY,)))
    hour, minute = (int(part) for part in row.report_time.split(":"))
    return WeeklyReportPlan(
        team_id,
        channel_id,
        Schedule(time(hour, minute), row.timezone or digest_zone, (row.report_day,)),
        enabled=row.enabled,
        configured_by=row.configured_by,
        disabled_reason=row.disabled_reason,
        since=row.updated_at,
    )


def _digest_zone(session: Session, team_id: str, channel_id: str, default_timezone: str) -> str:
    return channel_plan(
        session=session, team_id=team_id, channel_id=channel_id, default_timezone=default_timezone
    ).schedule.timezone
