"""Typed queries for KPIs and their readings."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import BindParameter, bindparam, delete, func, update
from sqlmodel import Session, col, select

from storage.idempotency import insert_returning_id
from storage.models import Kpi, KpiReading


def name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def get_kpi_by_name(*, session: Session, initiative_id: int, name: str) -> Kpi | None:
    statement = select(Kpi).where(Kpi.initiative_id == initiative_id, Kpi.name_key == name_key(name))
    return session.exec(statement).first()


def list_kpis(*, session: Session, initiative_id: int) -> Sequence[Kpi]:
    statement = select(Kpi).where(Kpi.initiative_id == initiative_id).order_by(col(Kpi.id))
    return session.exec(statement).all()


def save_kpi(*, session: Session, kpi: Kpi) -> Kpi:
    """Write a new or changed KPI, its lookup key following its name."""
    kpi.name_key = name_key(kpi.name)
    session.add(kpi)
    session.flush()
    return kpi


def add_reading(*, session: Session, reading: KpiReading) -> KpiReading:
    session.add(reading)
    session.flush()
    return reading


def add_reading_once(*, session: Session, reading: KpiReading) -> KpiReading | None:
    """Add a sourced reading unless one with its `source_key` is there already; the reading, or None."""
    values = reading.model_dump(exclude={"id"})
    reading_id = insert_returning_id(session, KpiReading, values, index_elements=["kpi_id", "source_key"])
    if reading_id is None:
        return None
    reading.id = reading_id
    return reading


_IDS: BindParameter[Any] = bindparam("ids", expanding=True)
_RANKED = (
    select(
        col(KpiReading.id),
        # Numbered per KPI from the newest, so one query serves every KPI of a page of initiatives.
        func.row_number()
        .over(
            partition_by=col(KpiReading.kpi_id),
            order_by=(col(KpiReading.recorded_at).desc(), col(KpiReading.id).desc()),
        )
        .label("rank"),
    )
    .where(col(KpiReading.kpi_id).in_(_IDS))
    .subquery()
)
# Prebuilt, since `status` reads them for a page of initiatives on every request.
_RECENT_READINGS = (
    select(KpiReading)
    .join(_RANKED, col(KpiReading.id) == _RANKED.c.id)
    .where(_RANKED.c.rank <= bindparam("per_kpi"))
    .order_by(col(KpiReading.kpi_id), col(KpiReading.recorded_at).desc(), col(KpiReading.id).desc())
)
_KPIS_OF = select(Kpi).where(col(Kpi.initiative_id).in_(_IDS)).order_by(col(Kpi.id))


def recent_readings(*, session: Session, kpi_ids: Sequence[int], per_kpi: int) -> dict[int, list[KpiReading]]:
    """The newest `per_kpi` readings of each KPI, newest first."""
    if not kpi_ids:
        return {}
    found: dict[int, list[KpiReading]] = defaultdict(list)
    for reading in session.execute(_RECENT_READINGS, {"ids": list(kpi_ids), "per_kpi": per_kpi}).scalars():
        found[reading.kpi_id].append(reading)
    return dict(found)


def kpis_of(*, session: Session, initiative_ids: Sequence[int]) -> Sequence[Kpi]:
    """The KPIs of many initiatives, in the order they were agreed."""
    if not initiative_ids:
        return []
    return session.execute(_KPIS_OF, {"ids": list(initiative_ids)}).scalars().all()


def set_breach(*, session: Session, kpi_id: int, in_breach: bool) -> bool:
    """Flip the KPI's breach state; True only for the one caller that flipped it, so one alert is posted."""
    result = session.connection().execute(
        update(Kpi).where(col(Kpi.id) == kpi_id, col(Kpi.in_breach).is_not(in_breach)).values(in_breach=in_breach)
    )
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


def kpi_names_by_initiative(*, session: Session, initiative_ids: Sequence[int]) -> dict[int, list[str]]:
    """The names of each initiative's KPIs, in the order they were agreed."""
    if not initiative_ids:
        return {}
    statement = (
        select(col(Kpi.initiative_id), col(Kpi.name))
        .where(col(Kpi.initiative_id).in_(initiative_ids))
        .order_by(col(Kpi.id))
    )
    found: dict[int, list[str]] = defaultdict(list)
    for initiative_id, name in session.exec(statement):
        found[initiative_id].append(name)
    return dict(found)


def delete_kpi(*, session: Session, kpi: Kpi) -> None:
    """Delete a KPI and its readings."""
    session.execute(delete(KpiReading).where(col(KpiReading.kpi_id) == kpi.id))
    session.delete(kpi)
    session.flush()


def count_readings(*, session: Session, kpi_id: int) -> int:
    statement = select(func.count()).select_from(KpiReading).where(col(KpiReading.kpi_id) == kpi_id)
    return int(session.exec(statement).one())


def nth_newest_reading(*, session: Session, kpi_id: int, position: int) -> KpiReading | None:
    """The `position`-th newest reading of a KPI (1 is the latest), in the order `recent_readings` returns them."""
    statement = (
        select(KpiReading)
        .where(col(KpiReading.kpi_id) == kpi_id)
        .order_by(col(KpiReading.recorded_at).desc(), col(KpiReading.id).desc())
        .offset(position - 1)
        .limit(1)
    )
    return session.exec(statement).first()


def delete_reading(*, session: Session, reading: KpiReading) -> None:
    session.delete(reading)
    session.flush()
