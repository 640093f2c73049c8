"""What a KPI source is: an MLflow experiment's metric (with an optional registered model's alias to watch), or
a PromQL query. Plain values, shared by the command, the form, the readers and the renderers."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from storage.models import KpiSourceKind

SOURCE_NAMES = {KpiSourceKind.MLFLOW.value: "MLflow", KpiSourceKind.PROMETHEUS.value: "Prometheus"}


class RunPick(StrEnum):
    """Which run of the experiment gives the reading."""

    LATEST = "latest"  # the newest finished run that logged the metric
    BEST = "best"  # the finished run with the best value of the metric, as the KPI's direction reads "best"


@dataclass(frozen=True)
class MlflowSpec:
    experiment: str
    metric: str
    run: RunPick = RunPick.LATEST
    filter: str | None = None  # an MLflow search filter, such as `tags.dataset = 'holdout'`
    model: str | None = None  # a registered model and one of its aliases: new versions taking it are announced
    alias: str | None = None

    kind = KpiSourceKind.MLFLOW


@dataclass(frozen=True)
class PrometheusSpec:
    query: str  # an instant query that returns one series (or a scalar)

    kind = KpiSourceKind.PROMETHEUS


SourceSpec = MlflowSpec | PrometheusSpec


def source_name(kind: str) -> str:
    """`MLflow` or `Prometheus`, for a kind as stored (also a sourced reading's `recorded_by`)."""
    return SOURCE_NAMES.get(kind, kind)


def is_source_recorder(recorded_by: str) -> bool:
    """Whether a reading was read from a source rather than typed by a person."""
    return recorded_by in SOURCE_NAMES


def describe(spec: SourceSpec) -> str:
    """One line of plain text (escape it for mrkdwn): `MLflow: metric auc of the best run in experiment churn`."""
    if isinstance(spec, PrometheusSpec):
        return f"Prometheus: {spec.query}"
    which = "the best run" if spec.run is RunPick.BEST else "the latest run"
    text = f"MLflow: metric {spec.metric} of {which} in experiment {spec.experiment}"
    if spec.filter:
        text += f" where {spec.filter}"
    if spec.model and spec.alias:
        text += f"; watching model {spec.model} @{spec.alias}"
    return text
