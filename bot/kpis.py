"""KPIs: the agreed measure of "good", its target, its readings, and one alert per breach."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.errors import FieldProblem, HandoffError, InvalidInput, UnknownUser
from bot.initiatives import Actor, note_problems, require_active, require_manager
from bot.people import PeopleService
from bot.text import echo, escape
from storage import kpis as queries
from storage.models import KPI_NAME_MAX, KPI_UNIT_MAX, Initiative, Kpi, KpiDirection, KpiReading

TREND_READINGS = 5
DIRECTIONS = {
    ">=": KpiDirection.AT_LEAST,
    "≥": KpiDirection.AT_LEAST,
    "<=": KpiDirection.AT_MOST,
    "≤": KpiDirection.AT_MOST,
}


class UnknownKpi(HandoffError):
    def __init__(self, name: str, initiative: Initiative, known: Sequence[str]):
        listed = ", ".join(f'"{escape(k)}"' for k in known)
        hint = (
            f" Its KPIs: {listed}."
            if known
            else f' It has none yet: `kpi add {initiative.ref_key} "&lt;name&gt;" &gt;= &lt;target&gt;`.'
        )
        super().__init__(f'*{escape(initiative.name)}* has no KPI called "{echo(name)}".{hint}')


def parse_direction(raw: str) -> KpiDirection:
    try:
        return DIRECTIONS[raw.strip()]
    except KeyError:
        raise InvalidInput.single(
            "direction", f'"{echo(raw)}" is not a direction; use `>=` (higher is better) or `<=` (lower is better).'
        ) from None


def parse_number(raw: str, what: str) -> float:
    """A finite number; a trailing % is allowed (82% is 82, in the KPI's unit)."""
    text = raw.strip().replace(",", "").removesuffix("%")
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InvalidInput.single(what, f'"{echo(raw)}" is not a number; the {what} must be one, like 0.82 or 120.')
    return value


def meets(kpi: Kpi, value: float) -> bool:
    return value >= kpi.target if kpi.direction == KpiDirection.AT_LEAST else value <= kpi.target


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


def target_text(kpi: Kpi) -> str:
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
    problems: list[FieldProblem] = []
    if not name:
        problems.append(FieldProblem("name", 'The KPI needs a name, in quotes: e.g. `"AUC on holdout"`.'))
    elif len(name) > KPI_NAME_MAX:
        problems.append(FieldProblem("name", f"The name is {len(name)} characters long; the limit is {KPI_NAME_MAX}."))
    elif queries.get_kpi_by_name(session=session, initiative_id=initiative.id or 0, name=name) is not None:
        problems.append(FieldProblem("name", f'*{escape(initiative.name)}* already has a KPI called "{escape(name)}".'))
    if unit is not None and (not unit.strip() or len(unit) > KPI_UNIT_MAX):
        problems.append(FieldProblem("unit", f"A unit is 1 to {KPI_UNIT_MAX} characters, like `%` or `ms`."))
    if owner_id is not None:
        try:
            people.require_person(owner_id)
        except UnknownUser as error:
            problems.append(FieldProblem("owner", f"Owner: {error.message}"))
    if problems:
        raise InvalidInput(problems)
    require_manager(initiative=initiative, actor=actor, people=people, action="agree KPIs")
    return queries.add_kpi(
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


@dataclass(frozen=True)
class RecordResult:
    kpi: Kpi
    reading: KpiReading
    meets_target: bool
    alert: bool  # this reading took the KPI from meeting its target to missing it: tell the thread, once
    recovered: bool  # this reading meets the target after readings that missed it


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
    kpi = require_kpi(session=session, initiative=initiative, name=name)
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
    ok = meets(kpi, value)
    # A breach starts when a reading misses after one that met; a first reading that misses crossed nothing.
    # The flag flips in one conditional UPDATE, so two readings recorded at once raise one alert between them,
    # and only a breach the thread was told of is announced as over.
    crossed = bool(previous) and meets(kpi, previous[0].value) and not ok
    alert = crossed and queries.set_breach(session=session, kpi_id=kpi.id or 0, in_breach=True)
    recovered = ok and queries.set_breach(session=session, kpi_id=kpi.id or 0, in_breach=False)
    session.refresh(kpi)
    return RecordResult(kpi=kpi, reading=reading, meets_target=ok, alert=alert, recovered=recovered)


def require_kpi(*, session: Session, initiative: Initiative, name: str) -> Kpi:
    kpi = queries.get_kpi_by_name(session=session, initiative_id=initiative.id or 0, name=name)
    if kpi is None:
        known = [k.name for k in queries.list_kpis(session=session, initiative_id=initiative.id or 0)]
        raise UnknownKpi(name, initiative, known)
    return kpi


@dataclass(frozen=True)
class KpiView:
    """A KPI as `kpi list` and `status` show it."""

    kpi: Kpi
    readings: tuple[KpiReading, ...]  # newest first, at most TREND_READINGS
    stale: bool

    @property
    def latest(self) -> KpiReading | None:
        return self.readings[0] if self.readings else None

    @property
    def meets_target(self) -> bool | None:
        return None if self.latest is None else meets(self.kpi, self.latest.value)


def is_stale(kpi: Kpi, last_reading_at: datetime | None, now: datetime, stale_days: int) -> bool:
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
    """The KPIs of many initiatives with their newest `per_kpi` readings, in two queries."""
    kpis = queries.kpis_of(session=session, initiative_ids=initiative_ids)
    readings = queries.recent_readings(session=session, kpi_ids=[k.id or 0 for k in kpis], per_kpi=per_kpi)
    views: dict[int, list[KpiView]] = {}
    for kpi in kpis:
        mine = tuple(readings.get(kpi.id or 0, ()))
        stale = is_stale(kpi, mine[0].recorded_at if mine else None, now, stale_days)
        views.setdefault(kpi.initiative_id, []).append(KpiView(kpi, mine, stale))
    return views
