"""KPIs: the agreed measure of "good", its target, its readings, and one alert per breach."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlmodel import Session

from bot.errors import (
    FieldProblem,
    HandoffError,
    InvalidInput,
    NotAllowed,
    NothingToChange,
    Problem,
    UnknownUser,
    unusable_person,
)
from bot.initiatives import Actor, managers_of, note_problems, require_active, require_manager
from bot.kpi_sources.spec import MlflowSpec, PrometheusSpec, RunPick, SourceSpec, describe
from bot.people import PeopleService
from storage import kpi_sources as source_queries
from storage import kpis as queries
from storage.models import KPI_NAME_MAX, KPI_UNIT_MAX, Initiative, Kpi, KpiDirection, KpiReading, KpiSource

TREND_READINGS = 5
DIRECTIONS = {
    ">=": KpiDirection.AT_LEAST,
    "≥": KpiDirection.AT_LEAST,
    "<=": KpiDirection.AT_MOST,
    "≤": KpiDirection.AT_MOST,
}
# `kpi edit … direction:lower` reads better as a word than `direction:<=`.
NAMED_DIRECTIONS = {**DIRECTIONS, "higher": KpiDirection.AT_LEAST, "lower": KpiDirection.AT_MOST}
PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
# A thousands grouping: a comma every three digits, the first group not starting with 0 (`0,850` is a decimal).
GROUPED_NUMBER = re.compile(r"[+-]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?")
DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")
# What a user typed as a number, readable or not: it ends an unquoted KPI name in `kpi record`.
NUMBER_SHAPE = re.compile(r"[+-]?[\d.,]*\d[\d.,]*(?:[eE][+-]?\d+)?%?")


class UnknownKpi(HandoffError):
    """`name` as typed; `known` are the initiative's KPIs."""

    def __init__(self, name: str, initiative: Initiative, known: Sequence[str]):
        super().__init__(
            Problem.UNKNOWN_KPI, name=name, initiative=initiative.name, ref_key=initiative.ref_key, known=list(known)
        )
        self.name = name
        self.known = list(known)


class AmbiguousKpi(HandoffError):
    def __init__(self, name: str, initiative: Initiative, matches: Sequence[str]):
        super().__init__(Problem.AMBIGUOUS_KPI, name=name, initiative=initiative.name, matches=list(matches))
        self.name = name
        self.matches = list(matches)


class KpiNotAllowed(NotAllowed):
    """Only the KPI's owner, the initiative's managers and workspace admins may change a KPI or its readings."""

    def __init__(self, action: str, allowed_user_ids: Sequence[str]):
        super().__init__(action, allowed_user_ids, kind=Problem.KPI_NOT_ALLOWED)


def parse_direction(raw: str, *, named: bool = False) -> KpiDirection:
    """`>=` or `<=` (also `≥`, `≤`); with `named`, also `higher` or `lower`."""
    try:
        return (NAMED_DIRECTIONS if named else DIRECTIONS)[raw.strip().lower()]
    except KeyError:
        raise InvalidInput.single("direction", Problem.NOT_A_KPI_DIRECTION, raw=raw, named=named) from None


def looks_like_number(text: str) -> bool:
    """Typed as a number, even one `parse_number` refuses as ambiguous (`1,234`)."""
    return NUMBER_SHAPE.fullmatch(text.strip()) is not None


def parse_number(raw: str, what: str) -> float:
    """A number a user typed: `0.82`, `82%` (82, in the KPI's unit), `1e3`; `0,85` with a decimal comma; `1,234.5`
    or `1,234,567` grouped in thousands. `1,234` could be either and is refused rather than guessed."""
    text = raw.strip().removesuffix("%").strip()
    if "," in text:
        grouped = GROUPED_NUMBER.fullmatch(text) is not None
        if grouped and ("." in text or text.count(",") > 1):
            text = text.replace(",", "")
        elif grouped:
            whole, decimal = text.replace(",", ""), text.replace(",", ".")
            raise InvalidInput.single(what, Problem.AMBIGUOUS_NUMBER, raw=raw, what=what, whole=whole, decimal=decimal)
        elif DECIMAL_COMMA.fullmatch(text):
            text = text.replace(",", ".")
        else:
            raise InvalidInput.single(what, Problem.UNREADABLE_NUMBER, raw=raw, what=what)
    value = float(text) if PLAIN_NUMBER.fullmatch(text) else math.nan
    if not math.isfinite(value):
        raise InvalidInput.single(what, Problem.NOT_A_NUMBER, raw=raw, what=what)
    return value


