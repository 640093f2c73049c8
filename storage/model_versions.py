"""Typed queries for the registered models that sourced KPIs watch: the watches to ask MLflow about, and the
claim that lets exactly one caller announce an alias's new version."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage.models import Initiative, Kpi, KpiSource, KpiSourceKind


@dataclass(frozen=True)
class ModelWatchRow:
    """An MLflow source with a registered model and alias, with its KPI and that KPI's initiative."""

    source: KpiSource
    kpi: Kpi
    initiative: Initiative


def model_watches(*, session: Session) -> list[ModelWatchRow]:
    """Every MLflow source watching a model's alias whose initiative is not archived, in one statement."""
    statement = (
        select(KpiSource, Kpi, Initiative)
        .join(Kpi, col(Kpi.id) == col(KpiSource.kpi_id))
        .join(Initiative, col(Initiative.id) == col(Kpi.initiative_id))
        .where(
            col(KpiSource.kind) == KpiSourceKind.MLFLOW.value,
            col(KpiSource.model).is_not(None),
            col(KpiSource.alias).is_not(None),
            col(Initiative.archived).is_(False),
        )
        .order_by(col(KpiSource.id))
    )
    return [ModelWatchRow(source, kpi, initiative) for source, kpi, initiative in session.exec(statement).all()]


def claim_model_version(*, session: Session, source_id: int, seen: str | None, version: str) -> bool:
    """Move the source's last announced version from `seen` to `version`; True only for the one caller (of every
    replica) whose update found `seen` still there."""
    was_seen = col(KpiSource.model_version).is_(None) if seen is None else col(KpiSource.model_version) == seen
    result = session.connection().execute(
        update(KpiSource).where(col(KpiSource.id) == source_id, was_seen).values(model_version=version)
    )
    return int(result.rowcount) == 1  # type: ignore[attr-defined]
