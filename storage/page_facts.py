"""Everything a status page shows of its initiatives, in one prebuilt statement of plain rows.

The page of cards with their total (or, for digests and nudges, the initiatives whose ids are given), checkpoint
progress, docs in force, checklist entries, KPIs with their newest reading, forced phase changes and the Jira sync's
health come back as one `UNION ALL`: one round trip and no ORM object, whatever the number of initiatives,
checkpoints or readings. Every branch fills the same typed slots; a slot it has nothing for is a typed NULL, so
PostgreSQL resolves each column of the union to one type.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Sequence
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
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from storage.checkpoints import CheckpointProgress
from storage.initiatives import CARD_COLUMNS, card_total, phase_since_column, shown_cards
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
    KpiSource,
    PhaseChange,
)
from storage.types import as_utc


class DocFact(NamedTuple):
    """A doc in force, as readiness and its rendering read it."""

    kind: str
    url: str
    note: str | None
    added_by: str
    added_at_as_read: datetime  # as the driver read it; overviews never show it, so it is made UTC on demand

    @property
    def added_at(self) -> datetime:
        return as_utc(self.added_at_as_read)


class EntryFact(NamedTuple):
    """An initiative's own checklist entry: an added item or a waiver."""

    item_key: str
    action: str
    gate: str | None
    reason: str
    created_by: str
    created_at_as_read: datetime  # as the driver read it; overviews never show it, so it is made UTC on demand

    @property
    def created_at(self) -> datetime:
        return as_utc(self.created_at_as_read)


class ReadingFact(NamedTuple):
    value: float
    recorded_at: datetime
    recorded_by: str


class SourceFact(NamedTuple):
    """Where a KPI's readings come from and whether reading it works, without the source's own terms."""

    kind: str
    failing_since: datetime | None
    last_good_at: datetime | None


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


class CardFact(NamedTuple):
    """What an overview line shows of an initiative: its card columns (`CARD_COLUMNS`, in their order) and when it
    entered its phase."""

    id: int
    name: str
    ref_key: str
    phase: str
    goal: str | None
    ds_lead_id: str | None
    eng_lead_id: str | None
    embedded_engineer_id: str | None
    target_date: date | None
    jira_epic_key: str | None
    home_channel_id: str
    created_at: datetime
    phase_since: datetime | None


@dataclass
class PageFacts:
    cards: list[CardFact] = field(default_factory=list)  # read by `page_with_facts` alone, by name
    total: int = 0  # how many initiatives the pages list in all, with `cards`
    progress: dict[int, CheckpointProgress] = field(default_factory=dict)
    docs: dict[int, list[DocFact]] = field(default_factory=dict)
    entries: dict[int, list[EntryFact]] = field(default_factory=dict)
    kpis: dict[int, list[tuple[KpiFact, ReadingFact | None, SourceFact | None]]] = field(default_factory=dict)
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
    "s6": String(),
    "s7": String(),
    "s8": String(),
    "s9": String(),
    "f1": Float(),
    "f2": Float(),
    "i1": Integer(),
    "i2": Integer(),
    "i3": Integer(),
    "d1": Date(),
    # Moments come back as the driver reads them and are made aware UTC (`as_utc`) only where a fact keeps them.
    "t1": DateTime(timezone=True),
    "t2": DateTime(timezone=True),
    "t3": DateTime(timezone=True),
    "t4": DateTime(timezone=True),
}
_IDS: BindParameter[Any] = bindparam("ids", expanding=True)
_ZERO, _ONE = literal_column("0", Integer()), literal_column("1", Integer())


def _branch(kind: str, source: Any, values: dict[str, ColumnElement[Any]]) -> Any:
    columns = [literal_column(f"'{kind}'", String()).label("kind")]  # inline: a bound value costs every execution
    for slot, slot_type in _SLOTS.items():
        value = values.get(slot)
        columns.append((cast(null(), slot_type) if value is None else type_coerce(value, slot_type)).label(slot))
    return core_select(*columns).select_from(source)


