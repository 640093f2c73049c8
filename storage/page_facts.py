"""Everything a status page shows of its initiatives besides their cards, in one prebuilt statement of plain rows.

Checkpoint progress, docs in force, checklist entries, KPIs with their newest reading, forced phase changes and the
Jira sync's health come back as one `UNION ALL`: one round trip and no ORM object, whatever the number of
initiatives, checkpoints or readings. Every branch fills the same typed slots; a slot it has nothing for is a typed
NULL, so PostgreSQL resolves each column of the union to one type.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    BindParameter,
    Date,
    DateTime,
    Float,
    Integer,
    String,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    null,
    type_coerce,
    union_all,
)
from sqlalchemy import select as core_select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from storage.checkpoints import CheckpointProgress
from storage.jira import SYNC_STATE_NAME
from storage.models import (
    ChecklistEntry,
    Checkpoint,
    CheckpointStatus,
    HandoffDoc,
    Initiative,
    JiraPush,
    JiraPushState,
    JiraSyncState,
    Kpi,
    KpiReading,
    PhaseChange,
)
from storage.types import as_utc


class DocFact(NamedTuple):
    """A doc in force, as readiness and its rendering read it."""

    kind: str
    url: str
    note: str | None
    added_by: str
    added_at: datetime


class EntryFact(NamedTuple):
    """An initiative's own checklist entry: an added item or a waiver."""

    item_key: str
    action: str
    gate: str | None
    reason: str
    created_by: str
    created_at: datetime


class ReadingFact(NamedTuple):
    value: float
    recorded_at: datetime
    recorded_by: str


class KpiFact(NamedTuple):
    """A KPI's agreed target, without its readings."""

    id: int
    initiative_id: int
    name: str
    direction: str
    target: float
    unit: str | None
    owner_id: str | None
    created_at: datetime


class ForcedFact(NamedTuple):
    """The latest phase change an initiative was forced through: who, why, past what."""

    changed_by: str
    note: str | None
    forced_items: str | None


@dataclass
class PageFacts:
    progress: dict[int, CheckpointProgress] = field(default_factory=dict)
    docs: dict[int, list[DocFact]] = field(default_factory=dict)
    entries: dict[int, list[EntryFact]] = field(default_factory=dict)
    kpis: dict[int, list[tuple[KpiFact, ReadingFact | None]]] = field(default_factory=dict)
    forced: dict[int, ForcedFact] = field(default_factory=dict)
    synced: bool = False  # the Jira sync has run at least once
    last_success_at: datetime | None = None
    last_error: str | None = None
    pending_pushes: int = 0  # across the site: every workspace's pushes wait in one queue


_SLOTS: dict[str, Any] = {
    "initiative_id": Integer(),
    "s1": String(),
    "s2": String(),
    "s3": String(),
    "s4": String(),
    "s5": String(),
    "f1": Float(),
    "f2": Float(),
    "i1": Integer(),
    "i2": Integer(),
    "i3": Integer(),
    "d1": Date(),
    # Moments come back as the driver reads them and are made aware UTC (`as_utc`) only where a fact keeps them.
    "t1": DateTime(timezone=True),
    "t2": DateTime(timezone=True),
}
_IDS: BindParameter[Any] = bindparam("ids", expanding=True)
_ZERO, _ONE = literal_column("0", Integer()), literal_column("1", Integer())


def _branch(kind: str, source: Any, values: dict[str, ColumnElement[Any]]) -> Any:
    columns = [literal_column(f"'{kind}'", String()).label("kind")]  # inline: a bound value costs every execution
    for slot, slot_type in _SLOTS.items():
        value = values.get(slot)
        columns.append((cast(null(), slot_type) if value is None else type_coerce(value, slot_type)).label(slot))
    return core_select(*columns).select_from(source)


