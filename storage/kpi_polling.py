"""Typed queries for polling sourced KPIs: the sources due, and each source's state after a read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import Session, col, or_, select

from storage.models import SOURCE_FAILURE_MAX, Initiative, Kpi, KpiReading, KpiSource, Phase

# An initiative that is paused, cancelled or archived is not watched: its sources are not read.
_NOT_WATCHED = (Phase.PAUSED.value, Phase.CANCELLED.value)


@dataclass(frozen=True)
class DueSource:
    source: KpiSource
    kpi: Kpi
    initiative: Initiative


# A source is read, and counted as failing, only while its initiative is watched: not paused, cancelled or archived.
_WATCHED = (col(Initiative.archived).is_(False), col(Initiative.phase).not_in(_NOT_WATCHED))


def due_sources(*, session: Session, now: datetime) -> list[DueSource]:
    """Every source of a watched initiative's KPI that is not waiting out a backoff, in one statement."""
    statement = (
        select(KpiSource, Kpi, Initiative)
        .join(Kpi, col(Kpi.id) == col(KpiSource.kpi_id))
        .join(Initiative, col(Initiative.id) == col(Kpi.initiative_id))
        .where(*_WATCHED, or_(col(KpiSource.retry_at).is_(None), col(KpiSource.retry_at) <= now))
        .order_by(col(KpiSource.id))
    )
    return [DueSource(source, kpi, initiative) for source, kpi, initiative in session.exec(statement).all()]


def claim_recovery(*, session: Session, source_id: int) -> bool:
    """Clear a failure the thread was told of; True for exactly one caller, who announces the recovery."""
    statement = (
        update(KpiSource)
        .where(col(KpiSource.id) == source_id, col(KpiSource.failure_reported).is_(True))
        .values(failing_since=None, failure=None, failure_reported=False)
    )
    result = session.connection().execute(statement)
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


def mark_read(*, session: Session, source_id: int, at: datetime, experiment_id: str | None) -> None:
    """A read gave a reading: the source is good as of `at`, with any failure nobody was told of cleared."""
    values: dict[str, object] = {
        "last_good_at": at,
        "attempts": 0,
        "retry_at": None,
        "failing_since": None,
        "failure": None,
        "failure_reported": False,
    }
    if experiment_id is not None:
        values["experiment_id"] = experiment_id
    session.connection().execute(update(KpiSource).where(col(KpiSource.id) == source_id).values(**values))


def mark_failed(
    *, session: Session, source_id: int, now: datetime, reason: str, retry_at: datetime, experiment_id: str | None
) -> None:
    """A read failed: one more attempt, the next one not before `retry_at`, failing since the first of them."""
    values: dict[str, object] = {
        "attempts": col(KpiSource.attempts) + 1,
        "retry_at": retry_at,
        "failing_since": func.coalesce(col(KpiSource.failing_since), now),
        "failure": reason[:SOURCE_FAILURE_MAX],
    }
    if experiment_id is not None:
        values["experiment_id"] = experiment_id
    session.connection().execute(update(KpiSource).where(col(KpiSource.id) == source_id).values(**values))


def claim_failure_report(*, session: Session, source_id: int) -> bool:
    """Claim telling the thread and the owner of a failing source; True for exactly one caller, once a failure."""
    statement = (
        update(KpiSource)
        .where(
            col(KpiSource.id) == source_id,
            col(KpiSource.failure_reported).is_(False),
            col(KpiSource.failing_since).is_not(None),
        )
        .values(failure_reported=True)
    )
    result = session.connection().execute(statement)
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


def recorded_source_keys(*, session: Session, pairs: Sequence[tuple[int, str]]) -> set[tuple[int, str]]:
    """Which (KPI, source key) pairs already have a reading, in one statement."""
    if not pairs:
        return set()
    statement = select(KpiReading.kpi_id, KpiReading.source_key).where(
        col(KpiReading.kpi_id).in_({kpi_id for kpi_id, _ in pairs}),
        col(KpiReading.source_key).in_({key for _, key in pairs}),
    )
    found = {(kpi_id, key) for kpi_id, key in session.exec(statement).all() if key is not None}
    return found & set(pairs)


def failing_source_total(*, session: Session) -> int:
    """How many sources are failing now, for the metrics."""
    statement = (
        select(func.count())
        .select_from(KpiSource)
        .join(Kpi, col(Kpi.id) == col(KpiSource.kpi_id))
        .join(Initiative, col(Initiative.id) == col(Kpi.initiative_id))
        .where(*_WATCHED, col(KpiSource.failing_since).is_not(None))
    )
    return int(session.exec(statement).one())