class KpiLike(Protocol):
    """A KPI as it is shown and judged: an ORM row, or the plain facts a status page reads."""

    @property
    def id(self) -> int | None: ...
    @property
    def initiative_id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def direction(self) -> str: ...
    @property
    def target(self) -> float: ...
    @property
    def unit(self) -> str | None: ...
    @property
    def owner_id(self) -> str | None: ...
    @property
    def created_at(self) -> datetime: ...


class ReadingLike(Protocol):
    @property
    def value(self) -> float: ...
    @property
    def recorded_at(self) -> datetime: ...
    @property
    def recorded_by(self) -> str: ...


def meets(kpi: KpiLike, value: float) -> bool:
    return value >= kpi.target if kpi.direction == KpiDirection.AT_LEAST else value <= kpi.target


@dataclass(frozen=True)
class Standing:
    """How a value compares with its KPI's target, worded for the direction. Plain text: escape it for mrkdwn."""

    meets: bool
    phrase: str  # "meets its 0.82% target", "is below its 0.82% target", "is above its 120 ms ceiling"
    short: str  # for notification text: "on target", "below target", "within its ceiling", "above its ceiling"


def standing(kpi: KpiLike, value: float) -> Standing:
    """The one place that decides whether a value meets its KPI's target and how that is said."""
    met = meets(kpi, value)
    target = format_value(kpi.target, kpi.unit)
    if kpi.direction == KpiDirection.AT_MOST:
        if met:
            return Standing(True, f"is within its {target} ceiling", "within its ceiling")
        return Standing(False, f"is above its {target} ceiling", "above its ceiling")
    if met:
        return Standing(True, f"meets its {target} target", "on target")
    return Standing(False, f"is below its {target} target", "below target")


def format_value(value: float, unit: str | None = None) -> str:
    """`0.82`, `120 ms`, `97.5%`, `2000000 users`: no trailing zeros, the unit as agreed."""
    if abs(value) >= 1e15:
        text = f"{value:.3e}"
    else:
        text = f"{value:.6g}"
        if "e" in text and abs(value) >= 1:
            # Six significant digits would show a target of 2,000,000 as 2e+06 and 1,234,567 as 1.23457e+06.
            text = f"{value:.0f}"
    if unit:
        text += unit if unit == "%" else f" {unit}"
    return text


def target_text(kpi: KpiLike) -> str:
    return f"{kpi.direction} {format_value(kpi.target, kpi.unit)}"


def add_kpi(
    *,
    session: Session,
    actor: Actor,
    initiative: Initiative,
    name: str,
    direction: KpiDirection,
    target: float,
    unit: str | None,
    owner_id: str | None,
    people: PeopleService,
    now: datetime,
) -> Kpi:
    """Agree a KPI: managers and admins may; the name is unique within the initiative (any case)."""
    require_active(initiative, frozen="its KPIs are frozen")
    name = " ".join(name.split())
    problems = new_kpi_problems(
        session=session, initiative=initiative, name=name, unit=unit, owner_id=owner_id, people=people
    )
    if problems:
        raise InvalidInput(problems)
    require_manager(initiative=initiative, actor=actor, people=people, action="agree KPIs")
    return queries.save_kpi(
        session=session,
        kpi=Kpi(
            initiative_id=initiative.id or 0,
            name=name,
            name_key="",
            direction=direction.value,
            target=target,
            unit=unit.strip() if unit else None,
            owner_id=owner_id,
            created_by=actor.user_id,
            created_at=now,
        ),
    )


