"""What an initiative's charts are drawn from, read from what storage keeps: a KPI's readings and its checkpoints."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.chart_data import BurnUp, BurnUpPoint, KpiPoint, KpiSeries
from bot.kpis import meets, resolve_kpi
from storage import kpis as kpi_queries
from storage.checkpoints import list_checkpoints
from storage.models import Initiative, Kpi

READINGS_CHARTED = 200  # the newest readings a trend shows; older ones would be a blur at 1200 px
BURN_UP_DAYS_MAX = 730  # two years of days; an older initiative's burn-up starts two years before today


def kpi_series(*, session: Session, initiative: Initiative, name: str) -> tuple[Kpi, KpiSeries]:
    """A KPI (by name or unambiguous prefix) and its newest readings, oldest first, each marked if it missed."""
    kpi = resolve_kpi(session=session, initiative=initiative, name=name)
    return kpi, series_of(session=session, initiative=initiative, kpi=kpi)


def series_of(*, session: Session, initiative: Initiative, kpi: Kpi) -> KpiSeries:
    """A KPI's newest readings against its target, oldest first; a reading that misses the target is a breach."""
    newest_first = kpi_queries.recent_readings(session=session, kpi_ids=[kpi.id or 0], per_kpi=READINGS_CHARTED)
    points = tuple(
        KpiPoint(at=reading.recorded_at, value=reading.value, breached=not meets(kpi, reading.value))
        for reading in reversed(newest_first.get(kpi.id or 0, []))
    )
    return KpiSeries(
        title=f"{kpi.name} · {initiative.name}",
        unit=kpi.unit,
        direction=kpi.direction,
        target=kpi.target,
        points=points,
    )


def burn_up(*, session: Session, initiative: Initiative, today: date, zone: ZoneInfo) -> BurnUp:
    """An initiative's checkpoints done by the end of each day since it began, against how many there were.

    Storage keeps when a checkpoint was done, and a reopened one has no such time until it is done again, so a
    reopened checkpoint counts as not done; removed checkpoints are left out of every day."""
    checkpoints = list_checkpoints(session=session, initiative_id=initiative.id or 0)
    created = [_local_day(c.created_at, zone) for c in checkpoints]
    done = [_local_day(c.done_at, zone) for c in checkpoints if c.done_at is not None]
    first = min([_local_day(initiative.created_at, zone), *created])
    first = max(first, today - timedelta(days=BURN_UP_DAYS_MAX))
    points: list[BurnUpPoint] = []
    if checkpoints:
        day = min(first, today)
        while day <= today:
            points.append(BurnUpPoint(day=day, done=sum(d <= day for d in done), total=sum(c <= day for c in created)))
            day += timedelta(days=1)
    return BurnUp(title=f"Checkpoints · {initiative.name}", points=tuple(points), target_date=initiative.target_date)


def _local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()
