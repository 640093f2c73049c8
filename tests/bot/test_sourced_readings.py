"""A reading read from a KPI's source is recorded once per source key, and judged like a typed one."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from bot.kpis import KpiDirection, RecordResult, record_sourced_reading
from storage import kpis as queries
from storage.models import Kpi, KpiReading
from tests.support.factories import count_rows, managed
from tests.support.workspace import ALICE, NOW


def agreed_kpi(session: Session) -> Kpi:
    initiative = managed(session)
    kpi = Kpi(
        initiative_id=initiative.id or 0,
        name="AUC",
        name_key="",
        direction=KpiDirection.AT_LEAST.value,
        target=0.8,
        created_by=ALICE,
        created_at=NOW - timedelta(days=3),
    )
    queries.save_kpi(session=session, kpi=kpi)
    session.commit()
    return kpi


def read(session: Session, kpi: Kpi, value: float, minutes: int, key: str | None = None) -> RecordResult | None:
    result = record_sourced_reading(
        session=session,
        kpi=kpi,
        source_kind="mlflow",
        value=value,
        observed_at=NOW + timedelta(minutes=minutes),
        source_key=key or f"mlflow:run:{minutes}",
    )
    session.commit()
    return result


def test_the_same_source_key_is_recorded_once(session: Session) -> None:
    kpi = agreed_kpi(session)
    first = read(session, kpi, 0.84, 0, key="mlflow:r1:auc:0:1000")
    again = read(session, kpi, 0.84, 0, key="mlflow:r1:auc:0:1000")
    assert first is not None and first.reading.recorded_by == "mlflow"
    assert again is None
    assert count_rows(session, KpiReading) == 1


def test_a_sourced_reading_that_misses_after_one_that_met_raises_one_alert_then_recovers(session: Session) -> None:
    kpi = agreed_kpi(session)
    assert read(session, kpi, 0.84, 0) is not None
    missed = read(session, kpi, 0.71, 60)
    assert missed is not None and missed.alert and not missed.meets_target
    still = read(session, kpi, 0.70, 120)
    assert still is not None and not still.alert  # one alert a breach
    back = read(session, kpi, 0.83, 180)
    assert back is not None and back.recovered


def test_a_reading_older_than_the_newest_is_kept_but_not_announced(session: Session) -> None:
    kpi = agreed_kpi(session)
    read(session, kpi, 0.84, 60)
    late = read(session, kpi, 0.5, 30)  # logged earlier, read later
    assert late is not None and not late.alert and not late.recovered
    assert count_rows(session, KpiReading) == 2
    session.refresh(kpi)
    assert not kpi.in_breach