def new_kpi_problems(
    *,
    session: Session,
    initiative: Initiative,
    name: str,
    unit: str | None,
    owner_id: str | None,
    people: PeopleService | None,
) -> list[FieldProblem]:
    """Every problem with a new KPI's name, unit and owner, so a form can mark each field; without `people` the
    owner is not checked (a caller short of time leaves that to `add_kpi`)."""
    name = " ".join(name.split())
    problems: list[FieldProblem] = []
    if not name:
        problems.append(FieldProblem("name", Problem.KPI_NAME_MISSING))
    elif len(name) > KPI_NAME_MAX:
        problems.append(FieldProblem("name", Problem.TOO_LONG, what="name", length=len(name), limit=KPI_NAME_MAX))
    elif queries.get_kpi_by_name(session=session, initiative_id=initiative.id or 0, name=name) is not None:
        problems.append(FieldProblem("name", Problem.DUPLICATE_KPI, initiative=initiative.name, name=name))
    if unit is not None and (not unit.strip() or len(unit) > KPI_UNIT_MAX):
        problems.append(FieldProblem("unit", Problem.UNIT_LENGTH, limit=KPI_UNIT_MAX))
    if owner_id is not None and people is not None:
        try:
            people.require_person(owner_id)
        except UnknownUser as error:
            problems.append(unusable_person("owner", "Owner", error))
    return problems


@dataclass(frozen=True)
class RecordResult:
    kpi: Kpi
    reading: KpiReading
    meets_target: bool
    alert: bool  # this reading took the KPI from meeting its target to missing it: tell the thread, once
    recovered: bool  # this reading meets the target after readings that missed it

    @property
    def standing(self) -> Standing:
        return standing(self.kpi, self.reading.value)


def record_reading(
    *,
    session: Session,
    actor: Actor,
    initiative: Initiative,
    name: str,
    value: float,
    note: str | None,
    now: datetime,
) -> RecordResult:
    """Record a reading (anyone may; it says who and when) and work out whether it starts or ends a breach."""
    require_active(initiative, frozen="its KPIs are frozen")
    kpi = resolve_kpi(session=session, initiative=initiative, name=name)
    problems = note_problems(note)
    if problems:
        raise InvalidInput(problems)
    previous = queries.recent_readings(session=session, kpi_ids=[kpi.id or 0], per_kpi=1).get(kpi.id or 0, [])
    reading = queries.add_reading(
        session=session,
        reading=KpiReading(
            kpi_id=kpi.id or 0, value=value, note=note or None, recorded_by=actor.user_id, recorded_at=now
        ),
    )
    return _settle_new_reading(session=session, kpi=kpi, previous=previous[0] if previous else None, reading=reading)


def record_sourced_reading(
    *, session: Session, kpi: Kpi, source_kind: str, value: float, observed_at: datetime, source_key: str
) -> RecordResult | None:
    """Record a reading read from the KPI's source, once per `source_key`: None if it was recorded before (an
    earlier poll, a restart, another replica). It is judged against the reading before it in time, as a typed one
    is, and only when it is the newest does it start or end a breach."""
    newest = queries.recent_readings(session=session, kpi_ids=[kpi.id or 0], per_kpi=1).get(kpi.id or 0, [])
    reading = queries.add_reading_once(
        session=session,
        reading=KpiReading(
            kpi_id=kpi.id or 0,
            value=value,
            recorded_by=source_kind,
            recorded_at=observed_at,
            source_key=source_key,
        ),
    )
    if reading is None:
        return None
    if newest and newest[0].recorded_at > observed_at:
        # Read late (a backfilled step, a source down for a while): kept in the history, not announced.
        return RecordResult(kpi=kpi, reading=reading, meets_target=meets(kpi, value), alert=False, recovered=False)
    # Not read late, so the newest reading before this one is the reading just before it in time.
    return _settle_new_reading(session=session, kpi=kpi, previous=newest[0] if newest else None, reading=reading)


