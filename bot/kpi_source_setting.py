"""Setting, showing and removing a KPI's source: who may, checking the source reads a number before anything is
saved, and recording that first number as the KPI's reading."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot.errors import FieldProblem, HandoffError, NothingToChange, Problem
from bot.initiatives import Actor, require_active
from bot.kpi_sources.outcome import ModelVersion, SourceFailure, SourceQuery, SourceReading
from bot.kpi_sources.readers import RegistryReader, SourceReader
from bot.kpi_sources.spec import MlflowSpec, PrometheusSpec, SourceSpec
from bot.kpis import (
    RecordResult,
    UnknownKpi,
    record_sourced_reading,
    require_kpi_manager,
    resolve_kpi,
    source_spec,
)
from bot.people import PeopleService
from storage import kpi_sources as queries
from storage import kpis as kpi_queries
from storage.models import (
    SOURCE_FILTER_MAX,
    SOURCE_QUERY_MAX,
    SOURCE_TEXT_MAX,
    Initiative,
    Kpi,
    KpiDirection,
    KpiSource,
)


class SourceNotConfigured(HandoffError):
    def __init__(self, kind: str):
        super().__init__(Problem.SOURCE_NOT_CONFIGURED, kind=kind)
        self.source_kind = kind


class SourceCheckFailed(HandoffError):
    """Reading the source gave no number; `reason` is the reader's plain sentence."""

    def __init__(self, kpi: str, kind: str, reason: str):
        super().__init__(Problem.SOURCE_CHECK_FAILED, kpi=kpi, kind=kind, reason=reason)
        self.reason = reason


def spec_problems(spec: SourceSpec) -> list[FieldProblem]:
    """Every problem with a source's terms before it is read, each on the field (and option) that holds it."""
    problems: list[FieldProblem] = []
    if isinstance(spec, PrometheusSpec):
        if not spec.query.strip():
            problems.append(FieldProblem("query", Problem.SOURCE_FIELD_MISSING, kind=spec.kind.value, what="a query"))
        elif len(spec.query) > SOURCE_QUERY_MAX:
            problems.append(_too_long("query", spec.query, SOURCE_QUERY_MAX))
        return problems
    for field, value, what in (
        ("experiment", spec.experiment, "an experiment"),
        ("metric", spec.metric, "a metric"),
    ):
        if not value.strip():
            problems.append(FieldProblem(field, Problem.SOURCE_FIELD_MISSING, kind=spec.kind.value, what=what))
    for field, text, limit in (
        ("experiment", spec.experiment, SOURCE_TEXT_MAX),
        ("metric", spec.metric, SOURCE_TEXT_MAX),
        ("filter", spec.filter or "", SOURCE_FILTER_MAX),
        ("model", spec.model or "", SOURCE_TEXT_MAX),
        ("alias", spec.alias or "", SOURCE_TEXT_MAX),
    ):
        if len(text) > limit:
            problems.append(_too_long(field, text, limit))
    if bool(spec.model) != bool(spec.alias):
        problems.append(FieldProblem("model" if not spec.model else "alias", Problem.SOURCE_MODEL_AND_ALIAS))
    return problems


def _too_long(field: str, text: str, limit: int) -> FieldProblem:
    return FieldProblem(field, Problem.TOO_LONG, what=field, length=len(text), limit=limit)


def source_kpi(*, session: Session, actor: Actor, initiative: Initiative, name: str, people: PeopleService) -> Kpi:
    """The KPI whose source is to change, once the initiative is active and the actor may change the KPI."""
    require_active(initiative, frozen="its KPIs are frozen")
    kpi = resolve_kpi(session=session, initiative=initiative, name=name)
    require_kpi_manager(initiative=initiative, kpi=kpi, actor=actor, people=people, action="set a KPI's source")
    return kpi


@dataclass(frozen=True)
class CheckedSource:
    """A source that read a number just now, with what the check found out about it."""

    spec: SourceSpec
    reading: SourceReading
    experiment_id: str | None
    model_version: ModelVersion | None  # the version the alias points at now: only later ones are announced


