"""The readers for the sources this Handoff is configured for, built from the settings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from bot.config import MLFLOW_SETTINGS_NEEDED, PROMETHEUS_SETTINGS_NEEDED, Settings
from bot.kpi_sources.outcome import ModelVersion, SourceFailure, SourceOutcome, SourceQuery
from storage.models import KpiSourceKind

if TYPE_CHECKING:
    from bot.kpi_sources.mlflow import MlflowReader
    from bot.kpi_sources.prometheus import PrometheusReader

COMMAND_TIMEOUT_SECONDS = 10.0  # setting a source checks it after the ack: the answer may take this long
POLL_TIMEOUT_SECONDS = 30.0


class SourceReader(Protocol):
    """Reads many sourced KPIs of one kind, batching where the source can; one outcome per query, in order."""

    requests_made: int  # HTTP requests sent so far, for the benchmark and the metrics

    def read_all(self, queries: Sequence[SourceQuery], *, at: datetime) -> list[SourceOutcome]: ...


class RegistryReader(Protocol):
    """Finds the version of a registered model an alias points at (MLflow's model registry)."""

    def model_version(self, model: str, alias: str) -> ModelVersion | SourceFailure: ...


@dataclass(frozen=True)
class Readers:
    mlflow: MlflowReader | None = None
    prometheus: PrometheusReader | None = None

    def for_kind(self, kind: str) -> SourceReader | None:
        return self.mlflow if kind == KpiSourceKind.MLFLOW.value else self.prometheus

    @property
    def any(self) -> bool:
        return self.mlflow is not None or self.prometheus is not None


def build_readers(settings: Settings, *, timeout: float) -> Readers:
    """A reader for each source with settings; an HTTP session each, closed with the process."""
    mlflow = prometheus = None
    if settings.mlflow is not None:
        from bot.kpi_sources.mlflow import MlflowReader

        mlflow = MlflowReader(settings.mlflow, timeout=timeout)
    if settings.prometheus is not None:
        from bot.kpi_sources.prometheus import PrometheusReader

        prometheus = PrometheusReader(settings.prometheus, timeout=timeout)
    return Readers(mlflow=mlflow, prometheus=prometheus)


def settings_needed(kind: str) -> str:
    """The settings a source of `kind` needs, for the message that says they are missing."""
    return MLFLOW_SETTINGS_NEEDED if kind == KpiSourceKind.MLFLOW.value else PROMETHEUS_SETTINGS_NEEDED