def _settle_new_reading(
    *, session: Session, kpi: Kpi, previous: KpiReading | None, reading: KpiReading
) -> RecordResult:
    ok = meets(kpi, reading.value)
    # A breach starts when a reading misses after one that met; a first reading that misses crossed nothing.
    # The flag flips in one conditional UPDATE, so two readings recorded at once raise one alert between them,
    # and only a breach the thread was told of is announced as over.
    crossed = previous is not None and meets(kpi, previous.value) and not ok
    alert = crossed and queries.set_breach(session=session, kpi_id=kpi.id or 0, in_breach=True)
    recovered = ok and queries.set_breach(session=session, kpi_id=kpi.id or 0, in_breach=False)
    session.refresh(kpi)
    return RecordResult(kpi=kpi, reading=reading, meets_target=ok, alert=alert, recovered=recovered)


def resolve_kpi(*, session: Session, initiative: Initiative, name: str) -> Kpi:
    """One of the initiative's KPIs by exact name (any case) or an unambiguous prefix, for every KPI command."""
    kpis = queries.list_kpis(session=session, initiative_id=initiative.id or 0)
    key = queries.name_key(name)
    exact = next((k for k in kpis if k.name_key == key), None)
    if exact is not None:
        return exact
    matches = [k for k in kpis if key and k.name_key.startswith(key)]
    if len(matches) > 1:
        raise AmbiguousKpi(name, initiative, [m.name for m in matches])
    if not matches:
        raise UnknownKpi(name, initiative, [k.name for k in kpis])
    return matches[0]


def require_kpi_manager(*, initiative: Initiative, kpi: Kpi, actor: Actor, people: PeopleService, action: str) -> None:
    """The KPI's owner, the initiative's managers and workspace admins may change a KPI and its readings."""
    allowed = list(dict.fromkeys([*([kpi.owner_id] if kpi.owner_id else []), *managers_of(initiative)]))
    if actor.user_id in allowed or people.is_workspace_admin(actor.user_id):
        return
    raise KpiNotAllowed(action, allowed)


def _settle_breach(*, session: Session, kpi: Kpi) -> KpiReading | None:
    """After an edit or a removed reading, the KPI is in breach exactly when its latest reading misses.

    The thread is told where the KPI now stands in the same post, so a later reading that meets announces a
    recovery, and one that misses after a met latest reading raises a fresh alert.
    """
    latest = queries.recent_readings(session=session, kpi_ids=[kpi.id or 0], per_kpi=1).get(kpi.id or 0, [])
    newest = latest[0] if latest else None
    queries.set_breach(
        session=session, kpi_id=kpi.id or 0, in_breach=newest is not None and not meets(kpi, newest.value)
    )
    session.refresh(kpi)
    return newest


@dataclass(frozen=True)
class KpiFacts:
    """A KPI's agreed terms as they were before a change, to show old → new."""

    name: str
    direction: str
    target: float
    unit: str | None
    owner_id: str | None

    @classmethod
    def of(cls, kpi: Kpi) -> KpiFacts:
        return cls(kpi.name, kpi.direction, kpi.target, kpi.unit, kpi.owner_id)

    @property
    def target_text(self) -> str:
        return f"{self.direction} {format_value(self.target, self.unit)}"


@dataclass(frozen=True)
class KpiEdit:
    """What `kpi edit` asks to change; None leaves a value as it is, `CLEAR` removes the unit or the owner."""

    name: str | None = None
    target: float | None = None
    unit: object = None  # str, CLEAR or None
    direction: KpiDirection | None = None
    owner_id: object = None  # str, CLEAR or None


@dataclass(frozen=True)
class KpiEdited:
    kpi: Kpi
    before: KpiFacts
    latest: KpiReading | None
    restated: bool  # the target or direction changed: the thread is told where the latest reading now stands