def _statement() -> Any:
    checkpoint = Checkpoint.__table__  # type: ignore[attr-defined]
    doc = HandoffDoc.__table__  # type: ignore[attr-defined]
    entry = ChecklistEntry.__table__  # type: ignore[attr-defined]
    kpi = Kpi.__table__  # type: ignore[attr-defined]
    reading = KpiReading.__table__  # type: ignore[attr-defined]
    change = PhaseChange.__table__  # type: ignore[attr-defined]
    push = JiraPush.__table__  # type: ignore[attr-defined]
    sync = JiraSyncState.__table__  # type: ignore[attr-defined]
    today = bindparam("today", type_=Date())
    initiative = Initiative.__table__  # type: ignore[attr-defined]
    # The page's ids are bound once, in a CTE every branch reads, instead of once a branch.
    page = core_select(initiative.c.id).where(initiative.c.id.in_(_IDS)).cte("page")

    def of_page(column: Any) -> Any:
        return column.in_(core_select(page.c.id))

    not_done = checkpoint.c.status != CheckpointStatus.DONE.value

    def newest(column: Any) -> Any:
        return (
            core_select(column)
            .where(reading.c.kpi_id == kpi.c.id)
            .order_by(reading.c.recorded_at.desc(), reading.c.id.desc())
            .limit(1)
            .correlate(kpi)
            .scalar_subquery()
        )

    progress = (
        _branch(
            "progress",
            checkpoint,
            {
                "initiative_id": checkpoint.c.initiative_id,
                "i1": func.count(),
                "i2": func.sum(case((not_done, _ZERO), else_=_ONE)),
                "i3": func.sum(case((not_done & (checkpoint.c.due_date < today), _ONE), else_=_ZERO)),
                "d1": func.min(case((not_done & (checkpoint.c.due_date >= today), checkpoint.c.due_date), else_=None)),
            },
        )
        .where(of_page(checkpoint.c.initiative_id), checkpoint.c.removed_at.is_(None))
        .group_by(checkpoint.c.initiative_id)
    )
    docs = _branch(
        "doc",
        doc,
        {
            "initiative_id": doc.c.initiative_id,
            "s1": doc.c.kind,
            "s2": doc.c.url,
            "s3": doc.c.note,
            "s4": doc.c.added_by,
            "i1": doc.c.id,
            "t1": doc.c.added_at,
        },
    ).where(of_page(doc.c.initiative_id), doc.c.removed_at.is_(None))
    entries = _branch(
        "entry",
        entry,
        {
            "initiative_id": entry.c.initiative_id,
            "s1": entry.c.item_key,
            "s2": entry.c.action,
            "s3": entry.c.gate,
            "s4": entry.c.reason,
            "s5": entry.c.created_by,
            "i1": entry.c.id,
            "t1": entry.c.created_at,
        },
    ).where(of_page(entry.c.initiative_id))
    kpis = _branch(
        "kpi",
        kpi,
        {
            "initiative_id": kpi.c.initiative_id,
            "s1": kpi.c.name,
            "s2": kpi.c.direction,
            "s3": kpi.c.unit,
            "s4": kpi.c.owner_id,
            "s5": newest(reading.c.recorded_by),
            "f1": kpi.c.target,
            "f2": newest(reading.c.value),
            "i1": kpi.c.id,
            "t1": kpi.c.created_at,
            "t2": newest(reading.c.recorded_at),
        },
    ).where(of_page(kpi.c.initiative_id))
    forced = _branch(
        "forced",
        change,
        {
            "initiative_id": change.c.initiative_id,
            "s1": change.c.changed_by,
            "s2": change.c.note,
            "s3": change.c.forced_items,
            "i1": change.c.id,
            "t1": change.c.changed_at,
        },
    ).where(of_page(change.c.initiative_id), change.c.forced.is_(True))
    synced = _branch("sync", sync, {"s1": sync.c.last_error, "t1": sync.c.last_success_at}).where(
        sync.c.name == SYNC_STATE_NAME
    )
    pending = _branch(
        "pending", push.join(checkpoint, checkpoint.c.id == push.c.checkpoint_id), {"i1": func.count()}
    ).where(push.c.state == JiraPushState.PENDING.value)
    return union_all(progress, docs, entries, kpis, forced, synced, pending)


_PAGE_FACTS = _statement()


def page_facts(*, session: Session, initiative_ids: Sequence[int], today: date) -> PageFacts:
    """What a page shows of these initiatives besides their cards; overdue means due before `today`."""
    facts = PageFacts()
    rows = session.connection().execute(_PAGE_FACTS, {"ids": list(initiative_ids), "today": today}).all()
    docs: dict[int, list[tuple[datetime, int, DocFact]]] = {}
    entries: dict[int, list[tuple[int, EntryFact]]] = {}
    kpis: dict[int, list[tuple[int, KpiFact, ReadingFact | None]]] = {}
    forced_at: dict[int, tuple[datetime, int]] = {}
    for kind, initiative_id, s1, s2, s3, s4, s5, f1, f2, i1, i2, i3, d1, t1, t2 in rows:
        if kind == "doc":
            added_at = as_utc(t1)
            docs.setdefault(initiative_id, []).append((added_at, i1, DocFact(s1, s2, s3, s4, added_at)))
        elif kind == "entry":
            entries.setdefault(initiative_id, []).append((i1, EntryFact(s1, s2, s3, s4, s5, as_utc(t1))))
        elif kind == "progress":
            facts.progress[initiative_id] = CheckpointProgress(
                total=int(i1), done=int(i2 or 0), overdue=int(i3 or 0), next_due=d1
            )
        elif kind == "kpi":
            kpi = KpiFact(i1, initiative_id, s1, s2, float(f1), s3, s4, as_utc(t1))
            latest = ReadingFact(float(f2), as_utc(t2), s5) if t2 is not None else None
            kpis.setdefault(initiative_id, []).append((i1, kpi, latest))
        elif kind == "forced":
            if initiative_id not in forced_at or forced_at[initiative_id] < (t1, i1):
                forced_at[initiative_id] = (t1, i1)
                facts.forced[initiative_id] = ForcedFact(s1, s2, s3)
        elif kind == "sync":
            facts.synced, facts.last_success_at, facts.last_error = True, as_utc(t1) if t1 else None, s1
        elif kind == "pending":
            facts.pending_pushes = int(i1)
    # The union has no order: docs oldest first, entries and KPIs in the order they were made, as elsewhere.
    facts.docs = {i: [doc for *_, doc in sorted(found)] for i, found in docs.items()}
    facts.entries = {i: [entry for _, entry in sorted(found)] for i, found in entries.items()}
    facts.kpis = {i: [(kpi, latest) for _, kpi, latest in sorted(found)] for i, found in kpis.items()}
    return facts
