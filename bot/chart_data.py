"""Data a chart is drawn from: plain dataclasses, light to import (no plotting library)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class PhaseBar:
    """One phase of the funnel: how many entered it and how long they stayed (days)."""

    phase: str
    entered: int
    median_days: float | None
    p90_days: float | None


@dataclass(frozen=True)
class FunnelData:
    """The phase funnel with lead times for a set of initiatives."""

    title: str
    bars: tuple[PhaseBar, ...]
    reached_production: int
    total: int


@dataclass(frozen=True)
class KpiPoint:
    """One reading of a KPI, and whether it breached the target."""

    at: datetime
    value: float
    breached: bool


@dataclass(frozen=True)
class KpiSeries:
    """A KPI's readings over time against its target."""

    title: str
    unit: str | None
    direction: str
    target: float
    points: tuple[KpiPoint, ...]


@dataclass(frozen=True)
class BurnUpPoint:
    """Checkpoints done and in total at the end of one day."""

    day: date
    done: int
    total: int


@dataclass(frozen=True)
class BurnUp:
    """An initiative's checkpoints done over time against the total and its target date."""

    title: str
    points: tuple[BurnUpPoint, ...]
    target_date: date | None