def edit_kpi(
    *,
    session: Session,
    actor: Actor,
    initiative: Initiative,
    name: str,
    edit: KpiEdit,
    people: PeopleService,
) -> KpiEdited:
    """Change a KPI's name, target, unit, direction or owner; a new target or direction settles its breach state."""
    require_active(initiative, frozen="its KPIs are frozen")
    kpi = resolve_kpi(session=session, initiative=initiative, name=name)
    problems: list[FieldProblem] = []
    new_name = " ".join(edit.name.split()) if edit.name is not None else None
    if new_name is not None:
        if not new_name:
            problems.append(FieldProblem("name", Problem.KPI_NEW_NAME_MISSING))
        elif len(new_name) > KPI_NAME_MAX:
            problems.append(
                FieldProblem("name", Problem.TOO_LONG, what="name", length=len(new_name), limit=KPI_NAME_MAX)
            )
        else:
            same = queries.get_kpi_by_name(session=session, initiative_id=initiative.id or 0, name=new_name)
            if same is not None and same.id != kpi.id:
                problems.append(FieldProblem("name", Problem.DUPLICATE_KPI, initiative=initiative.name, name=new_name))
    if isinstance(edit.unit, str) and (not edit.unit.strip() or len(edit.unit.strip()) > KPI_UNIT_MAX):
        problems.append(FieldProblem("unit", Problem.UNIT_LENGTH, limit=KPI_UNIT_MAX))
    if isinstance(edit.owner_id, str):
        try:
            people.require_person(edit.owner_id)
        except UnknownUser as error:
            problems.append(unusable_person("owner", "Owner", error))
    if problems:
        raise InvalidInput(problems)
    require_kpi_manager(initiative=initiative, kpi=kpi, actor=actor, people=people, action="change its KPIs")
    before = KpiFacts.of(kpi)
    after = KpiFacts(
        name=new_name if new_name is not None else kpi.name,
        direction=edit.direction.value if edit.direction is not None else kpi.direction,
        target=edit.target if edit.target is not None else kpi.target,
        unit=kpi.unit if edit.unit is None else edit.unit.strip() if isinstance(edit.unit, str) else None,
        owner_id=kpi.owner_id if edit.owner_id is None else edit.owner_id if isinstance(edit.owner_id, str) else None,
    )
    if after == before:
        raise NothingToChange(Problem.KPI_UNCHANGED, kpi=kpi.name)
    kpi.name, kpi.direction, kpi.target, kpi.unit, kpi.owner_id = (
        after.name,
        after.direction,
        after.target,
        after.unit,
        after.owner_id,
    )
    queries.save_kpi(session=session, kpi=kpi)
    if (after.direction, after.target) == (before.direction, before.target):
        return KpiEdited(kpi=kpi, before=before, latest=None, restated=False)
    latest = _settle_breach(session=session, kpi=kpi)
    return KpiEdited(kpi=kpi, before=before, latest=latest, restated=True)


@dataclass(frozen=True)
class KpiRemoved:
    kpi: KpiFacts
    readings: int  # how many readings went with it
    remaining: int  # KPIs the initiative still has


def remove_kpi(
    *, session: Session, actor: Actor, initiative: Initiative, name: str, people: PeopleService
) -> KpiRemoved:
    """Remove a KPI with its readings (the checklist's KPI item may then be missing again)."""
    require_active(initiative, frozen="its KPIs are frozen")
    kpi = resolve_kpi(session=session, initiative=initiative, name=name)
    require_kpi_manager(initiative=initiative, kpi=kpi, actor=actor, people=people, action="remove its KPIs")
    facts = KpiFacts.of(kpi)
    readings = queries.count_readings(session=session, kpi_id=kpi.id or 0)
    queries.delete_kpi(session=session, kpi=kpi)
    remaining = len(queries.list_kpis(session=session, initiative_id=initiative.id or 0))
    return KpiRemoved(kpi=facts, readings=readings, remaining=remaining)


@dataclass(frozen=True)
class ReadingRemoved:
    kpi: Kpi
    reading: KpiReading
    position: int  # 1 for the newest, as `kpi list` numbers them
    latest: KpiReading | None  # the newest reading left

    @property
    def standing(self) -> Standing | None:
        return None if self.latest is None else standing(self.kpi, self.latest.value)