def check_source(
    *,
    kpi: Kpi,
    spec: SourceSpec,
    reader: SourceReader | None,
    registry: RegistryReader | None,
    at: datetime,
) -> CheckedSource:
    """Read the source once (and the alias's model version, if one is watched); a precise error if it gives no
    number. No database: it runs between the check of who may and the write."""
    if reader is None:
        raise SourceNotConfigured(spec.kind.value)
    query = SourceQuery(source_id=kpi.id or 0, spec=spec, higher_is_better=kpi.direction == KpiDirection.AT_LEAST)
    [outcome] = reader.read_all([query], at=at)
    if outcome.reading is None:
        reason = outcome.failure.reason if outcome.failure is not None else "it returned no value"
        raise SourceCheckFailed(kpi.name, spec.kind.value, reason)
    version = None
    if isinstance(spec, MlflowSpec) and spec.model and spec.alias:
        if registry is None:
            raise SourceNotConfigured(spec.kind.value)
        found = registry.model_version(spec.model, spec.alias)
        if isinstance(found, SourceFailure):
            raise SourceCheckFailed(kpi.name, spec.kind.value, found.reason)
        version = found
    return CheckedSource(spec, outcome.reading, outcome.experiment_id, version)


@dataclass(frozen=True)
class SourceSet:
    kpi: Kpi
    checked: CheckedSource
    recorded: RecordResult | None  # None: this very reading was recorded before (by a poll)
    replaced: bool  # the KPI had a source before


def save_source(
    *, session: Session, initiative: Initiative, kpi: Kpi, checked: CheckedSource, actor: Actor, now: datetime
) -> SourceSet:
    """Make the checked source the KPI's (its state afresh) and record the number it read as a reading."""
    # `kpi` is the one whose permission was checked: loaded again by its id, never by name, as it may have been
    # removed or moved while its source was read, and another KPI matching the name must not get a source its owner
    # never allowed.
    kpi_id = kpi.id or 0
    loaded = session.get(Kpi, kpi_id)
    current = session.get(Initiative, initiative.id)
    if loaded is None or current is None or loaded.initiative_id != current.id:
        known = [k.name for k in kpi_queries.list_kpis(session=session, initiative_id=initiative.id or 0)]
        raise UnknownKpi(kpi.name, initiative, known)
    require_active(current, frozen="its KPIs are frozen")
    spec, reading = checked.spec, checked.reading
    row = KpiSource(kpi_id=kpi_id, kind=spec.kind.value, set_by=actor.user_id, set_at=now, last_good_at=now)
    if isinstance(spec, MlflowSpec):
        row.experiment, row.metric, row.run_pick = spec.experiment, spec.metric, spec.run.value
        row.run_filter, row.model, row.alias = spec.filter, spec.model, spec.alias
        row.experiment_id = checked.experiment_id
        row.model_version = checked.model_version.version if checked.model_version is not None else None
    else:
        row.query = spec.query
    replaced = queries.replace_source(session=session, source=row)
    recorded = record_sourced_reading(
        session=session,
        kpi=loaded,
        source_kind=spec.kind.value,
        value=reading.value,
        observed_at=reading.observed_at,
        source_key=reading.key,
    )
    return SourceSet(kpi=loaded, checked=checked, recorded=recorded, replaced=replaced)


def remove_source(*, session: Session, kpi: Kpi) -> SourceSpec:
    """Stop reading the KPI from its source; its readings stay. What it was read from."""
    source = queries.get_source(session=session, kpi_id=kpi.id or 0)
    if source is None:
        raise NothingToChange(Problem.NO_SOURCE, kpi=kpi.name)
    queries.delete_source(session=session, kpi_id=kpi.id or 0)
    return source_spec(source)


def current_source(*, session: Session, initiative: Initiative, name: str) -> tuple[Kpi, KpiSource | None]:
    """The KPI and its source, for anyone to see."""
    kpi = resolve_kpi(session=session, initiative=initiative, name=name)
    return kpi, queries.get_source(session=session, kpi_id=kpi.id or 0)