def _statement(*, cards_in_channel: bool | None = None) -> Any:
    """Facts of the initiatives whose ids are bound (`ids`), or (`cards_in_channel` set) of one page of cards, with
    the cards themselves and their total."""
    checkpoint = Checkpoint.__table__  # type: ignore[attr-defined]
    doc = HandoffDoc.__table__  # type: ignore[attr-defined]
    entry = ChecklistEntry.__table__  # type: ignore[attr-defined]
    kpi = Kpi.__table__  # type: ignore[attr-defined]
    reading = KpiReading.__table__  # type: ignore[attr-defined]
    source = KpiSource.__table__  # type: ignore[attr-defined]
    change = PhaseChange.__table__  # type: ignore[attr-defined]
    push = JiraPush.__table__  # type: ignore[attr-defined]
    sync = JiraSyncState.__table__  # type: ignore[attr-defined]
    today = bindparam("today", type_=Date())
    initiative = Initiative.__table__  # type: ignore[attr-defined]
    # The page's initiatives are found once, in a CTE every branch reads: from their ids, bound once instead of
    # once a branch, or as the page of cards itself, numbered by name.
    if cards_in_channel is None:
        page = core_select(initiative.c.id).where(initiative.c.id.in_(_IDS)).cte("page")
    else:
        shown = shown_cards(in_channel=cards_in_channel).subquery("shown")
        position = func.row_number().over(order_by=shown.c.name_key)
        page = core_select(shown.c.id, position.label("position")).cte("page")

    def of_page(column: Any) -> Any:
        return column.in_(core_select(page.c.id))

    not_done = checkpoint.c.status != CheckpointStatus.DONE.value

    newest_reading = (
        core_select(reading.c.id)
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
        # One search for the newest reading, not three; a KPI has at most one source.
        kpi.outerjoin(reading, reading.c.id == newest_reading).outerjoin(source, source.c.kpi_id == kpi.c.id),
        {
            "initiative_id": kpi.c.initiative_id,
            "s1": kpi.c.name,
            "s2": kpi.c.direction,
            "s3": kpi.c.unit,
            "s4": kpi.c.owner_id,
            "s5": reading.c.recorded_by,
            "s6": source.c.kind,
            "f1": kpi.c.target,
            "f2": reading.c.value,
            "i1": kpi.c.id,
            "t1": kpi.c.created_at,
            "t2": reading.c.recorded_at,
            "t3": source.c.failing_since,
            "t4": source.c.last_good_at,
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
    branches = [progress, docs, entries, kpis, forced, synced, pending]
    if cards_in_channel is not None:
        card = {name: initiative.c[name] for name in CARD_COLUMNS}
        total = card_total(in_channel=cards_in_channel).scalar_subquery()
        branches.append(
            _branch(
                "card",
                initiative.join(page, page.c.id == initiative.c.id),
                {
                    "initiative_id": card["id"],
                    "s1": card["name"],
                    "s2": card["ref_key"],
                    "s3": card["phase"],
                    "s4": card["goal"],
                    "s5": card["ds_lead_id"],
                    "s6": card["eng_lead_id"],
                    "s7": card["embedded_engineer_id"],
                    "s8": card["jira_epic_key"],
                    "s9": card["home_channel_id"],
                    "d1": card["target_date"],
                    "t1": card["created_at"],
                    "t2": phase_since_column(),
                    "i1": page.c.position,
                    "i2": total,
                },
            )
        )
    return union_all(*branches)


_PAGE_FACTS = _statement()
_PAGE_IN_CHANNEL = _statement(cards_in_channel=True)
_PAGE_IN_WORKSPACE = _statement(cards_in_channel=False)


_PAGE_VALUES = ("team_id", "channel_id", "offset", "page_size", "today")  # what a page statement is given


def _as_read(value: Any) -> Any:
    return value


class _DriverStatement:
    """A page statement compiled once for a dialect and sent as the driver's own SQL: no compile-cache lookup and no
    processing of its constants or of every slot of every row on each execution. Its moments and days come back as
    the driver reads them (text on SQLite) and are converted (`moment`, `day`) only where a fact keeps them."""

    def __init__(self, statement: Any, dialect: Dialect):
        compiled = statement.compile(dialect=dialect)
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("a page statement binds plain values only")
        self.one_row = dialect.name == "sqlite"
        if self.one_row:
            # Python's sqlite3 lets go of the interpreter lock for every row it steps to, and with several threads
            # serving pages each row then waits for the lock again: the page's rows come back as one JSON array.
            slots = ", ".join(_json_slot(column, dialect) for column in statement.selected_columns)
            self.sql = f"SELECT json_group_array(json_array({slots})) FROM ({compiled.string})"
        else:
            self.sql = compiled.string
        self._names = frozenset(compiled.binds)
        self._order = compiled.positiontup  # None for a driver that takes named parameters (PostgreSQL's)
        self._bind = {
            name: processor
            for name, bind in compiled.binds.items()
            if (processor := dialect.type_descriptor(bind.type).bind_processor(dialect)) is not None
        }
        given = compiled.construct_params(dict.fromkeys(_PAGE_VALUES))  # the statement's constants, and these unset
        self._constants = {name: self._bound(name, value) for name, value in given.items() if name not in _PAGE_VALUES}
        self.moment: Callable[[Any], Any] = self._result(DateTime(timezone=True), dialect)
        self.day: Callable[[Any], Any] = self._result(Date(), dialect)

    def _bound(self, name: str, value: Any) -> Any:
        processor = self._bind.get(name)
        return value if processor is None or value is None else processor(value)

    @staticmethod
    def _result(slot_type: Any, dialect: Dialect) -> Callable[[Any], Any]:
        return dialect.type_descriptor(slot_type).result_processor(dialect, None) or _as_read

    def parameters(self, values: dict[str, Any]) -> Any:
        given = {name: self._bound(name, value) for name, value in values.items() if name in self._names}
        merged = self._constants | given
        return merged if self._order is None else tuple(merged[name] for name in self._order)


def _json_slot(column: Any, dialect: Dialect) -> str:
    """A slot as SQLite's JSON carries it exactly: JSON writes a real with 15 digits, `quote` with enough for any
    double (as text, which `float` reads back; a NULL stays NULL)."""
    name = dialect.identifier_preparer.quote(column.key)
    return f"nullif(quote({name}), 'NULL')" if isinstance(column.type, Float) else name


_COMPILED: weakref.WeakKeyDictionary[Dialect, dict[bool, _DriverStatement]] = weakref.WeakKeyDictionary()


def _page_statement(dialect: Dialect, *, in_channel: bool) -> _DriverStatement:
    by_scope = _COMPILED.get(dialect)
    if by_scope is None:  # two threads may both compile it the first time; either result serves
        by_scope = _COMPILED[dialect] = {
            True: _DriverStatement(_PAGE_IN_CHANNEL, dialect),
            False: _DriverStatement(_PAGE_IN_WORKSPACE, dialect),
        }
    return by_scope[in_channel]


def page_facts(*, session: Session, initiative_ids: Sequence[int], today: date) -> PageFacts:
    """What a page shows of these initiatives besides their cards; overdue means due before `today`."""
    return _facts_of(session.connection().execute(_PAGE_FACTS, {"ids": list(initiative_ids), "today": today}).all())


def page_with_facts(
    *,
    db: Session | Connection,
    team_id: str,
    channel_id: str | None,
    offset: int,
    page_size: int,
    today: date,
) -> PageFacts:
    """One page of active initiatives in a channel (or the workspace), by name from `offset` (the last page when
    there are fewer), their total, and everything the page shows of them, in one statement; a plain connection
    reads it without an ORM session."""
    connection = db if isinstance(db, Connection) else db.connection()
    statement = _page_statement(connection.dialect, in_channel=channel_id is not None)
    params = {"team_id": team_id, "channel_id": channel_id, "offset": offset, "page_size": page_size, "today": today}
    result = connection.exec_driver_sql(statement.sql, statement.parameters(params))
    rows = json.loads(result.scalar_one()) if statement.one_row else result.all()
    return _facts_of(rows, moment=statement.moment, day=statement.day)


def _utc_or_none(moment: Callable[[Any], Any], value: Any) -> datetime | None:
    return None if value is None else as_utc(moment(value))


def _facts_of(
    rows: Sequence[Any], *, moment: Callable[[Any], Any] = _as_read, day: Callable[[Any], Any] = _as_read
) -> PageFacts:
    facts = PageFacts()
    cards: list[tuple[int, CardFact]] = []
    docs: dict[int, list[tuple[datetime, int, DocFact]]] = {}
    entries: dict[int, list[tuple[int, EntryFact]]] = {}
    kpis: dict[int, list[tuple[int, KpiFact, ReadingFact | None, SourceFact | None]]] = {}
    forced_at: dict[int, tuple[datetime, int]] = {}
    for kind, initiative_id, s1, s2, s3, s4, s5, s6, s7, s8, s9, f1, f2, i1, i2, i3, d1, t1, t2, t3, t4 in rows:
        if kind == "doc":
            added_at = moment(t1)
            docs.setdefault(initiative_id, []).append((added_at, i1, DocFact(s1, s2, s3, s4, added_at)))
        elif kind == "entry":
            entries.setdefault(initiative_id, []).append((i1, EntryFact(s1, s2, s3, s4, s5, moment(t1))))
        elif kind == "progress":
            facts.progress[initiative_id] = CheckpointProgress(
                total=int(i1), done=int(i2 or 0), overdue=int(i3 or 0), next_due=None if d1 is None else day(d1)
            )
        elif kind == "kpi":
            kpi = KpiFact(i1, initiative_id, s1, s2, float(f1), s3, s4, as_utc(moment(t1)))
            latest = ReadingFact(float(f2), as_utc(moment(t2)), s5) if t2 is not None else None
            source_fact = None if s6 is None else SourceFact(s6, _utc_or_none(moment, t3), _utc_or_none(moment, t4))
            kpis.setdefault(initiative_id, []).append((i1, kpi, latest, source_fact))
        elif kind == "card":
            since = as_utc(moment(t2)) if t2 is not None else None
            target = None if d1 is None else day(d1)
            card = CardFact(initiative_id, s1, s2, s3, s4, s5, s6, s7, target, s8, s9, as_utc(moment(t1)), since)
            cards.append((i1, card))
            facts.total = int(i2)
        elif kind == "forced":
            changed_at = moment(t1)
            if initiative_id not in forced_at or forced_at[initiative_id] < (changed_at, i1):
                forced_at[initiative_id] = (changed_at, i1)
                facts.forced[initiative_id] = ForcedFact(s1, s2, s3)
        elif kind == "sync":
            facts.synced, facts.last_success_at, facts.last_error = True, as_utc(moment(t1)) if t1 else None, s1
        elif kind == "pending":
            facts.pending_pushes = int(i1)
    # The union has no order: cards by name, docs oldest first, entries and KPIs in the order they were made.
    facts.cards = [card for _, card in sorted(cards)]
    facts.docs = {i: [doc for *_, doc in sorted(found)] for i, found in docs.items()}
    facts.entries = {i: [entry for _, entry in sorted(found)] for i, found in entries.items()}
    facts.kpis = {i: [(kpi, latest, src) for _, kpi, latest, src in sorted(found)] for i, found in kpis.items()}
    return facts