def remove_reading(
    *,
    session: Session,
    actor: Actor,
    initiative: Initiative,
    name: str,
    position: int,
    people: PeopleService,
) -> ReadingRemoved:
    """Remove the `position`-th newest reading of a KPI (1, the latest, by default) and settle its breach state."""
    require_active(initiative, frozen="its KPIs are frozen")
    kpi = resolve_kpi(session=session, initiative=initiative, name=name)
    reading = queries.nth_newest_reading(session=session, kpi_id=kpi.id or 0, position=position)
    if reading is None:
        count = queries.count_readings(session=session, kpi_id=kpi.id or 0)
        raise InvalidInput.single(
            "reading", Problem.NO_SUCH_READING, kpi=kpi.name, count=count, ref_key=initiative.ref_key
        )
    require_kpi_manager(initiative=initiative, kpi=kpi, actor=actor, people=people, action="remove KPI readings")
    queries.delete_reading(session=session, reading=reading)
    latest = _settle_breach(session=session, kpi=kpi)
    return ReadingRemoved(kpi=kpi, reading=reading, position=position, latest=latest)


def source_spec(source: KpiSource) -> SourceSpec:
    """What a stored source reads, as the command and the form give it."""
    if source.kind == PrometheusSpec.kind.value:
        return PrometheusSpec(query=source.query or "")
    return MlflowSpec(
        experiment=source.experiment or "",
        metric=source.metric or "",
        run=RunPick(source.run_pick or RunPick.LATEST.value),
        filter=source.run_filter,
        model=source.model,
        alias=source.alias,
    )


@dataclass(frozen=True)
class SourceState:
    """Where a KPI's readings come from and whether reading it works, as `kpi list` and `status` show it."""

    kind: str
    failing_since: datetime | None
    last_good_at: datetime | None
    failure: str | None = None  # plain text; the status page does not read it
    description: str | None = None  # `describe` of the source; the status page does not read it

    @classmethod
    def of(cls, source: KpiSource) -> SourceState:
        return cls(
            kind=source.kind,
            failing_since=source.failing_since,
            last_good_at=source.last_good_at,
            failure=source.failure,
            description=describe(source_spec(source)),
        )


@dataclass(frozen=True)
class KpiView:
    """A KPI as `kpi list` and `status` show it."""

    kpi: KpiLike
    readings: tuple[ReadingLike, ...]  # newest first, at most TREND_READINGS
    stale: bool
    source: SourceState | None = None  # None: its readings are typed by people

    @property
    def latest(self) -> ReadingLike | None:
        return self.readings[0] if self.readings else None

    @property
    def meets_target(self) -> bool | None:
        return None if self.latest is None else meets(self.kpi, self.latest.value)

    @property
    def standing(self) -> Standing | None:
        return None if self.latest is None else standing(self.kpi, self.latest.value)


def is_stale(kpi: KpiLike, last_reading_at: datetime | None, now: datetime, stale_days: int) -> bool:
    """No reading for `stale_days` (counting from when the KPI was agreed, before its first reading)."""
    return now - (last_reading_at or kpi.created_at) >= timedelta(days=stale_days)


def kpi_views(*, session: Session, initiative: Initiative, now: datetime, stale_days: int) -> list[KpiView]:
    """An initiative's KPIs with their recent readings, for `kpi list`."""
    views = kpi_views_for(
        session=session, initiative_ids=[initiative.id or 0], now=now, stale_days=stale_days, per_kpi=TREND_READINGS
    )
    return views.get(initiative.id or 0, [])


def kpi_views_for(
    *, session: Session, initiative_ids: Sequence[int], now: datetime, stale_days: int, per_kpi: int = 1
) -> dict[int, list[KpiView]]:
    """The KPIs of many initiatives with their newest `per_kpi` readings and their sources, in three queries."""
    kpis = queries.kpis_of(session=session, initiative_ids=initiative_ids)
    kpi_ids = [k.id or 0 for k in kpis]
    readings = queries.recent_readings(session=session, kpi_ids=kpi_ids, per_kpi=per_kpi)
    sources = source_queries.sources_of(session=session, kpi_ids=kpi_ids)
    views: dict[int, list[KpiView]] = {}
    for kpi in kpis:
        mine = tuple(readings.get(kpi.id or 0, ()))
        stale = is_stale(kpi, mine[0].recorded_at if mine else None, now, stale_days)
        source = sources.get(kpi.id or 0)
        state = None if source is None else SourceState.of(source)
        views.setdefault(kpi.initiative_id, []).append(KpiView(kpi, mine, stale, state))
    return views
