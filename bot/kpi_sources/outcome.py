"""What reading a source gives: a number with its source timestamp and link, or a precise failure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.kpi_sources.spec import SourceSpec


@dataclass(frozen=True)
class SourceQuery:
    """One sourced KPI to read."""

    source_id: int
    spec: SourceSpec
    higher_is_better: bool  # the KPI's direction: which MLflow run is the best
    experiment_id: str | None = None  # MLflow: as found when the source was set, so a poll needs no lookup


@dataclass(frozen=True)
class SourceReading:
    value: float
    observed_at: datetime  # UTC: the metric's logging time in MLflow, the sample's time in Prometheus
    # Unique per value in its source (run, metric, step and timestamp; the sample time), at most 255 characters:
    # the same reading read twice has the same key, and is recorded once.
    key: str
    url: str | None  # the MLflow run, or the Prometheus graph of the query
    label: str  # plain text naming it: `MLflow run 3f2a9c1 (step 12)`, `Prometheus at 14:00 UTC`


@dataclass(frozen=True)
class SourceFailure:
    """Why a source gave no reading, in a sentence a person can act on (plain text)."""

    reason: str
    transient: bool = False  # unreachable, 5xx, 429: the same source may well answer next time


@dataclass(frozen=True)
class SourceOutcome:
    source_id: int
    reading: SourceReading | None = None
    failure: SourceFailure | None = None
    experiment_id: str | None = None  # MLflow: the experiment's id, when it was looked up


@dataclass(frozen=True)
class ModelVersion:
    """The version of a registered model an alias points at, with its run's metrics."""

    model: str
    alias: str
    version: str
    run_id: str | None
    metrics: dict[str, float] = field(default_factory=dict)
    url: str | None = None  # the version's page in the MLflow UI
