"""Handoff readiness: which checklist items an initiative has satisfied, waived or still misses, its docs, its own
checklist changes, and the phase gates built on them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol
from urllib.parse import urlsplit

from sqlmodel import Session

from bot.checklist import GATED_PHASES, ITEM_KEY, Checklist, ChecklistItem, ItemType, phase_order
from bot.errors import FieldProblem, HandoffError, InvalidInput, NotAllowed, NothingToChange, Problem
from bot.initiatives import Actor, PhaseResult, change_phase, note_problems, require_active, require_manager
from bot.people import PeopleService
from storage import readiness as queries
from storage.initiatives import get_initiative
from storage.kpis import kpi_names_by_initiative
from storage.models import (
    NOTE_MAX,
    URL_MAX,
    ChecklistEntry,
    ChecklistEntryAction,
    HandoffDoc,
    Initiative,
    Phase,
)


class DocLike(Protocol):
    """A doc as readiness and its rendering read it: an ORM row, or the plain facts a status page reads."""

    @property
    def kind(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def note(self) -> str | None: ...
    @property
    def added_by(self) -> str: ...
    @property
    def added_at(self) -> datetime: ...


class EntryLike(Protocol):
    """An initiative's own checklist entry (an added item or a waiver), as an ORM row or plain facts."""

    @property
    def item_key(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def gate(self) -> str | None: ...
    @property
    def reason(self) -> str: ...
    @property
    def created_by(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...


class ForcedChange(Protocol):
    """A phase change forced past the checklist: who forced it, why, and past which items."""

    @property
    def changed_by(self) -> str: ...
    @property
    def note(self) -> str | None: ...
    @property
    def forced_items(self) -> str | None: ...


class ItemState(StrEnum):
    SATISFIED = "satisfied"
    MISSING = "missing"
    WAIVED = "waived"


@dataclass(frozen=True)
class ItemStatus:
    """One checklist item of one initiative, with what satisfies or waives it."""

    item: ChecklistItem
    state: ItemState
    docs: tuple[DocLike, ...] = ()
    kpi_names: tuple[str, ...] = ()
    leads: tuple[str, str] | None = None  # (DS lead, engineering lead) when they satisfy `owners`
    waiver: EntryLike | None = None
    added: EntryLike | None = None  # set when the initiative added this item itself


@dataclass(frozen=True)
class GateReadiness:
    """The items needed to enter one phase."""

    gate: Phase
    items: tuple[ItemStatus, ...]

    @property
    def required(self) -> int:
        return sum(1 for s in self.items if s.state is not ItemState.WAIVED)

    @property
    def satisfied(self) -> int:
        return sum(1 for s in self.items if s.state is ItemState.SATISFIED)

    @property
    def missing(self) -> list[ItemStatus]:
        return [s for s in self.items if s.state is ItemState.MISSING]

    @property
    def waived(self) -> list[ItemStatus]:
        return [s for s in self.items if s.state is ItemState.WAIVED]


@dataclass(frozen=True)
class Readiness:
    """An initiative's whole checklist, gate by gate, in phase order."""

    phase: Phase
    gates: tuple[GateReadiness, ...] = ()

    def gate(self, phase: Phase) -> GateReadiness | None:
        return next((g for g in self.gates if g.gate is phase), None)

    def next_gate(self) -> GateReadiness | None:
        """The first gate ahead of the current phase; None in paused, cancelled or past the last gate."""
        order = phase_order(self.phase)
        if order is None:
            return None
        return next((g for g in self.gates if (phase_order(g.gate) or 0) > order), None)

    def passed_gates(self) -> list[GateReadiness]:
        order = phase_order(self.phase)
        if order is None:
            return []
        return [g for g in self.gates if (phase_order(g.gate) or 0) <= order]

    def outstanding(self) -> list[ItemStatus]:
        """Items of gates already passed that are still missing: forced through, or added since."""
        order = phase_order(self.phase)
        if order is None:
            return []
        missing = ItemState.MISSING  # every card of a status page asks: one pass, no list a gate
        return [s for g in self.gates if (phase_order(g.gate) or 0) <= order for s in g.items if s.state is missing]

    def shown(self) -> list[GateReadiness]:
        """What `docs` shows: the gates passed and the next one."""
        upcoming = self.next_gate()
        return self.passed_gates() + ([upcoming] if upcoming is not None else [])

    def crossing(self, target: Phase) -> list[GateReadiness]:
        """The gates a move to `target` crosses: every gate after the current phase up to the target's.

        Moving back, or to paused or cancelled, crosses none; leaving paused or cancelled re-checks every gate
        up to the target, since work may have been paused before a gate.
        """
        target_order = phase_order(target)
        if target_order is None:
            return []
        current = phase_order(self.phase)
        start = current if current is not None else -1
        if target_order <= start:
            return []
        return [g for g in self.gates if start < (phase_order(g.gate) or 0) <= target_order]


@dataclass(frozen=True)
class InitiativeFacts:
    """What readiness is computed from, read in a few queries for one or many initiatives."""

    initiative_id: int
    phase: Phase
    ds_lead_id: str | None
    eng_lead_id: str | None
    docs: Sequence[DocLike] = ()
    entries: Sequence[EntryLike] = ()
    kpi_names: Sequence[str] = ()


def items_of(checklist: Checklist, entries: Sequence[EntryLike]) -> list[tuple[ChecklistItem, EntryLike | None]]:
    """The workspace's items plus the initiative's own additions, in gate order."""
    added = [
        (
            ChecklistItem(
                key=e.item_key, label=label_of(e.item_key), gate=Phase(e.gate or Phase.PRODUCTION), help=e.reason
            ),
            e,
        )
        for e in entries
        if e.action == ChecklistEntryAction.ADD
    ]
    combined: list[tuple[ChecklistItem, EntryLike | None]] = [(i, None) for i in checklist.items]
    combined += added
    return sorted(combined, key=lambda pair: phase_order(pair[0].gate) or 0)


def added_item(entry: ChecklistEntry) -> ChecklistItem:
    gate = Phase(entry.gate) if entry.gate else Phase.PRODUCTION
    return ChecklistItem(key=entry.item_key, label=label_of(entry.item_key), gate=gate, help=entry.reason)


def label_of(key: str) -> str:
    """An added item's label, from its key: `fairness-review` → Fairness review."""
    words = key.replace("-", " ").strip()
    return words[:1].upper() + words[1:]


def evaluate(checklist: Checklist, facts: InitiativeFacts) -> Readiness:
    """Each item's state: waived beats satisfied beats missing."""
    return _Evaluation(checklist).readiness(facts, overview=False)


def overview_readiness(checklist: Checklist, facts: InitiativeFacts) -> Readiness:
    """What an overview shows of readiness: the gates passed and the next one, each as `evaluate` has it; the gates
    beyond the next one are left out, and paused or cancelled work has none."""
    return _Evaluation(checklist).readiness(facts, overview=True)


class _Evaluation:
    """Evaluates one checklist for any number of initiatives: its items grouped by gate once, and the status of a
    workspace item missing without docs, waiver or KPI (the same for every initiative) built once."""

    def __init__(self, checklist: Checklist):
        by_gate: dict[Phase, list[ChecklistItem]] = {}
        for item in checklist.items:
            by_gate.setdefault(item.gate, []).append(item)
        self.items_by_gate = {phase: tuple(by_gate[phase]) for phase in GATED_PHASES if phase in by_gate}
        self.bare_missing = {
            item.key: ItemStatus(item, ItemState.MISSING, (), (), None, None, None)
            for item in checklist.items
            if item.type is not ItemType.KPI
        }
        # Every gate in order with its position and, for each item, what deciding its status looks at first.
        self.gates = tuple(
            (
                gate,
                phase_order(gate) or 0,
                tuple(
                    (item, item.key, self.bare_missing.get(item.key), item.type is ItemType.DOC)
                    for item in self.items_by_gate.get(gate, ())
                ),
            )
            for gate in GATED_PHASES
        )
        self.added_items: dict[tuple[str, str | None, str], ChecklistItem] = {}

    def added_item(self, entry: EntryLike) -> ChecklistItem:
        """The item an entry adds; initiatives that add the same item share one."""
        key = (entry.item_key, entry.gate, entry.reason)
        item = self.added_items.get(key)
        if item is None:
            gate = Phase(entry.gate or Phase.PRODUCTION)
            item = ChecklistItem(key=entry.item_key, label=label_of(entry.item_key), gate=gate, help=entry.reason)
            self.added_items[key] = item
        return item

    def readiness(self, facts: InitiativeFacts, *, overview: bool) -> Readiness:
        return self.readiness_of(
            facts.phase,
            facts.ds_lead_id,
            facts.eng_lead_id,
            facts.docs,
            facts.entries,
            facts.kpi_names,
            overview=overview,
        )

    def readiness_of(
        self,
        phase: Phase,
        ds_lead_id: str | None,
        eng_lead_id: str | None,
        docs: Sequence[DocLike],
        entries: Sequence[EntryLike],
        kpi_names: Sequence[str],
        *,
        overview: bool,
    ) -> Readiness:
        current = phase_order(phase)
        if overview and current is None:
            return Readiness(phase=phase)
        waivers: dict[str, EntryLike] = {}
        added: dict[Phase, list[tuple[ChecklistItem, EntryLike]]] = {}
        for entry in entries:
            if entry.action == ChecklistEntryAction.WAIVE:
                waivers[entry.item_key] = entry
            elif entry.action == ChecklistEntryAction.ADD:
                item = self.added_item(entry)
                added.setdefault(item.gate, []).append((item, entry))
        docs_by_kind: dict[str, list[DocLike]] = {}
        for doc in docs:
            docs_by_kind.setdefault(doc.kind, []).append(doc)
        kpis = tuple(kpi_names)
        leads = (ds_lead_id, eng_lead_id) if ds_lead_id and eng_lead_id else None
        current_order = current or 0
        gates = []
        for gate, order, checks in self.gates:
            own = added.get(gate, ()) if added else ()
            if not checks and not own:
                continue
            statuses = []
            for item, key, bare, is_doc in checks:
                if (
                    bare is not None
                    and key not in docs_by_kind
                    and key not in waivers
                    and (is_doc or leads is None)  # named leads satisfy `owners` without a doc
                ):
                    statuses.append(bare)
                else:
                    statuses.append(_status(item, None, docs_by_kind, kpis, leads, waivers))
            if own:
                statuses += [_status(item, entry, docs_by_kind, kpis, leads, waivers) for item, entry in own]
            gates.append(GateReadiness(gate, tuple(statuses)))
            if overview and order > current_order:
                break  # the next gate: an overview shows nothing beyond it
        return Readiness(phase=phase, gates=tuple(gates))


def _status(
    item: ChecklistItem,
    added: EntryLike | None,
    docs_by_kind: Mapping[str, Sequence[DocLike]],
    kpi_names: tuple[str, ...],
    leads: tuple[str, str] | None,
    waivers: Mapping[str, EntryLike],
) -> ItemStatus:
    docs = tuple(docs_by_kind.get(item.key, ()))
    kpis: tuple[str, ...] = ()
    owners: tuple[str, str] | None = None
    if item.type is ItemType.KPI:
        kpis = kpi_names
        satisfied = bool(kpis)
    elif item.type is ItemType.OWNERS and leads is not None:
        owners = leads
        satisfied = True
    else:
        satisfied = bool(docs)
    waiver = waivers.get(item.key)
    state = ItemState.WAIVED if waiver is not None else ItemState.SATISFIED if satisfied else ItemState.MISSING
    return ItemStatus(item, state, docs, kpis, owners, waiver, added)


def readiness_of(*, session: Session, checklist: Checklist, initiative: Initiative) -> Readiness:
    return readiness_for(session=session, checklist=checklist, initiatives=[initiative])[initiative.id or 0]


def readiness_for(
    *,
    session: Session,
    checklist: Checklist,
    initiatives: Sequence[InitiativeLike],
    kpi_names: Mapping[int, Sequence[str]] | None = None,
) -> dict[int, Readiness]:
    """Readiness of many initiatives in three queries, whatever their number; two when the caller has read the
    KPIs already (`kpi_names`)."""
    ids = [i.id for i in initiatives if i.id is not None]
    docs = queries.docs_by_initiative(session=session, initiative_ids=ids)
    entries = queries.entries_by_initiative(session=session, initiative_ids=ids)
    kpis = kpi_names if kpi_names is not None else kpi_names_by_initiative(session=session, initiative_ids=ids)
    return readiness_from(checklist=checklist, initiatives=initiatives, docs=docs, entries=entries, kpi_names=kpis)


def readiness_from(
    *,
    checklist: Checklist,
    initiatives: Sequence[InitiativeLike],
    docs: Mapping[int, Sequence[DocLike]],
    entries: Mapping[int, Sequence[EntryLike]],
    kpi_names: Mapping[int, Sequence[str]],
    overview: bool = False,
) -> dict[int, Readiness]:
    """Readiness of many initiatives from what was read of them already; `overview`: only what an overview shows
    (`overview_readiness`)."""
    evaluation = _Evaluation(checklist)
    return {
        i.id: evaluation.readiness_of(
            Phase(i.phase),
            i.ds_lead_id,
            i.eng_lead_id,
            docs.get(i.id, ()),
            entries.get(i.id, ()),
            kpi_names.get(i.id, ()),
            overview=overview,
        )
        for i in initiatives
        if i.id is not None
    }


class InitiativeLike(Protocol):
    """Anything with an initiative's id, phase and leads (a row of the status page, say)."""

    @property
    def id(self) -> int | None: ...
    @property
    def phase(self) -> str: ...
    @property
    def ds_lead_id(self) -> str | None: ...
    @property
    def eng_lead_id(self) -> str | None: ...


# --- docs --------------------------------------------------------------------------------------------------


class UnknownItem(HandoffError):
    """`key` as typed; `known` are the item keys it could have been, `what` a plain phrase ("checklist item")."""

    def __init__(self, key: str, known: Sequence[str], what: str = "checklist item"):
        super().__init__(Problem.UNKNOWN_ITEM, key=key, known=list(known), what=what)
        self.key = key
        self.known = list(known)


def doc_items(checklist: Checklist, entries: Sequence[ChecklistEntry]) -> list[ChecklistItem]:
    """The items a link can satisfy for an initiative, its own additions included, in gate order."""
    return [item for item, _ in items_of(checklist, entries) if item.type is not ItemType.KPI]


def doc_kinds(checklist: Checklist, entries: Sequence[ChecklistEntry]) -> list[str]:
    """Every kind `doc add` accepts for an initiative: items a link can satisfy, its own additions included."""
    return [item.key for item in doc_items(checklist, entries)]


def doc_items_for(*, session: Session, checklist: Checklist, initiative: Initiative | None) -> list[ChecklistItem]:
    """What the doc form offers: the initiative's doc items, or the workspace's alone before one is picked."""
    if initiative is None:
        return doc_items(checklist, [])
    entries = queries.entries_by_initiative(session=session, initiative_ids=[initiative.id or 0])
    return doc_items(checklist, entries.get(initiative.id or 0, []))


def url_problem(url: str) -> FieldProblem | None:
    """What is wrong with a doc's link, if anything."""
    not_a_link = FieldProblem("url", Problem.NOT_A_WEB_LINK, url=url)
    try:
        parts = urlsplit(url)
    except ValueError:  # an unbalanced "[" in the host, say: a typo to report, not a crash
        return not_a_link
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return not_a_link
    if len(url) > URL_MAX:
        return FieldProblem("url", Problem.TOO_LONG, what="link", length=len(url), limit=URL_MAX)
    if any(c.isspace() for c in url):
        return FieldProblem("url", Problem.LINK_HAS_SPACES)
    return None


def add_doc(
    *,
    session: Session,
    actor: Actor,
    initiative: Initiative,
    kind: str,
    url: str,
    note: str | None,
    checklist: Checklist,
    now: datetime,
) -> HandoffDoc:
    """Attach a doc that satisfies `kind`; anyone may, and the doc records who attested it and when."""
    require_active(initiative, frozen="its checklist is frozen")
    entries = queries.entries_by_initiative(session=session, initiative_ids=[initiative.id or 0]).get(
        initiative.id or 0, []
    )
    kinds = doc_kinds(checklist, entries)
    kind = kind.strip().lower()
    problems: list[FieldProblem] = []
    if kind not in kinds:
        problems.append(FieldProblem("kind", Problem.NOT_A_DOC_KIND, kind=kind, kinds=kinds))
    problem = url_problem(url)
    if problem:
        problems.append(problem)
    problems += note_problems(note)
    if problems:
        raise InvalidInput(problems)
    existing = queries.list_docs_of_kind(session=session, initiative_id=initiative.id or 0, kind=kind)
    if any(d.url == url for d in existing):
        raise NothingToChange(Problem.DOC_ALREADY_ADDED, kind=kind, initiative=initiative.name)
    return queries.add_doc(
        session=session,
        doc=HandoffDoc(
            initiative_id=initiative.id or 0,
            kind=kind,
            url=url,
            note=note or None,
            added_by=actor.user_id,
            added_at=now,
        ),
    )


def remove_doc(
    *,
    session: Session,
    actor: Actor,
    initiative: Initiative,
    kind: str,
    url: str | None,
    people: PeopleService,
    now: datetime,
) -> HandoffDoc:
    """Take a doc off; the person who added it, the initiative's managers and admins may."""
    require_active(initiative, frozen="its checklist is frozen")
    kind = kind.strip().lower()
    docs = queries.list_docs_of_kind(session=session, initiative_id=initiative.id or 0, kind=kind)
    if url is not None:
        docs = [d for d in docs if d.url == url]
    if not docs:
        raise InvalidInput.single(
            "kind", Problem.NO_SUCH_DOC, initiative=initiative.name, kind=kind, url=url, ref_key=initiative.ref_key
        )
    if len(docs) > 1:
        raise InvalidInput.single(
            "url", Problem.SEVERAL_DOCS, initiative=initiative.name, kind=kind, urls=[d.url for d in docs]
        )
    doc = docs[0]
    if actor.user_id != doc.added_by:
        require_manager(initiative=initiative, actor=actor, people=people, action="remove docs others added")
    doc.removed_by, doc.removed_at = actor.user_id, now
    session.add(doc)
    return doc


def restore_doc(*, session: Session, actor: Actor, doc_id: int, people: PeopleService) -> tuple[Initiative, HandoffDoc]:
    """Put a removed doc back; the same people who may remove it may, unless the link was added again since."""
    doc = queries.get_doc(session=session, doc_id=doc_id)
    initiative = (
        get_initiative(session=session, team_id=actor.team_id, initiative_id=doc.initiative_id)
        if doc is not None
        else None
    )
    if doc is None or initiative is None or doc.removed_at is None:
        raise NothingToChange(Problem.DOC_NOT_RESTORABLE)
    require_active(initiative, frozen="its checklist is frozen")
    if actor.user_id != doc.added_by:
        require_manager(initiative=initiative, actor=actor, people=people, action="restore docs others added")
    current = queries.list_docs_of_kind(session=session, initiative_id=initiative.id or 0, kind=doc.kind)
    if any(d.url == doc.url for d in current):
        raise NothingToChange(Problem.DOC_ADDED_AGAIN, url=doc.url)
    doc.removed_by, doc.removed_at = None, None
    session.add(doc)
    session.flush()
    return initiative, doc


# --- the initiative's own checklist changes -----------------------------------------------------------------


@dataclass(frozen=True)
class EntryResult:
    entry: ChecklistEntry
    item: ChecklistItem


def add_item(
    *,
    session: Session,
    actor: Actor,
    initiative: Initiative,
    key: str,
    reason: str,
    gate: Phase | None,
    checklist: Checklist,
    people: PeopleService,
    now: datetime,
) -> EntryResult:
    """Require one more item of this initiative, before `gate` (default: the next gate ahead)."""
    require_active(initiative, frozen="its checklist is frozen")
    readiness = readiness_of(session=session, checklist=checklist, initiative=initiative)
    key = key.strip().lower()
    problems = reason_problems(reason)
    if not ITEM_KEY.match(key):
        problems.append(FieldProblem("item", Problem.NOT_AN_ITEM_KEY, key=key))
    elif find_item(readiness, key) is not None:
        problems.append(FieldProblem("item", Problem.ITEM_ALREADY_LISTED, key=key, initiative=initiative.name))
    if gate is None:
        upcoming = readiness.next_gate()
        gate = upcoming.gate if upcoming is not None else _next_gated_phase(Phase(initiative.phase))
        if gate is None:
            problems.append(FieldProblem("for", Problem.GATE_MISSING, phases=[p.value for p in GATED_PHASES]))
    elif gate not in GATED_PHASES:
        problems.append(
            FieldProblem("for", Problem.NOT_A_GATE, phase=gate.value, phases=[p.value for p in GATED_PHASES])
        )
    if problems:
        raise InvalidInput(problems)
    require_manager(initiative=initiative, actor=actor, people=people, action="change its checklist")
    entry = queries.add_entry(
        session=session,
        entry=ChecklistEntry(
            initiative_id=initiative.id or 0,
            item_key=key,
            action=ChecklistEntryAction.ADD.value,
            gate=gate.value if gate else None,
            reason=" ".join(reason.split()),
            created_by=actor.user_id,
            created_at=now,
        ),
    )
    return EntryResult(entry, added_item(entry))


def waive_item(
    *,
    session: Session,
    actor: Actor,
    initiative: Initiative,
    key: str,
    reason: str,
    checklist: Checklist,
    people: PeopleService,
    now: datetime,
) -> EntryResult:
    """Mark an item as not needed for this initiative, recording who, when and why."""
    require_active(initiative, frozen="its checklist is frozen")
    readiness = readiness_of(session=session, checklist=checklist, initiative=initiative)
    key = key.strip().lower()
    status = find_item(readiness, key)
    if status is None:
        raise UnknownItem(key, [s.item.key for g in readiness.gates for s in g.items])
    problems = reason_problems(reason)
    if problems:
        raise InvalidInput(problems)
    if status.waiver is not None:
        raise NothingToChange(Problem.ALREADY_WAIVED, key=key, initiative=initiative.name)
    require_manager(initiative=initiative, actor=actor, people=people, action="waive checklist items")
    entry = queries.add_entry(
        session=session,
        entry=ChecklistEntry(
            initiative_id=initiative.id or 0,
            item_key=key,
            action=ChecklistEntryAction.WAIVE.value,
            reason=" ".join(reason.split()),
            created_by=actor.user_id,
            created_at=now,
        ),
    )
    return EntryResult(entry, status.item)


def remove_entry(
    *,
    session: Session,
    actor: Actor,
    initiative: Initiative,
    key: str,
    checklist: Checklist,
    people: PeopleService,
) -> ItemStatus:
    """Undo the initiative's own change to an item: drop an added item, or lift a waiver."""
    require_active(initiative, frozen="its checklist is frozen")
    readiness = readiness_of(session=session, checklist=checklist, initiative=initiative)
    key = key.strip().lower()
    status = find_item(readiness, key)
    if status is None or (status.added is None and status.waiver is None):
        own = [s.item.key for g in readiness.gates for s in g.items if s.added is not None or s.waiver is not None]
        raise UnknownItem(key, own, what="waived or added item")
    require_manager(initiative=initiative, actor=actor, people=people, action="change its checklist")
    queries.delete_entries(session=session, initiative_id=initiative.id or 0, item_key=key)
    return status


def find_item(readiness: Readiness, key: str) -> ItemStatus | None:
    return next((s for g in readiness.gates for s in g.items if s.item.key == key), None)


def _next_gated_phase(phase: Phase) -> Phase | None:
    order = phase_order(phase)
    if order is None:
        return None
    return next((p for p in GATED_PHASES if (phase_order(p) or 0) > order), None)


def reason_problems(reason: str) -> list[FieldProblem]:
    """A reason (for a waiver, an added item or a forced move) that is missing or too long."""
    reason = " ".join(reason.split())
    if not reason:
        return [FieldProblem("reason", Problem.REASON_MISSING)]
    if len(reason) > NOTE_MAX:
        return [FieldProblem("reason", Problem.TOO_LONG, what="reason", length=len(reason), limit=NOTE_MAX)]
    return []


# --- phase gates ---------------------------------------------------------------------------------------------


class GateRefused(HandoffError):
    """The move crosses a gate whose checklist is incomplete; `missing` says what."""

    def __init__(self, initiative: Initiative, target: Phase, missing: Sequence[ItemStatus]):
        super().__init__(
            Problem.GATE_REFUSED,
            initiative=initiative.name,
            ref_key=initiative.ref_key,
            target=target.value,
            missing=[s.item for s in missing],
        )
        self.missing = list(missing)


@dataclass(frozen=True)
class GatedPhaseResult:
    result: PhaseResult
    forced_past: list[ItemStatus] = field(default_factory=list)


def move_phase(
    *,
    session: Session,
    actor: Actor,
    initiative: Initiative,
    phase: Phase,
    note: str | None,
    force_reason: str | None,
    checklist: Checklist,
    people: PeopleService,
    now: datetime,
) -> GatedPhaseResult:
    """Change phase through the gates: refused while required items are missing, unless a lead forces it."""
    # An archived initiative or a move to the phase it is in: change_phase explains these better than a gate would.
    moving = not initiative.archived and initiative.phase != phase.value
    if moving:
        require_manager(initiative=initiative, actor=actor, people=people, action="change its phase")
    missing = missing_to_enter(session=session, checklist=checklist, initiative=initiative, phase=phase)
    if force_reason is not None:
        problems = reason_problems(force_reason)
        if problems:
            raise InvalidInput(problems)
    if missing and force_reason is None and moving:
        raise GateRefused(initiative, phase, missing)
    if missing and force_reason is not None and not may_force(initiative=initiative, actor=actor, people=people):
        raise ForceNotAllowed(leads_of(initiative))
    result = change_phase(
        session=session,
        actor=actor,
        initiative=initiative,
        phase=phase,
        note=" ".join(force_reason.split()) if force_reason is not None else note,
        people=people,
        now=now,
        forced_items=[s.item.key for s in missing] if missing else None,
    )
    return GatedPhaseResult(result, forced_past=missing)


def missing_to_enter(
    *, session: Session, checklist: Checklist, initiative: Initiative, phase: Phase
) -> list[ItemStatus]:
    """The required items a move to `phase` would go past without: those of every gate it crosses."""
    readiness = readiness_of(session=session, checklist=checklist, initiative=initiative)
    return [s for g in readiness.crossing(phase) for s in g.missing]


def leads_of(initiative: Initiative) -> list[str]:
    """The initiative's DS and engineering leads, those it has."""
    return [u for u in (initiative.ds_lead_id, initiative.eng_lead_id) if u]


def may_force(*, initiative: Initiative, actor: Actor, people: PeopleService) -> bool:
    """Forcing a move past a gate is for the initiative's DS and engineering leads and workspace admins."""
    return actor.user_id in leads_of(initiative) or people.is_workspace_admin(actor.user_id)


class ForceNotAllowed(NotAllowed):
    def __init__(self, allowed_user_ids: Sequence[str]):
        super().__init__("force a phase gate", allowed_user_ids, kind=Problem.FORCE_NOT_ALLOWED)
