"""Typed queries for a KPI's source: where its readings are read from, and how reading them went lately."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete
from sqlmodel import Session, col, select

from storage.models import KpiSource


def get_source(*, session: Session, kpi_id: int) -> KpiSource | None:
    return session.exec(select(KpiSource).where(col(KpiSource.kpi_id) == kpi_id)).first()


def sources_of(*, session: Session, kpi_ids: Sequence[int]) -> dict[int, KpiSource]:
    """The sources of these KPIs, by KPI id; a KPI whose readings are typed has none."""
    if not kpi_ids:
        return {}
    rows = session.exec(select(KpiSource).where(col(KpiSource.kpi_id).in_(list(kpi_ids)))).all()
    return {row.kpi_id: row for row in rows}


def replace_source(*, session: Session, source: KpiSource) -> bool:
    """Make `source` the KPI's only source, its state starting afresh; True when it replaced one."""
    replaced = delete_source(session=session, kpi_id=source.kpi_id)
    session.add(source)
    session.flush()
    return replaced


def delete_source(*, session: Session, kpi_id: int) -> bool:
    """Remove the KPI's source (its readings stay); True when it had one."""
    result = session.connection().execute(delete(KpiSource).where(col(KpiSource.kpi_id) == kpi_id))
    return int(result.rowcount) > 0  # type: ignore[attr-defined]
