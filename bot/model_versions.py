"""Watching registered models: when a KPI's MLflow source names a model and an alias, a new version taking that alias
is news for the initiative's thread, announced once across every replica.

The version last announced is kept on the source (`kpi_source.model_version`) and moved to the new one with a
compare-and-set, so of the replicas and rounds that see the same move, exactly one announces it. A source that
watched nothing yet takes the alias's version silently: a version is news when it moves, not when the watch starts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlmodel import Session

from bot.checklist import MAIN_LINE, phase_order
from bot.kpi_sources.outcome import ModelVersion, SourceFailure
from bot.kpi_sources.readers import RegistryReader
from bot.kpis import Standing, standing
from storage import model_versions as queries
from storage.models import Initiative, Kpi, Phase

log = logging.getLogger(__name__)
Sessions = Callable[[], AbstractContextManager[Session]]

MAX_OTHER_METRICS = 10  # a version's run may log hundreds; the announcement names the first few by key
# The phases in which a new version suggests moving on: production and after are where a version is served.
BEFORE_PRODUCTION = (Phase.DISCOVERY, Phase.RESEARCH, Phase.SUMMARY, Phase.DEVELOPMENT)


@dataclass(frozen=True)
class KpiOnVersion:
    """A KPI watching the model, with the value its metric has in the version's run (None: not logged there)."""

    kpi: Kpi
    metric: str
    value: float | None

    @property
    def standing(self) -> Standing | None:
        return None if self.value is None else standing(self.kpi, self.value)


@dataclass(frozen=True)
class VersionNews:
    """A version newly taking an alias, for one initiative's thread: its KPIs' metrics, a few others, and the phase
    it suggests moving to (None from production on, and while paused or cancelled)."""

    initiative: Initiative
    version: ModelVersion
    kpis: tuple[KpiOnVersion, ...]
    other_metrics: tuple[tuple[str, float], ...]
    more_metrics: int  # the run's other metrics left out past MAX_OTHER_METRICS
    suggested_phase: Phase | None


def suggested_phase(phase: str) -> Phase | None:
    """The phase a new version suggests: the next one on the main line, before production only.

    The next phase, not production itself: each gate's checklist is passed in turn, and the form it opens lists
    every phase for whoever means to go further."""
    if phase not in BEFORE_PRODUCTION:
        return None
    return MAIN_LINE[MAIN_LINE.index(Phase(phase)) + 1]


def new_model_versions(*, sessions: Sessions, reader: RegistryReader) -> list[VersionNews]:
    """Ask MLflow once per watched (model, alias) and claim each version that moved; the news this caller won."""
    with sessions() as session:
        watches = queries.model_watches(session=session)
    versions: dict[tuple[str, str], ModelVersion] = {}
    for model, alias in dict.fromkeys((w.source.model or "", w.source.alias or "") for w in watches):
        found = reader.model_version(model, alias)
        if isinstance(found, SourceFailure):
            # Reading the KPI's value reports a failing source; the watch only waits for the next round.
            log.warning("model version not read", extra={"model": model, "alias": alias, "reason": found.reason})
            continue
        versions[(model, alias)] = found
    won: dict[tuple[int, str, str, str], tuple[ModelVersion, list[queries.ModelWatchRow]]] = {}
    with sessions() as session:
        for watch in watches:
            source = watch.source
            version = versions.get((source.model or "", source.alias or ""))
            if version is None or version.version == source.model_version:
                continue
            claimed = queries.claim_model_version(
                session=session, source_id=source.id or 0, seen=source.model_version, version=version.version
            )
            if claimed and source.model_version is not None:
                key = (watch.initiative.id or 0, version.model, version.alias, version.version)
                won.setdefault(key, (version, []))[1].append(watch)
    return [_news(version, watch_group) for version, watch_group in won.values()]


def still_ahead(suggested: Phase, phase: str) -> Phase | None:
    """The suggested phase to pick in the form, unless the initiative has reached or passed it since the news."""
    order, current = phase_order(suggested), phase_order(Phase(phase))
    return suggested if order is not None and (current is None or order > current) else None


def _news(version: ModelVersion, watches: Sequence[queries.ModelWatchRow]) -> VersionNews:
    """The news of `version` for the initiative of `watches`, all of one initiative."""
    initiative = watches[0].initiative
    kpis = tuple(
        KpiOnVersion(w.kpi, w.source.metric or "", version.metrics.get(w.source.metric or "")) for w in watches
    )
    shown = {k.metric for k in kpis}
    others = sorted((key, value) for key, value in version.metrics.items() if key not in shown)
    return VersionNews(
        initiative=initiative,
        version=version,
        kpis=kpis,
        other_metrics=tuple(others[:MAX_OTHER_METRICS]),
        more_metrics=max(0, len(others) - MAX_OTHER_METRICS),
        suggested_phase=suggested_phase(initiative.phase),
    )
