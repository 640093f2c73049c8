"""Readiness against real storage (SQLite): the checklist and its gates, docs, checklist changes, KPIs and ideas."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot import ideas as idea_service
from bot.blocks.problems import describe
from bot.checklist import GATED_PHASES, Checklist, ChecklistItem, ItemType
from bot.errors import InvalidInput, NotAllowed, NothingToChange, UnknownInitiative
from bot.ideas import (
    LISTED,
    UnknownIdea,
    idea_reference,
    list_ideas,
    locate_idea,
    log_idea,
    parse_outcome,
    record_outcome,
    search_ideas,
)
from bot.initiatives import CLEAR
from bot.kpis import (
    TREND_READINGS,
    AmbiguousKpi,
    KpiEdit,
    KpiNotAllowed,
    UnknownKpi,
    add_kpi,
    edit_kpi,
    format_value,
    is_stale,
    kpi_views,
    kpi_views_for,
    parse_direction,
    parse_number,
    record_reading,
    remove_kpi,
    remove_reading,
    standing,
    target_text,
)
from bot.people import PeopleService
from bot.readiness import (
    ForceNotAllowed,
    GateRefused,
    InitiativeFacts,
    ItemState,
    Readiness,
    UnknownItem,
    add_doc,
    add_item,
    doc_kinds,
    evaluate,
    label_of,
    move_phase,
    readiness_for,
    readiness_of,
    remove_doc,
    remove_entry,
    url_problem,
    waive_item,
)
from bot.text import escape
from storage import ideas as idea_queries
from storage import kpis as kpi_queries
from storage import readiness as readiness_queries
from storage.models import (
    IDEA_MAX,
    KPI_NAME_MAX,
    KPI_UNIT_MAX,
    NOTE_MAX,
    URL_MAX,
    ChecklistEntry,
    ChecklistEntryAction,
    HandoffDoc,
    Idea,
    IdeaOutcome,
    Initiative,
    Kpi,
    KpiDirection,
    KpiReading,
    Phase,
    PhaseChange,
)
from storage.numbering import Numbered
from tests.support.factories import StaticDirectory, actor, count_rows, managed, problem_fields
from tests.support.slack_driver import TEAM_ID
from tests.support.workspace import ADMIN, ALICE, BOB, CAROL, CREATOR, DAVE, GONE, NOBODY, NOW, OTHER_TEAM, ROBOT

T = TypeVar("T")
DEFAULTS = Checklist()
DEVELOPMENT_KEYS = ["ds-summary", "kpi", "api-contract"]
PRODUCTION_DOC_KEYS = [
    "model-card",
    "dependencies",
    "privacy-review",
    "serving-budget",
    "test-evidence",
    "monitoring-plan",
    "runbook",
]
PRODUCTION_KEYS = [*PRODUCTION_DOC_KEYS, "owners"]


# --- fixtures and helpers ------------------------------------------------------------------------------------------


def minutes(n: int) -> datetime:
    return NOW + timedelta(minutes=n)


def attach(
    session: Session,
    initiative: Initiative,
    kind: str,
    url: str | None = None,
    by: str = ALICE,
    checklist: Checklist = DEFAULTS,
) -> HandoffDoc:
    return add_doc(
        session=session,
        actor=actor(by),
        initiative=initiative,
        kind=kind,
        url=url or f"https://docs.example.com/{kind}",
        note=None,
        checklist=checklist,
        now=NOW,
    )


def agree_kpi(
    session: Session,
    people: PeopleService,
    initiative: Initiative,
    name: str = "AUC on holdout",
    direction: KpiDirection = KpiDirection.AT_LEAST,
    target: float = 0.8,
    unit: str | None = None,
    created_at: datetime = NOW,
) -> Kpi:
    return add_kpi(
        session=session,
        actor=actor(ALICE),
        initiative=initiative,
        name=name,
        direction=direction,
        target=target,
        unit=unit,
        owner_id=None,
        people=people,
        now=created_at,
    )


def satisfy_development(session: Session, people: PeopleService, initiative: Initiative) -> None:
    attach(session, initiative, "ds-summary")
    attach(session, initiative, "api-contract")
    agree_kpi(session, people, initiative)


def satisfy_production_docs(session: Session, initiative: Initiative) -> None:
    for kind in PRODUCTION_DOC_KEYS:
        attach(session, initiative, kind)


def move(
    session: Session,
    people: PeopleService,
    initiative: Initiative,
    phase: Phase,
    by: str = ALICE,
    force: str | None = None,
    note: str | None = None,
    checklist: Checklist = DEFAULTS,
) -> Any:
    return move_phase(
        session=session,
        actor=actor(by),
        initiative=initiative,
        phase=phase,
        note=note,
        force_reason=force,
        checklist=checklist,
        people=people,
        now=minutes(5),
    )


def waive(
    session: Session,
    people: PeopleService,
    initiative: Initiative,
    key: str,
    reason: str = "not needed",
    by: str = ALICE,
) -> Any:
    return waive_item(
        session=session,
        actor=actor(by),
        initiative=initiative,
        key=key,
        reason=reason,
        checklist=DEFAULTS,
        people=people,
        now=minutes(1),
    )


def add_own_item(
    session: Session,
    people: PeopleService,
    initiative: Initiative,
    key: str,
    gate: Phase | None = None,
    reason: str = "regulated market",
    by: str = ALICE,
) -> Any:
    return add_item(
        session=session,
        actor=actor(by),
        initiative=initiative,
        key=key,
        reason=reason,
        gate=gate,
        checklist=DEFAULTS,
        people=people,
        now=minutes(1),
    )


def unwind(session: Session, people: PeopleService, initiative: Initiative, key: str, by: str = ALICE) -> Any:
    return remove_entry(
        session=session, actor=actor(by), initiative=initiative, key=key, checklist=DEFAULTS, people=people
    )


def states(readiness: Readiness, gate: Phase) -> dict[str, ItemState]:
    found = readiness.gate(gate)
    assert found is not None, f"no {gate.value} gate"
    return {s.item.key: s.state for s in found.items}


def state_of(readiness: Readiness, key: str) -> ItemState:
    return next(s.state for g in readiness.gates for s in g.items if s.item.key == key)


def current(session: Session, initiative: Initiative) -> Readiness:
    return readiness_of(session=session, checklist=DEFAULTS, initiative=initiative)


def facts(phase: Phase = Phase.DISCOVERY, **overrides: Any) -> InitiativeFacts:
    values: dict[str, Any] = {"initiative_id": 1, "phase": phase, "ds_lead_id": None, "eng_lead_id": None}
    values.update(overrides)
    return InitiativeFacts(**values)


def doc_row(kind: str, url: str = "https://docs.example.com/x") -> HandoffDoc:
    return HandoffDoc(initiative_id=1, kind=kind, url=url, added_by=ALICE, added_at=NOW)


def entry_row(key: str, action: ChecklistEntryAction, gate: Phase | None = None) -> ChecklistEntry:
    return ChecklistEntry(
        initiative_id=1,
        item_key=key,
        action=action.value,
        gate=gate.value if gate else None,
        reason="because",
        created_by=ALICE,
        created_at=NOW,
    )


def phase_changes(session: Session, initiative: Initiative) -> list[PhaseChange]:
    statement = select(PhaseChange).where(PhaseChange.initiative_id == initiative.id).order_by(col(PhaseChange.id))
    return list(session.exec(statement).all())


# --- the default checklist ---------------------------------------------------------------------------------------


def test_default_development_gate_needs_the_summary_the_kpi_and_the_contract() -> None:
    assert [i.key for i in DEFAULTS.items if i.gate is Phase.DEVELOPMENT] == DEVELOPMENT_KEYS


def test_default_production_gate_needs_the_operational_docs_and_owners() -> None:
    assert [i.key for i in DEFAULTS.items if i.gate is Phase.PRODUCTION] == PRODUCTION_KEYS


def test_default_checklist_guards_only_development_and_production() -> None:
    assert {i.gate for i in DEFAULTS.items} == {Phase.DEVELOPMENT, Phase.PRODUCTION}
    kpi, owners = DEFAULTS.item("kpi"), DEFAULTS.item("owners")
    assert kpi is not None and kpi.type is ItemType.KPI
    assert owners is not None and owners.type is ItemType.OWNERS
    assert DEFAULTS.item("no-such-item") is None


def test_doc_kinds_are_every_item_but_the_kpi() -> None:
    assert DEFAULTS.doc_kinds == ("ds-summary", "api-contract", *PRODUCTION_KEYS)
    assert "kpi" not in DEFAULTS.doc_kinds


def test_doc_kinds_include_the_initiatives_own_additions() -> None:
    added = entry_row("fairness-review", ChecklistEntryAction.ADD, Phase.PRODUCTION)
    assert doc_kinds(DEFAULTS, [added]) == ["ds-summary", "api-contract", *PRODUCTION_KEYS, "fairness-review"]


def test_added_items_are_labelled_from_their_key() -> None:
    assert label_of("fairness-review") == "Fairness review"
    assert label_of("sla") == "Sla"


# --- evaluation ----------------------------------------------------------------------------------------------------


def test_nothing_done_means_every_item_is_missing() -> None:
    readiness = evaluate(DEFAULTS, facts())
    assert [g.gate for g in readiness.gates] == [Phase.DEVELOPMENT, Phase.PRODUCTION]
    assert set(states(readiness, Phase.DEVELOPMENT).values()) == {ItemState.MISSING}
    assert set(states(readiness, Phase.PRODUCTION).values()) == {ItemState.MISSING}
    development = readiness.gate(Phase.DEVELOPMENT)
    assert development is not None
    assert (development.required, development.satisfied, len(development.missing)) == (3, 0, 3)


def test_a_doc_satisfies_the_item_of_its_kind_only() -> None:
    summary = doc_row("ds-summary")
    readiness = evaluate(DEFAULTS, facts(docs=[summary]))
    assert states(readiness, Phase.DEVELOPMENT) == {
        "ds-summary": ItemState.SATISFIED,
        "kpi": ItemState.MISSING,
        "api-contract": ItemState.MISSING,
    }
    development = readiness.gate(Phase.DEVELOPMENT)
    assert development is not None and development.items[0].docs == (summary,)


def test_the_kpi_item_is_satisfied_by_any_kpi() -> None:
    readiness = evaluate(DEFAULTS, facts(kpi_names=["Weekly churn"]))
    development = readiness.gate(Phase.DEVELOPMENT)
    assert development is not None
    kpi = next(s for s in development.items if s.item.key == "kpi")
    assert (kpi.state, kpi.kpi_names) == (ItemState.SATISFIED, ("Weekly churn",))


def test_a_doc_called_kpi_does_not_satisfy_the_kpi_item() -> None:
    # Only an agreed KPI with a target counts; a link cannot stand in for it.
    readiness = evaluate(DEFAULTS, facts(docs=[doc_row("kpi")]))
    assert state_of(readiness, "kpi") is ItemState.MISSING


def test_owners_are_satisfied_by_both_leads() -> None:
    readiness = evaluate(DEFAULTS, facts(ds_lead_id=ALICE, eng_lead_id=BOB))
    production = readiness.gate(Phase.PRODUCTION)
    assert production is not None
    owners = next(s for s in production.items if s.item.key == "owners")
    assert (owners.state, owners.leads) == (ItemState.SATISFIED, (ALICE, BOB))


@pytest.mark.parametrize(("ds", "eng"), [(ALICE, None), (None, BOB), (None, None)])
def test_owners_are_missing_with_one_lead_or_none(ds: str | None, eng: str | None) -> None:
    readiness = evaluate(DEFAULTS, facts(ds_lead_id=ds, eng_lead_id=eng))
    assert state_of(readiness, "owners") is ItemState.MISSING


def test_owners_are_satisfied_by_a_doc_naming_them() -> None:
    readiness = evaluate(DEFAULTS, facts(ds_lead_id=ALICE, docs=[doc_row("owners")]))
    assert state_of(readiness, "owners") is ItemState.SATISFIED


def test_a_waiver_wins_over_missing_and_over_satisfied() -> None:
    waivers = [
        entry_row("api-contract", ChecklistEntryAction.WAIVE),
        entry_row("ds-summary", ChecklistEntryAction.WAIVE),
    ]
    readiness = evaluate(DEFAULTS, facts(docs=[doc_row("ds-summary")], entries=waivers))
    assert states(readiness, Phase.DEVELOPMENT) == {
        "ds-summary": ItemState.WAIVED,
        "kpi": ItemState.MISSING,
        "api-contract": ItemState.WAIVED,
    }
    development = readiness.gate(Phase.DEVELOPMENT)
    assert development is not None
    # A waived item is no longer required, so the gate needs 1 item and has none of it.
    assert (development.required, development.satisfied) == (1, 0)
    assert [s.item.key for s in development.waived] == ["ds-summary", "api-contract"]


def test_an_added_item_joins_its_gate_after_the_workspace_items_and_takes_docs_of_its_kind() -> None:
    added = entry_row("fairness-review", ChecklistEntryAction.ADD, Phase.DEVELOPMENT)
    readiness = evaluate(DEFAULTS, facts(entries=[added]))
    assert list(states(readiness, Phase.DEVELOPMENT)) == [*DEVELOPMENT_KEYS, "fairness-review"]
    assert state_of(readiness, "fairness-review") is ItemState.MISSING
    development = readiness.gate(Phase.DEVELOPMENT)
    assert development is not None
    status = development.items[-1]
    assert (status.item.label, status.item.type, status.added) == ("Fairness review", ItemType.DOC, added)

    satisfied = evaluate(DEFAULTS, facts(entries=[added], docs=[doc_row("fairness-review")]))
    assert state_of(satisfied, "fairness-review") is ItemState.SATISFIED


def test_an_item_added_for_an_ungated_phase_creates_that_gate() -> None:
    added = entry_row("literature-review", ChecklistEntryAction.ADD, Phase.RESEARCH)
    readiness = evaluate(DEFAULTS, facts(entries=[added]))
    assert [g.gate for g in readiness.gates] == [Phase.RESEARCH, Phase.DEVELOPMENT, Phase.PRODUCTION]
    next_gate = readiness.next_gate()
    assert next_gate is not None and next_gate.gate is Phase.RESEARCH


@pytest.mark.parametrize(
    ("phase", "expected"),
    [
        (Phase.DISCOVERY, Phase.DEVELOPMENT),
        (Phase.RESEARCH, Phase.DEVELOPMENT),
        (Phase.SUMMARY, Phase.DEVELOPMENT),
        (Phase.DEVELOPMENT, Phase.PRODUCTION),
        (Phase.PRODUCTION, None),
        (Phase.MONITORING, None),
        (Phase.PAUSED, None),
        (Phase.CANCELLED, None),
    ],
)
def test_next_gate_by_phase(phase: Phase, expected: Phase | None) -> None:
    upcoming = evaluate(DEFAULTS, facts(phase)).next_gate()
    assert (upcoming.gate if upcoming is not None else None) is expected


@pytest.mark.parametrize(
    ("phase", "passed"),
    [
        (Phase.DISCOVERY, []),
        (Phase.SUMMARY, []),
        (Phase.DEVELOPMENT, [Phase.DEVELOPMENT]),
        (Phase.PRODUCTION, [Phase.DEVELOPMENT, Phase.PRODUCTION]),
        (Phase.MONITORING, [Phase.DEVELOPMENT, Phase.PRODUCTION]),
        (Phase.PAUSED, []),
    ],
)
def test_passed_gates_by_phase(phase: Phase, passed: list[Phase]) -> None:
    assert [g.gate for g in evaluate(DEFAULTS, facts(phase)).passed_gates()] == passed


def test_shown_gates_are_the_passed_ones_and_the_next() -> None:
    assert [g.gate for g in evaluate(DEFAULTS, facts(Phase.RESEARCH)).shown()] == [Phase.DEVELOPMENT]
    assert [g.gate for g in evaluate(DEFAULTS, facts(Phase.DEVELOPMENT)).shown()] == [
        Phase.DEVELOPMENT,
        Phase.PRODUCTION,
    ]
    assert [g.gate for g in evaluate(DEFAULTS, facts(Phase.PAUSED)).shown()] == []


def test_outstanding_lists_what_a_passed_gate_still_misses() -> None:
    readiness = evaluate(DEFAULTS, facts(Phase.DEVELOPMENT, docs=[doc_row("ds-summary")]))
    assert [s.item.key for s in readiness.outstanding()] == ["kpi", "api-contract"]
    # Production's missing items are ahead, not outstanding.
    assert evaluate(DEFAULTS, facts(Phase.SUMMARY)).outstanding() == []


def crossed(phase: Phase, target: Phase) -> list[Phase]:
    return [g.gate for g in evaluate(DEFAULTS, facts(phase)).crossing(target)]


def test_crossing_forward_one_gate() -> None:
    assert crossed(Phase.SUMMARY, Phase.DEVELOPMENT) == [Phase.DEVELOPMENT]
    assert crossed(Phase.DEVELOPMENT, Phase.PRODUCTION) == [Phase.PRODUCTION]
    assert crossed(Phase.DISCOVERY, Phase.RESEARCH) == []
    assert crossed(Phase.PRODUCTION, Phase.MONITORING) == []


def test_crossing_when_skipping_phases_includes_every_gate_on_the_way() -> None:
    assert crossed(Phase.DISCOVERY, Phase.PRODUCTION) == [Phase.DEVELOPMENT, Phase.PRODUCTION]
    assert crossed(Phase.RESEARCH, Phase.MONITORING) == [Phase.DEVELOPMENT, Phase.PRODUCTION]


def test_moving_back_or_aside_crosses_no_gate() -> None:
    assert crossed(Phase.PRODUCTION, Phase.DEVELOPMENT) == []
    assert crossed(Phase.MONITORING, Phase.DISCOVERY) == []
    assert crossed(Phase.DEVELOPMENT, Phase.DEVELOPMENT) == []
    assert crossed(Phase.DISCOVERY, Phase.PAUSED) == []
    assert crossed(Phase.SUMMARY, Phase.CANCELLED) == []


def test_leaving_paused_rechecks_every_gate_up_to_the_target() -> None:
    assert crossed(Phase.PAUSED, Phase.RESEARCH) == []
    assert crossed(Phase.PAUSED, Phase.DEVELOPMENT) == [Phase.DEVELOPMENT]
    assert crossed(Phase.PAUSED, Phase.PRODUCTION) == [Phase.DEVELOPMENT, Phase.PRODUCTION]
    assert crossed(Phase.CANCELLED, Phase.MONITORING) == [Phase.DEVELOPMENT, Phase.PRODUCTION]


def test_readiness_reads_stored_docs_kpis_leads_and_entries(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    attach(session, initiative, "ds-summary")
    agree_kpi(session, people, initiative)
    waive(session, people, initiative, "privacy-review", "aggregated counts only")
    readiness = current(session, initiative)
    assert states(readiness, Phase.DEVELOPMENT) == {
        "ds-summary": ItemState.SATISFIED,
        "kpi": ItemState.SATISFIED,
        "api-contract": ItemState.MISSING,
    }
    assert state_of(readiness, "privacy-review") is ItemState.WAIVED
    assert state_of(readiness, "owners") is ItemState.SATISFIED  # ALICE and BOB lead it


def test_readiness_for_many_initiatives_keeps_each_ones_facts_apart(session: Session, people: PeopleService) -> None:
    churn = managed(session)
    fraud = managed(session, name="Fraud rules", eng_lead_id=None)
    attach(session, churn, "ds-summary")
    agree_kpi(session, people, fraud)
    both = readiness_for(session=session, checklist=DEFAULTS, initiatives=[churn, fraud])
    assert churn.id is not None and fraud.id is not None
    assert set(both) == {churn.id, fraud.id}
    assert state_of(both[churn.id], "ds-summary") is ItemState.SATISFIED
    assert state_of(both[churn.id], "kpi") is ItemState.MISSING
    assert state_of(both[fraud.id], "ds-summary") is ItemState.MISSING
    assert state_of(both[fraud.id], "kpi") is ItemState.SATISFIED
    assert state_of(both[fraud.id], "owners") is ItemState.MISSING
    assert readiness_for(session=session, checklist=DEFAULTS, initiatives=[]) == {}


def test_a_removed_doc_no_longer_satisfies(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    attach(session, initiative, "ds-summary")
    remove_doc(
        session=session,
        actor=actor(ALICE),
        initiative=initiative,
        kind="ds-summary",
        url=None,
        people=people,
        now=minutes(1),
    )
    assert state_of(current(session, initiative), "ds-summary") is ItemState.MISSING


# --- moving phase through the gates --------------------------------------------------------------------------------

REFUSED_TO_DEVELOPMENT = (
    "*Churn model* can't move to *development* yet: 3 required items are missing.\n"
    "• *DS summary* (`ds-summary`): `/handoff doc add churn ds-summary &lt;url&gt;`\n"
    '• *Agreed KPI with a target* (`kpi`): `/handoff kpi add churn "&lt;name&gt;" &gt;= &lt;target&gt;`\n'
    "• *Interface/API contract* (`api-contract`): `/handoff doc add churn api-contract &lt;url&gt;`\n"
    'To waive an item: `/handoff checklist churn waive &lt;item&gt; "&lt;reason&gt;"`. '
    "To move anyway (leads and workspace admins): "
    '`/handoff phase churn development --force "&lt;reason&gt;"`.'
)


def test_a_move_across_an_incomplete_gate_is_refused_with_how_to_fix_each_item(
    session: Session, people: PeopleService
) -> None:
    initiative = managed(session)
    with pytest.raises(GateRefused) as refused:
        move(session, people, initiative, Phase.DEVELOPMENT)
    assert describe(refused.value) == REFUSED_TO_DEVELOPMENT
    assert [s.item.key for s in refused.value.missing] == DEVELOPMENT_KEYS


def test_a_refused_move_writes_nothing(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    with pytest.raises(GateRefused):
        move(session, people, initiative, Phase.DEVELOPMENT)
    assert initiative.phase == "discovery"
    assert [c.to_phase for c in phase_changes(session, initiative)] == ["discovery"]
    session.expire_all()
    stored = session.get(Initiative, initiative.id)
    assert stored is not None and stored.phase == "discovery"


def test_the_refusal_names_one_missing_item_in_the_singular_and_how_to_set_owners(
    session: Session, people: PeopleService
) -> None:
    initiative = managed(session, phase=Phase.DEVELOPMENT, eng_lead_id=None)
    satisfy_production_docs(session, initiative)
    with pytest.raises(GateRefused) as refused:
        move(session, people, initiative, Phase.PRODUCTION)
    assert describe(refused.value).startswith(
        "*Churn model* can't move to *production* yet: 1 required item is missing.\n"
        "• *Named owners on both teams* (`owners`): `/handoff edit churn ds:@someone eng:@someone`, "
        "or `/handoff doc add churn owners &lt;url&gt;`\n"
    )
    assert '`/handoff phase churn production --force "&lt;reason&gt;"`' in describe(refused.value)


def test_skipping_phases_is_refused_for_the_missing_items_of_every_gate_crossed(
    session: Session, people: PeopleService
) -> None:
    initiative = managed(session)
    satisfy_development(session, people, initiative)
    with pytest.raises(GateRefused) as refused:
        move(session, people, initiative, Phase.PRODUCTION)
    assert [s.item.key for s in refused.value.missing] == PRODUCTION_DOC_KEYS  # owners: both leads are set

    untouched = managed(session, name="Fraud rules")
    with pytest.raises(GateRefused) as both_gates:
        move(session, people, untouched, Phase.MONITORING)
    assert [s.item.key for s in both_gates.value.missing] == DEVELOPMENT_KEYS + PRODUCTION_DOC_KEYS
    assert "10 required items are missing" in describe(both_gates.value)

    satisfy_production_docs(session, initiative)
    move(session, people, initiative, Phase.PRODUCTION)
    assert [c.to_phase for c in phase_changes(session, initiative)] == ["discovery", "production"]


def test_a_complete_gate_lets_the_move_through(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    satisfy_development(session, people, initiative)
    result = move(session, people, initiative, Phase.DEVELOPMENT, note="kickoff done")
    session.commit()
    assert result.forced_past == []
    assert initiative.phase == "development"
    change = result.result.change
    assert (change.from_phase, change.to_phase, change.changed_by, change.changed_at) == (
        "discovery",
        "development",
        ALICE,
        minutes(5),
    )
    assert (change.forced, change.forced_items, change.note) == (False, None, "kickoff done")


def test_waived_items_do_not_block_the_move(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    attach(session, initiative, "ds-summary")
    agree_kpi(session, people, initiative)
    waive(session, people, initiative, "api-contract", "batch scoring, no API")
    result = move(session, people, initiative, Phase.DEVELOPMENT)
    assert result.result.change.forced is False
    assert initiative.phase == "development"


def test_moves_without_a_gate_are_never_refused(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    move(session, people, initiative, Phase.RESEARCH)
    move(session, people, initiative, Phase.SUMMARY)
    move(session, people, initiative, Phase.PAUSED)
    assert initiative.phase == "paused"


def test_moving_backward_is_never_gated(session: Session, people: PeopleService) -> None:
    # Production with nothing on the checklist: it got there by force, and may always go back.
    initiative = managed(session, phase=Phase.PRODUCTION, eng_lead_id=None)
    result = move(session, people, initiative, Phase.DEVELOPMENT, by=CAROL)
    assert result.forced_past == []
    assert result.result.change.forced is False
    move(session, people, initiative, Phase.DISCOVERY, by=CAROL)
    assert initiative.phase == "discovery"


def test_leaving_paused_is_gated_like_moving_forward(session: Session, people: PeopleService) -> None:
    initiative = managed(session, phase=Phase.PAUSED)
    with pytest.raises(GateRefused) as refused:
        move(session, people, initiative, Phase.DEVELOPMENT)
    assert [s.item.key for s in refused.value.missing] == DEVELOPMENT_KEYS
    move(session, people, initiative, Phase.RESEARCH)  # no gate up to research
    assert initiative.phase == "research"


@pytest.mark.parametrize("lead", [ALICE, BOB, ADMIN], ids=["ds-lead", "eng-lead", "workspace-admin"])
def test_a_lead_or_an_admin_can_force_past_a_gate(session: Session, people: PeopleService, lead: str) -> None:
    initiative = managed(session)
    attach(session, initiative, "ds-summary")
    result = move(session, people, initiative, Phase.DEVELOPMENT, by=lead, force="  demo for the board  ", note="x")
    session.commit()
    assert initiative.phase == "development"
    assert [s.item.key for s in result.forced_past] == ["kpi", "api-contract"]
    change = phase_changes(session, initiative)[-1]
    assert (change.to_phase, change.changed_by, change.forced) == ("development", lead, True)
    assert change.forced_items == "kpi, api-contract"
    assert change.note == "demo for the board"  # the reason, tidied, is the note of the change
    assert readiness_queries.latest_forced_changes(session=session, initiative_ids=[initiative.id or 0]) == {
        initiative.id: change
    }


def test_items_forced_past_stay_outstanding(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    move(session, people, initiative, Phase.DEVELOPMENT, force="deadline")
    readiness = current(session, initiative)
    assert [s.item.key for s in readiness.outstanding()] == DEVELOPMENT_KEYS
    next_gate = readiness.next_gate()
    assert next_gate is not None and next_gate.gate is Phase.PRODUCTION
    # The next move only crosses the production gate; the development items it was forced past do not block it.
    satisfy_production_docs(session, initiative)
    move(session, people, initiative, Phase.PRODUCTION)
    assert initiative.phase == "production"
    assert [s.item.key for s in current(session, initiative).outstanding()] == DEVELOPMENT_KEYS


@pytest.mark.parametrize("manager", [CAROL, CREATOR], ids=["embedded-engineer", "creator"])
def test_managers_who_are_not_leads_cannot_force(session: Session, people: PeopleService, manager: str) -> None:
    initiative = managed(session)
    with pytest.raises(ForceNotAllowed) as refused:
        move(session, people, initiative, Phase.DEVELOPMENT, by=manager, force="deadline")
    assert isinstance(refused.value, NotAllowed)
    assert describe(refused.value) == (
        "Only the initiative's DS lead, engineering lead or a workspace admin can force it past a gate."
    )
    assert refused.value.allowed_user_ids == [ALICE, BOB]
    assert initiative.phase == "discovery"
    assert count_rows(session, PhaseChange) == 1


def test_managers_who_are_not_leads_may_still_move_through_complete_gates(
    session: Session, people: PeopleService
) -> None:
    initiative = managed(session)
    satisfy_development(session, people, initiative)
    move(session, people, initiative, Phase.DEVELOPMENT, by=CAROL, force="nothing is missing anyway")
    change = phase_changes(session, initiative)[-1]
    assert (change.forced, change.forced_items) == (False, None)


def test_without_leads_only_an_admin_can_force(session: Session, people: PeopleService) -> None:
    initiative = managed(session, ds_lead_id=None, eng_lead_id=None)
    with pytest.raises(ForceNotAllowed) as refused:
        move(session, people, initiative, Phase.DEVELOPMENT, by=CREATOR, force="deadline")
    assert refused.value.allowed_user_ids == []
    move(session, people, initiative, Phase.DEVELOPMENT, by=ADMIN, force="deadline")
    assert initiative.phase == "development"


@pytest.mark.parametrize("reason", ["", "   "])
def test_forcing_needs_a_reason(session: Session, people: PeopleService, reason: str) -> None:
    initiative = managed(session)
    with pytest.raises(InvalidInput) as invalid:
        move(session, people, initiative, Phase.DEVELOPMENT, force=reason)
    assert problem_fields(invalid.value) == ["reason"]
    assert describe(invalid.value) == 'Say why, in quotes: e.g. `"no personal data: aggregated counts only"`.'
    assert initiative.phase == "discovery"
    assert count_rows(session, PhaseChange) == 1


def test_a_force_reason_over_the_limit_is_refused(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    with pytest.raises(InvalidInput) as invalid:
        move(session, people, initiative, Phase.DEVELOPMENT, force="x" * (NOTE_MAX + 1))
    assert describe(invalid.value) == f"The reason is {NOTE_MAX + 1} characters long; the limit is {NOTE_MAX}."


def test_a_non_manager_is_refused_before_any_gate_is_mentioned(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    with pytest.raises(NotAllowed) as refused:
        move(session, people, initiative, Phase.DEVELOPMENT, by=DAVE)
    assert not isinstance(refused.value, GateRefused)
    assert describe(refused.value) == (
        "Only the initiative's leads, embedded engineer, creator or a workspace admin can change its phase."
    )
    with pytest.raises(NotAllowed):
        move(session, people, initiative, Phase.DEVELOPMENT, by=DAVE, force="deadline")
    assert count_rows(session, PhaseChange) == 1


def test_moving_to_the_current_phase_says_so_instead_of_gating(session: Session, people: PeopleService) -> None:
    initiative = managed(session, phase=Phase.DEVELOPMENT)
    with pytest.raises(NothingToChange):
        move(session, people, initiative, Phase.DEVELOPMENT)


def test_an_archived_initiative_is_frozen_rather_than_gated(session: Session, people: PeopleService) -> None:
    initiative = managed(session, archived=True)
    with pytest.raises(InvalidInput) as invalid:
        move(session, people, initiative, Phase.DEVELOPMENT)
    assert describe(invalid.value) == '"Churn model" is archived; its phase is frozen.'


def test_a_custom_checklist_gates_its_own_phases(session: Session, people: PeopleService) -> None:
    research_gate = Checklist(
        items=(ChecklistItem(key="data-access", label="Data access granted", gate=Phase.RESEARCH),)
    )
    initiative = managed(session)
    with pytest.raises(GateRefused) as refused:
        move(session, people, initiative, Phase.RESEARCH, checklist=research_gate)
    assert [s.item.key for s in refused.value.missing] == ["data-access"]
    attach(session, initiative, "data-access", checklist=research_gate)
    move(session, people, initiative, Phase.RESEARCH, checklist=research_gate)
    # No production items in this checklist: production is open once research is reached.
    move(session, people, initiative, Phase.PRODUCTION, checklist=research_gate)
    assert initiative.phase == "production"


# --- docs ----------------------------------------------------------------------------------------------------------


def test_adding_a_doc_records_who_and_when(session: Session) -> None:
    initiative = managed(session)
    doc = add_doc(
        session=session,
        actor=actor(DAVE),  # anyone may attest a doc
        initiative=initiative,
        kind=" Model-Card ",
        url="https://wiki.example.com/churn/model-card?v=2#metrics",
        note="v2, with slices",
        checklist=DEFAULTS,
        now=minutes(3),
    )
    session.commit()
    assert doc.id is not None
    stored = session.get(HandoffDoc, doc.id)
    assert stored is not None
    assert (stored.initiative_id, stored.kind, stored.url, stored.note) == (
        initiative.id,
        "model-card",
        "https://wiki.example.com/churn/model-card?v=2#metrics",
        "v2, with slices",
    )
    assert (stored.added_by, stored.added_at, stored.removed_by, stored.removed_at) == (DAVE, minutes(3), None, None)


def test_an_empty_note_is_stored_as_none(session: Session) -> None:
    initiative = managed(session)
    assert attach(session, initiative, "runbook").note is None


@pytest.mark.parametrize("url", ["http://example.com", "HTTPS://EXAMPLE.COM/Runbook", "https://example.com:8443/a"])
def test_web_links_are_accepted(url: str) -> None:
    assert url_problem(url) is None


NOT_A_WEB_LINK = "is not a web link; a doc is an http:// or https:// URL."


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://files.example.com/card.pdf", f'"ftp://files.example.com/card.pdf" {NOT_A_WEB_LINK}'),
        ("javascript:alert(1)", f'"javascript:alert(1)" {NOT_A_WEB_LINK}'),
        ("mailto:alice@example.com", f'"mailto:alice@example.com" {NOT_A_WEB_LINK}'),
        ("wiki.example.com/card", f'"wiki.example.com/card" {NOT_A_WEB_LINK}'),
        ("https://", f'"https://" {NOT_A_WEB_LINK}'),
        ("https:///card", f'"https:///card" {NOT_A_WEB_LINK}'),
        ("https://[wiki.example.com/card", f'"https://[wiki.example.com/card" {NOT_A_WEB_LINK}'),
        ("<https://x.example.com>", f'"&lt;https://x.example.com&gt;" {NOT_A_WEB_LINK}'),
        ("https://wiki.example.com/model card", "A link cannot contain spaces."),
        ("https://wiki.example.com/card\tv2", "A link cannot contain spaces."),
        (" https://wiki.example.com/card", "A link cannot contain spaces."),
    ],
)
def test_links_that_are_not_web_links_are_refused_and_nothing_is_stored(
    session: Session, url: str, problem: str
) -> None:
    initiative = managed(session)
    with pytest.raises(InvalidInput) as invalid:
        attach(session, initiative, "model-card", url=url)
    assert problem_fields(invalid.value) == ["url"]
    assert describe(invalid.value) == problem
    assert count_rows(session, HandoffDoc) == 0


def test_a_link_over_the_limit_is_refused(session: Session) -> None:
    initiative = managed(session)
    url = "https://example.com/" + "a" * URL_MAX
    with pytest.raises(InvalidInput) as invalid:
        attach(session, initiative, "runbook", url=url)
    assert describe(invalid.value) == f"The link is {len(url)} characters long; the limit is {URL_MAX}."


def test_an_unknown_kind_is_refused_with_the_kinds(session: Session) -> None:
    initiative = managed(session)
    with pytest.raises(InvalidInput) as invalid:
        attach(session, initiative, "kpi")  # the KPI item takes a KPI, not a link
    assert problem_fields(invalid.value) == ["kind"]
    kinds = ", ".join(f"`{k}`" for k in ("ds-summary", "api-contract", *PRODUCTION_KEYS))
    assert describe(invalid.value) == f'"kpi" is not a doc kind. Kinds: {kinds}.'
    assert count_rows(session, HandoffDoc) == 0


def test_every_problem_with_a_doc_is_reported_at_once(session: Session) -> None:
    initiative = managed(session)
    with pytest.raises(InvalidInput) as invalid:
        add_doc(
            session=session,
            actor=actor(ALICE),
            initiative=initiative,
            kind="<b>",
            url="ftp://x",
            note="n" * (NOTE_MAX + 1),
            checklist=DEFAULTS,
            now=NOW,
        )
    assert problem_fields(invalid.value) == ["kind", "url", "note"]
    assert describe(invalid.value).startswith('"&lt;b&gt;" is not a doc kind.')  # the typed kind is escaped
    assert count_rows(session, HandoffDoc) == 0


def test_an_added_item_accepts_docs_of_its_kind(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    add_own_item(session, people, initiative, "fairness-review", gate=Phase.PRODUCTION)
    attach(session, initiative, "fairness-review")
    assert state_of(current(session, initiative), "fairness-review") is ItemState.SATISFIED


def test_the_same_link_twice_is_nothing_to_change(session: Session) -> None:
    initiative = managed(session)
    attach(session, initiative, "runbook", url="https://wiki.example.com/runbook")
    with pytest.raises(NothingToChange) as same:
        attach(session, initiative, "runbook", url="https://wiki.example.com/runbook", by=BOB)
    assert describe(same.value) == "That link is already the runbook doc of *Churn model*."
    assert count_rows(session, HandoffDoc) == 1
    # Another link of the same kind, or the same link for another kind, is a new doc.
    attach(session, initiative, "runbook", url="https://wiki.example.com/runbook-v2")
    attach(session, initiative, "monitoring-plan", url="https://wiki.example.com/runbook")
    assert count_rows(session, HandoffDoc) == 3


def test_a_removed_link_can_be_added_again(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    attach(session, initiative, "runbook", url="https://wiki.example.com/runbook")
    remove_doc(
        session=session, actor=actor(ALICE), initiative=initiative, kind="runbook", url=None, people=people, now=NOW
    )
    attach(session, initiative, "runbook", url="https://wiki.example.com/runbook")
    assert count_rows(session, HandoffDoc) == 2


def test_an_archived_initiative_takes_no_docs(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    doc = attach(session, initiative, "runbook")
    initiative.archived = True
    with pytest.raises(InvalidInput) as invalid:
        attach(session, initiative, "model-card")
    assert describe(invalid.value) == '"Churn model" is archived; its checklist is frozen.'
    with pytest.raises(InvalidInput):
        remove_doc(
            session=session, actor=actor(ALICE), initiative=initiative, kind="runbook", url=None, people=people, now=NOW
        )
    assert count_rows(session, HandoffDoc) == 1
    assert doc.removed_at is None


def take_off(
    session: Session,
    people: PeopleService,
    initiative: Initiative,
    kind: str,
    url: str | None = None,
    by: str = ALICE,
) -> HandoffDoc:
    return remove_doc(
        session=session, actor=actor(by), initiative=initiative, kind=kind, url=url, people=people, now=minutes(9)
    )


def test_whoever_added_a_doc_may_remove_it(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    attach(session, initiative, "runbook", by=DAVE)
    removed = take_off(session, people, initiative, "RUNBOOK", by=DAVE)
    session.commit()
    assert (removed.removed_by, removed.removed_at) == (DAVE, minutes(9))
    assert readiness_queries.docs_by_initiative(session=session, initiative_ids=[initiative.id or 0]) == {}


def test_a_stranger_cannot_remove_someone_elses_doc(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    doc = attach(session, initiative, "runbook", by=ALICE)
    with pytest.raises(NotAllowed) as refused:
        take_off(session, people, initiative, "runbook", by=DAVE)
    assert describe(refused.value) == (
        "Only the initiative's leads, embedded engineer, creator or a workspace admin can remove docs others added."
    )
    assert (doc.removed_by, doc.removed_at) == (None, None)


@pytest.mark.parametrize("manager", [BOB, CAROL, CREATOR, ADMIN])
def test_managers_and_admins_may_remove_anyones_doc(session: Session, people: PeopleService, manager: str) -> None:
    initiative = managed(session)
    attach(session, initiative, "runbook", by=DAVE)
    assert take_off(session, people, initiative, "runbook", by=manager).removed_by == manager


def test_removing_one_of_several_docs_of_a_kind_needs_its_link(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    first = attach(session, initiative, "runbook", url="https://wiki.example.com/a")
    second = attach(session, initiative, "runbook", url="https://wiki.example.com/b")
    with pytest.raises(InvalidInput) as invalid:
        take_off(session, people, initiative, "runbook")
    assert problem_fields(invalid.value) == ["url"]
    assert describe(invalid.value) == (
        "*Churn model* has 2 runbook docs (https://wiki.example.com/a, https://wiki.example.com/b); "
        "add the link to remove."
    )
    assert (first.removed_at, second.removed_at) == (None, None)
    assert take_off(session, people, initiative, "runbook", url="https://wiki.example.com/b") is second
    assert (first.removed_at, second.removed_at) == (None, minutes(9))


def test_removing_a_doc_that_is_not_there(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    with pytest.raises(InvalidInput) as none_at_all:
        take_off(session, people, initiative, "runbook")
    assert describe(none_at_all.value) == "*Churn model* has no runbook doc. `docs churn` lists them."
    attach(session, initiative, "runbook", url="https://wiki.example.com/a")
    with pytest.raises(InvalidInput) as wrong_link:
        take_off(session, people, initiative, "runbook", url="https://wiki.example.com/zzz")
    assert describe(wrong_link.value) == (
        "*Churn model* has no runbook doc with the link https://wiki.example.com/zzz. `docs churn` lists them."
    )


# --- the initiative's own checklist changes -----------------------------------------------------------------------


def test_an_added_item_defaults_to_the_next_gate(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    result = add_own_item(session, people, initiative, " Fairness-Review ", reason="  credit   decisions ")
    session.commit()
    assert (result.item.key, result.item.label, result.item.gate) == (
        "fairness-review",
        "Fairness review",
        Phase.DEVELOPMENT,
    )
    entry = result.entry
    assert (entry.initiative_id, entry.item_key, entry.action, entry.gate, entry.reason) == (
        initiative.id,
        "fairness-review",
        "add",
        "development",
        "credit decisions",
    )
    assert (entry.created_by, entry.created_at) == (ALICE, minutes(1))
    assert list(states(current(session, initiative), Phase.DEVELOPMENT)) == [*DEVELOPMENT_KEYS, "fairness-review"]


def test_an_added_item_in_development_defaults_to_production(session: Session, people: PeopleService) -> None:
    initiative = managed(session, phase=Phase.DEVELOPMENT)
    assert add_own_item(session, people, initiative, "load-test").item.gate is Phase.PRODUCTION


def test_past_the_last_gate_an_added_item_defaults_to_the_next_gated_phase(
    session: Session, people: PeopleService
) -> None:
    initiative = managed(session, phase=Phase.PRODUCTION)
    assert add_own_item(session, people, initiative, "retraining-plan").item.gate is Phase.MONITORING


@pytest.mark.parametrize("phase", [Phase.MONITORING, Phase.PAUSED])
def test_without_a_phase_ahead_the_gate_must_be_named(session: Session, people: PeopleService, phase: Phase) -> None:
    initiative = managed(session, phase=phase)
    with pytest.raises(InvalidInput) as invalid:
        add_own_item(session, people, initiative, "retraining-plan")
    assert problem_fields(invalid.value) == ["for"]
    assert describe(invalid.value) == (
        "Say which phase the item is needed for, e.g. `for:production` "
        "(research, summary, development, production, monitoring)."
    )
    assert count_rows(session, ChecklistEntry) == 0
    assert add_own_item(session, people, initiative, "retraining-plan", gate=Phase.PRODUCTION).item.gate is (
        Phase.PRODUCTION
    )


@pytest.mark.parametrize("phase", [Phase.DISCOVERY, Phase.PAUSED, Phase.CANCELLED])
def test_an_item_cannot_be_needed_for_an_ungated_phase(session: Session, people: PeopleService, phase: Phase) -> None:
    initiative = managed(session)
    with pytest.raises(InvalidInput) as invalid:
        add_own_item(session, people, initiative, "fairness-review", gate=phase)
    assert problem_fields(invalid.value) == ["for"]
    assert describe(invalid.value) == (
        f"`for:{phase.value}` is not a phase a checklist guards; "
        "use one of research, summary, development, production, monitoring."
    )
    assert count_rows(session, ChecklistEntry) == 0


@pytest.mark.parametrize("key", ["runbook", "KPI", "owners"])
def test_an_item_already_on_the_checklist_cannot_be_added(session: Session, people: PeopleService, key: str) -> None:
    initiative = managed(session)
    with pytest.raises(InvalidInput) as invalid:
        add_own_item(session, people, initiative, key)
    assert describe(invalid.value) == f"`{key.lower()}` is already on the checklist of *Churn model*."
    add_own_item(session, people, initiative, "fairness-review")
    with pytest.raises(InvalidInput) as again:
        add_own_item(session, people, initiative, "fairness-review", gate=Phase.PRODUCTION)
    assert describe(again.value) == "`fairness-review` is already on the checklist of *Churn model*."
    assert count_rows(session, ChecklistEntry) == 1


@pytest.mark.parametrize("key", ["x", "9lives", "fairness_review", "fairness review", "-x", "a" * 33, "fär"])
def test_an_item_key_must_be_a_short_slug(session: Session, people: PeopleService, key: str) -> None:
    initiative = managed(session)
    with pytest.raises(InvalidInput) as invalid:
        add_own_item(session, people, initiative, key)
    assert problem_fields(invalid.value) == ["item"]
    assert "cannot be an item key: use 2 to 32 lowercase letters, digits or hyphens." in describe(invalid.value)
    assert count_rows(session, ChecklistEntry) == 0


def test_adding_an_item_needs_a_reason(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    with pytest.raises(InvalidInput) as invalid:
        add_own_item(session, people, initiative, "fairness-review", reason="  ")
    assert problem_fields(invalid.value) == ["reason"]
    assert count_rows(session, ChecklistEntry) == 0


@pytest.mark.parametrize("stranger", [DAVE, ROBOT])
def test_only_managers_and_admins_change_the_checklist(session: Session, people: PeopleService, stranger: str) -> None:
    initiative = managed(session)
    with pytest.raises(NotAllowed) as refused:
        add_own_item(session, people, initiative, "fairness-review", by=stranger)
    assert describe(refused.value) == (
        "Only the initiative's leads, embedded engineer, creator or a workspace admin can change its checklist."
    )
    with pytest.raises(NotAllowed):
        waive(session, people, initiative, "runbook", by=stranger)
    assert count_rows(session, ChecklistEntry) == 0
    for manager in (CAROL, CREATOR, ADMIN):
        add_own_item(session, people, initiative, f"check-{manager.lower()}", by=manager)
    assert count_rows(session, ChecklistEntry) == 3


def test_the_checklist_of_an_archived_initiative_is_frozen(session: Session, people: PeopleService) -> None:
    initiative = managed(session, archived=True)
    for change in (
        lambda: add_own_item(session, people, initiative, "fairness-review"),
        lambda: waive(session, people, initiative, "runbook"),
        lambda: unwind(session, people, initiative, "runbook"),
    ):
        with pytest.raises(InvalidInput) as invalid:
            change()
        assert describe(invalid.value) == '"Churn model" is archived; its checklist is frozen.'


def test_waiving_records_who_when_and_why(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    result = waive(session, people, initiative, " Privacy-Review ", "aggregated   counts only", by=BOB)
    session.commit()
    assert (result.item.key, result.item.label) == ("privacy-review", "Data-privacy/PII review")
    entry = result.entry
    assert (entry.item_key, entry.action, entry.gate, entry.reason, entry.created_by, entry.created_at) == (
        "privacy-review",
        "waive",
        None,
        "aggregated counts only",
        BOB,
        minutes(1),
    )
    production = current(session, initiative).gate(Phase.PRODUCTION)
    assert production is not None
    status = next(s for s in production.items if s.item.key == "privacy-review")
    assert (status.state, status.waiver) == (ItemState.WAIVED, entry)


def test_waiving_an_unknown_item_lists_the_known_ones(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    add_own_item(session, people, initiative, "fairness-review", gate=Phase.PRODUCTION)
    with pytest.raises(UnknownItem) as unknown:
        waive(session, people, initiative, "model-cards")
    known = ", ".join(f"`{k}`" for k in [*DEVELOPMENT_KEYS, *PRODUCTION_KEYS, "fairness-review"])
    assert describe(unknown.value) == f'"model-cards" is not a checklist item here. Known: {known}.'
    assert unknown.value.key == "model-cards"
    assert count_rows(session, ChecklistEntry) == 1


def test_waiving_twice_is_nothing_to_change(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    waive(session, people, initiative, "runbook")
    with pytest.raises(NothingToChange) as again:
        waive(session, people, initiative, "runbook", "still not needed")
    assert describe(again.value) == "`runbook` is already waived for *Churn model*."
    assert count_rows(session, ChecklistEntry) == 1


@pytest.mark.parametrize("reason", ["", " \t "])
def test_waiving_needs_a_reason(session: Session, people: PeopleService, reason: str) -> None:
    initiative = managed(session)
    with pytest.raises(InvalidInput) as invalid:
        waive(session, people, initiative, "runbook", reason)
    assert problem_fields(invalid.value) == ["reason"]
    with pytest.raises(InvalidInput) as too_long:
        waive(session, people, initiative, "runbook", "r" * (NOTE_MAX + 1))
    assert describe(too_long.value) == f"The reason is {NOTE_MAX + 1} characters long; the limit is {NOTE_MAX}."
    assert count_rows(session, ChecklistEntry) == 0


def test_removing_an_entry_lifts_a_waiver(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    waive(session, people, initiative, "runbook")
    status = unwind(session, people, initiative, "RUNBOOK", by=CAROL)
    session.commit()
    assert (status.item.key, status.state) == ("runbook", ItemState.WAIVED)  # as it was before the change
    assert state_of(current(session, initiative), "runbook") is ItemState.MISSING
    assert count_rows(session, ChecklistEntry) == 0


def test_removing_an_entry_drops_an_added_item(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    add_own_item(session, people, initiative, "fairness-review")
    status = unwind(session, people, initiative, "fairness-review")
    assert status.added is not None
    readiness = current(session, initiative)
    assert list(states(readiness, Phase.DEVELOPMENT)) == DEVELOPMENT_KEYS
    assert count_rows(session, ChecklistEntry) == 0


def test_only_the_initiatives_own_changes_can_be_removed(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    with pytest.raises(UnknownItem) as none_yet:
        unwind(session, people, initiative, "runbook")
    assert describe(none_yet.value) == '"runbook" is not a waived or added item here. Known: none.'
    waive(session, people, initiative, "model-card")
    add_own_item(session, people, initiative, "fairness-review", gate=Phase.PRODUCTION)
    with pytest.raises(UnknownItem) as not_changed:
        unwind(session, people, initiative, "runbook")
    assert describe(not_changed.value) == (
        '"runbook" is not a waived or added item here. Known: `model-card`, `fairness-review`.'
    )
    assert count_rows(session, ChecklistEntry) == 2


def test_a_stranger_cannot_remove_an_entry(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    waive(session, people, initiative, "runbook")
    with pytest.raises(NotAllowed):
        unwind(session, people, initiative, "runbook", by=DAVE)
    assert state_of(current(session, initiative), "runbook") is ItemState.WAIVED
    assert unwind(session, people, initiative, "runbook", by=ADMIN).item.key == "runbook"


# --- KPIs ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "direction"),
    [
        (">=", KpiDirection.AT_LEAST),
        (" ≥ ", KpiDirection.AT_LEAST),
        ("<=", KpiDirection.AT_MOST),
        ("≤", KpiDirection.AT_MOST),
    ],
)
def test_directions(raw: str, direction: KpiDirection) -> None:
    assert parse_direction(raw) is direction


@pytest.mark.parametrize("raw", [">", "<", "=", "==", "=>", "at least", "higher", ""])
def test_other_directions_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as invalid:
        parse_direction(raw)
    assert problem_fields(invalid.value) == ["direction"]
    assert describe(invalid.value) == (
        f'"{escape(raw)}" is not a direction; use `>=` (higher is better) or `<=` (lower is better).'
    )


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("0.82", 0.82),
        ("82%", 82.0),
        (" -3.5 ", -3.5),
        ("1e3", 1000.0),
        ("120", 120.0),
        # A decimal comma, where it cannot be a thousands separator.
        ("0,85", 0.85),
        ("12,5", 12.5),
        ("-0,5", -0.5),
        ("0,850", 0.85),
        ("1,2345", 1.2345),
        ("97,5%", 97.5),
        # Thousands grouped with commas, unambiguous with a decimal point or several groups.
        ("1,234.5", 1234.5),
        ("12,345,678.25", 12345678.25),
        ("1,234,567", 1234567.0),
    ],
)
def test_numbers(raw: str, value: float) -> None:
    assert parse_number(raw, "target") == value


@pytest.mark.parametrize(("raw", "whole", "decimal"), [("1,234", "1234", "1.234"), ("-12,500", "-12500", "-12.500")])
def test_a_single_comma_before_three_digits_is_ambiguous_and_refused(raw: str, whole: str, decimal: str) -> None:
    with pytest.raises(InvalidInput) as invalid:
        parse_number(raw, "value")
    assert problem_fields(invalid.value) == ["value"]
    assert describe(invalid.value) == (
        f'"{raw}" could mean {whole} or {decimal}; type the value as `{whole}` or `{decimal}`.'
    )


@pytest.mark.parametrize("raw", ["1,23,456", "1.234,5", "12,34.5", "1,,5", ",5", "5,", "0,123,456"])
def test_commas_that_fit_neither_reading_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as invalid:
        parse_number(raw, "target")
    assert describe(invalid.value) == (
        f'"{raw}" is not a number I can read; type the target with a point for decimals and no thousands '
        "separators, like 1234.5 or 0.85."
    )


@pytest.mark.parametrize(
    "raw", ["abc", "nan", "NaN", "inf", "-inf", "infinity", "1e999", "", "%", "0.8.2", "1_000", "0x10"]
)
def test_what_is_not_a_finite_number_is_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as invalid:
        parse_number(raw, "value")
    assert problem_fields(invalid.value) == ["value"]
    assert describe(invalid.value) == f'"{raw}" is not a number; the value must be one, like 0.82 or 120.'


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (0.82, None, "0.82"),
        (120.0, "ms", "120 ms"),
        (97.5, "%", "97.5%"),
        (0.8234567891, None, "0.823457"),
        (-3.0, None, "-3"),
        (2_000_000.0, "users", "2000000 users"),
        (1_234_567.0, None, "1234567"),
        (-2_500_000.0, "EUR", "-2500000 EUR"),
        (0.00001, None, "1e-05"),
        (1e20, None, "1.000e+20"),
    ],
)
def test_values_are_shown_without_trailing_zeros_and_with_their_unit(
    value: float, unit: str | None, shown: str
) -> None:
    assert format_value(value, unit) == shown


def test_adding_a_kpi_stores_it_with_a_case_folded_key(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    kpi = add_kpi(
        session=session,
        actor=actor(CAROL),
        initiative=initiative,
        name="  P95   latency ",
        direction=KpiDirection.AT_MOST,
        target=120,
        unit=" ms ",
        owner_id=BOB,
        people=people,
        now=minutes(2),
    )
    session.commit()
    assert (kpi.initiative_id, kpi.name, kpi.name_key, kpi.direction, kpi.target, kpi.unit) == (
        initiative.id,
        "P95 latency",
        "p95 latency",
        "<=",
        120,
        "ms",
    )
    assert (kpi.owner_id, kpi.in_breach, kpi.created_by, kpi.created_at) == (BOB, False, CAROL, minutes(2))
    assert target_text(kpi) == "<= 120 ms"
    assert state_of(current(session, initiative), "kpi") is ItemState.SATISFIED


def test_a_kpi_name_is_unique_in_any_case(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    agree_kpi(session, people, initiative, name="AUC on holdout")
    with pytest.raises(InvalidInput) as invalid:
        agree_kpi(session, people, initiative, name="auc  ON holdout")
    assert problem_fields(invalid.value) == ["name"]
    assert describe(invalid.value) == '*Churn model* already has a KPI called "auc ON holdout".'
    assert count_rows(session, Kpi) == 1
    # Another initiative may use the same name.
    agree_kpi(session, people, managed(session, name="Fraud rules"), name="AUC on holdout")
    assert count_rows(session, Kpi) == 2


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("   ", 'The KPI needs a name, in quotes: e.g. `"AUC on holdout"`.'),
        ("n" * (KPI_NAME_MAX + 1), f"The name is {KPI_NAME_MAX + 1} characters long; the limit is {KPI_NAME_MAX}."),
    ],
)
def test_a_kpi_needs_a_name_of_sensible_length(
    session: Session, people: PeopleService, name: str, message: str
) -> None:
    initiative = managed(session)
    with pytest.raises(InvalidInput) as invalid:
        agree_kpi(session, people, initiative, name=name)
    assert describe(invalid.value) == message
    assert count_rows(session, Kpi) == 0


@pytest.mark.parametrize("unit", ["", "  ", "u" * (KPI_UNIT_MAX + 1)])
def test_a_unit_is_short_and_not_blank(session: Session, people: PeopleService, unit: str) -> None:
    initiative = managed(session)
    with pytest.raises(InvalidInput) as invalid:
        agree_kpi(session, people, initiative, unit=unit)
    assert problem_fields(invalid.value) == ["unit"]
    assert describe(invalid.value) == f"A unit is 1 to {KPI_UNIT_MAX} characters, like `%` or `ms`."
    assert count_rows(session, Kpi) == 0


@pytest.mark.parametrize(
    ("owner", "reason"),
    [
        (NOBODY, "is not a member of this workspace"),
        (ROBOT, "is a bot, not a person"),
        (GONE, "is deactivated"),
    ],
)
def test_a_kpi_owner_must_be_a_person_here(session: Session, people: PeopleService, owner: str, reason: str) -> None:
    initiative = managed(session)
    with pytest.raises(InvalidInput) as invalid:
        add_kpi(
            session=session,
            actor=actor(ALICE),
            initiative=initiative,
            name="AUC",
            direction=KpiDirection.AT_LEAST,
            target=0.8,
            unit=None,
            owner_id=owner,
            people=people,
            now=NOW,
        )
    assert problem_fields(invalid.value) == ["owner"]
    assert describe(invalid.value) == f"Owner: The user <@{owner}> {reason}."
    assert count_rows(session, Kpi) == 0


def test_only_managers_and_admins_agree_kpis(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    with pytest.raises(NotAllowed) as refused:
        add_kpi(
            session=session,
            actor=actor(DAVE),
            initiative=initiative,
            name="AUC",
            direction=KpiDirection.AT_LEAST,
            target=0.8,
            unit=None,
            owner_id=None,
            people=people,
            now=NOW,
        )
    assert describe(refused.value).endswith("can agree KPIs.")
    assert count_rows(session, Kpi) == 0


def test_an_archived_initiative_takes_no_kpis_or_readings(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    agree_kpi(session, people, initiative, name="AUC")
    initiative.archived = True
    with pytest.raises(InvalidInput) as invalid:
        agree_kpi(session, people, initiative, name="Recall")
    assert describe(invalid.value) == '"Churn model" is archived; its KPIs are frozen.'
    with pytest.raises(InvalidInput):
        read(session, initiative, "AUC", 0.9)
    assert (count_rows(session, Kpi), count_rows(session, KpiReading)) == (1, 0)


def read(session: Session, initiative: Initiative, name: str, value: float, at: int = 0, by: str = DAVE) -> Any:
    return record_reading(
        session=session, actor=actor(by), initiative=initiative, name=name, value=value, note=None, now=minutes(at)
    )


def test_a_reading_records_who_and_when(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    agree_kpi(session, people, initiative, name="AUC")
    result = record_reading(
        session=session,
        actor=actor(DAVE),
        initiative=initiative,
        name="auc",  # any case finds it
        value=0.83,
        note="weekly eval",
        now=minutes(7),
    )
    session.commit()
    reading = result.reading
    assert (reading.kpi_id, reading.value, reading.note, reading.recorded_by, reading.recorded_at) == (
        result.kpi.id,
        0.83,
        "weekly eval",
        DAVE,
        minutes(7),
    )
    assert (result.meets_target, result.alert, result.recovered) == (True, False, False)


def test_a_reading_on_target_meets_it(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    agree_kpi(session, people, initiative, name="AUC", target=0.8)
    agree_kpi(session, people, initiative, name="Latency", direction=KpiDirection.AT_MOST, target=120)
    assert read(session, initiative, "AUC", 0.8).meets_target is True
    assert read(session, initiative, "Latency", 120).meets_target is True


def test_a_first_reading_that_misses_raises_no_alert(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    agree_kpi(session, people, initiative, name="AUC", target=0.8)
    first = read(session, initiative, "AUC", 0.7)
    assert (first.meets_target, first.alert, first.recovered) == (False, False, False)
    # Nothing was met, so nothing was lost: a second miss is no news, and meeting the target is no recovery,
    # since the thread never heard of a breach. The next miss after that is one.
    second = read(session, initiative, "AUC", 0.6, at=1)
    assert (second.alert, second.recovered) == (False, False)
    third = read(session, initiative, "AUC", 0.85, at=2)
    assert (third.meets_target, third.alert, third.recovered) == (True, False, False)
    fourth = read(session, initiative, "AUC", 0.7, at=3)
    assert (fourth.meets_target, fourth.alert, fourth.recovered) == (False, True, False)


def test_one_alert_per_breach_and_a_recovery_when_it_ends(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    agree_kpi(session, people, initiative, name="AUC", target=0.8)
    outcomes = []
    for minute, value in enumerate([0.85, 0.75, 0.70, 0.79, 0.81, 0.82, 0.60]):
        result = read(session, initiative, "AUC", value, at=minute)
        # The KPI row is shared by every result, so its breach flag is taken as each reading leaves it.
        outcomes.append((result.meets_target, result.alert, result.recovered, result.kpi.in_breach))
    assert outcomes == [
        (True, False, False, False),
        (False, True, False, True),  # the breach starts: one alert
        (False, False, False, True),  # still in breach: no second alert
        (False, False, False, True),
        (True, False, True, False),  # recovered
        (True, False, False, False),
        (False, True, False, True),  # a new breach alerts again
    ]


def test_lower_is_better_kpis_alert_when_the_value_rises_past_the_target(
    session: Session, people: PeopleService
) -> None:
    initiative = managed(session)
    agree_kpi(session, people, initiative, name="P95 latency", direction=KpiDirection.AT_MOST, target=120, unit="ms")
    alerts = [
        (r.meets_target, r.alert, r.recovered)
        for r in (
            read(session, initiative, "P95 latency", 100, at=0),
            read(session, initiative, "P95 latency", 150, at=1),
            read(session, initiative, "P95 latency", 130, at=2),
            read(session, initiative, "P95 latency", 120, at=3),
        )
    ]
    assert alerts == [(True, False, False), (False, True, False), (False, False, False), (True, False, True)]


def test_breaches_of_one_kpi_do_not_touch_another(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    agree_kpi(session, people, initiative, name="AUC", target=0.8)
    agree_kpi(session, people, initiative, name="Recall", target=0.5)
    read(session, initiative, "AUC", 0.9)
    read(session, initiative, "Recall", 0.9)
    assert read(session, initiative, "AUC", 0.1, at=1).alert is True
    assert read(session, initiative, "Recall", 0.1, at=1).alert is True


def at_once(engine: Engine, first: Callable[[Session], T], second: Callable[[Session], T], writes: str) -> tuple[T, T]:
    """Run two writers whose transactions overlap, each in its own session, and commit them one after the other.

    One transaction writes at a time (SQLite's lock, or PostgreSQL's on the row), so the second writer runs on its
    own thread and waits on the first one's lock, as a second server process would. The first commits once the
    second is about to run its first statement starting with `writes` (`INSERT INTO kpi_reading`).
    """
    first_session, second_session = Session(engine, expire_on_commit=False), Session(engine, expire_on_commit=False)
    second_reached_its_write = threading.Event()
    outcome: dict[str, Any] = {}

    def note_second_write(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if threading.current_thread().name == "second-writer" and statement.startswith(f"{writes} "):
            second_reached_its_write.set()

    def write_second() -> None:
        try:
            outcome["second"] = second(second_session)
            second_session.commit()
        except Exception as error:  # handed to the main thread, which fails the test with it
            outcome["second"] = error

    event.listen(engine, "before_cursor_execute", note_second_write)
    try:
        first_result = first(first_session)
        worker = threading.Thread(target=write_second, name="second-writer")
        worker.start()
        assert second_reached_its_write.wait(timeout=5), "the second writer never tried to write"
        first_session.commit()
        worker.join(timeout=10)
        assert not worker.is_alive(), "the second writer is still waiting"
    finally:
        event.remove(engine, "before_cursor_execute", note_second_write)
        first_session.close()
        second_session.close()
    if isinstance(outcome["second"], Exception):
        raise outcome["second"]
    return first_result, outcome["second"]


def test_two_readings_recorded_at_once_raise_one_alert(engine: Engine, directory: StaticDirectory) -> None:
    with Session(engine, expire_on_commit=False) as setup:
        initiative = managed(setup)
        setup_people = PeopleService(session=setup, directory=directory, team_id=TEAM_ID, now=NOW)
        agree_kpi(setup, setup_people, initiative, name="AUC", target=0.8)
        read(setup, initiative, "AUC", 0.9)
        setup.commit()

    # Both readings miss the target after one that met it; each recorder saw the met reading as the latest.
    first, second = at_once(
        engine,
        lambda s: read(s, initiative, "AUC", 0.7, at=1, by=ALICE),
        lambda s: read(s, initiative, "AUC", 0.6, at=1, by=BOB),
        writes="INSERT INTO kpi_reading",
    )
    assert (first.meets_target, second.meets_target) == (False, False)
    assert [first.alert, second.alert] == [True, False]
    with Session(engine) as check:
        assert count_rows(check, KpiReading) == 3
        assert check.exec(select(Kpi)).one().in_breach is True


def test_recording_for_an_unknown_kpi_lists_the_known_ones(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    with pytest.raises(UnknownKpi) as none_yet:
        read(session, initiative, "AUC", 0.9)
    assert describe(none_yet.value) == (
        '*Churn model* has no KPI called "AUC". It has none yet: `kpi add churn "&lt;name&gt;" &gt;= &lt;target&gt;`.'
    )
    agree_kpi(session, people, initiative, name="AUC on holdout")
    agree_kpi(session, people, initiative, name="Recall")
    with pytest.raises(UnknownKpi) as unknown:
        read(session, initiative, "Precision", 0.9)
    assert describe(unknown.value) == (
        '*Churn model* has no KPI called "Precision". Its KPIs: "AUC on holdout", "Recall".'
    )
    assert count_rows(session, KpiReading) == 0


def test_a_kpi_is_found_by_exact_name_or_an_unambiguous_prefix_in_any_case(
    session: Session, people: PeopleService
) -> None:
    initiative = managed(session)
    agree_kpi(session, people, initiative, name="AUC")
    agree_kpi(session, people, initiative, name="AUC on holdout")
    agree_kpi(session, people, initiative, name="Recall at 10")
    # An exact name wins over the longer names it is a prefix of.
    assert read(session, initiative, "auc", 0.9).kpi.name == "AUC"
    assert read(session, initiative, "AUC ON", 0.9).kpi.name == "AUC on holdout"
    assert read(session, initiative, "rec", 0.9).kpi.name == "Recall at 10"
    agree_kpi(session, people, initiative, name="Recall at 5")
    with pytest.raises(AmbiguousKpi) as ambiguous:
        read(session, initiative, "recall at", 0.9)
    assert describe(ambiguous.value) == (
        '"recall at" matches more than one KPI of *Churn model*: "Recall at 10", "Recall at 5". Give more of the name.'
    )
    assert count_rows(session, KpiReading) == 3


def test_a_value_is_worded_against_its_target_by_the_kpis_direction(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    auc = agree_kpi(session, people, initiative, name="AUC", target=0.82)
    latency = agree_kpi(
        session, people, initiative, name="P95 latency", direction=KpiDirection.AT_MOST, target=120, unit="ms"
    )
    assert [(s.meets, s.phrase, s.short) for s in (standing(auc, 0.9), standing(auc, 0.8))] == [
        (True, "meets its 0.82 target", "on target"),
        (False, "is below its 0.82 target", "below target"),
    ]
    assert [(s.meets, s.phrase, s.short) for s in (standing(latency, 120), standing(latency, 150))] == [
        (True, "is within its 120 ms ceiling", "within its ceiling"),
        (False, "is above its 120 ms ceiling", "above its ceiling"),
    ]


def remove_latest(session: Session, people: PeopleService, initiative: Initiative, name: str, position: int = 1) -> Any:
    return remove_reading(
        session=session, actor=actor(ALICE), initiative=initiative, name=name, position=position, people=people
    )


def test_removing_the_reading_that_raised_an_alert_lets_the_next_breach_alert(
    session: Session, people: PeopleService
) -> None:
    initiative = managed(session)
    agree_kpi(session, people, initiative, name="AUC", target=0.8)
    read(session, initiative, "AUC", 0.85, at=0)
    assert read(session, initiative, "AUC", 0.085, at=1).alert is True  # a typo: 0.85 was meant

    removed = remove_latest(session, people, initiative, "AUC")

    assert (removed.reading.value, removed.latest.value, removed.kpi.in_breach) == (0.085, 0.85, False)
    assert removed.standing.meets is True
    # The breach the typo raised is over; a real one later is news again.
    real = read(session, initiative, "AUC", 0.7, at=2)
    assert (real.alert, real.kpi.in_breach) == (True, True)


def test_removing_a_reading_that_met_leaves_the_kpi_in_breach_when_the_latest_left_misses(
    session: Session, people: PeopleService
) -> None:
    initiative = managed(session)
    agree_kpi(session, people, initiative, name="AUC", target=0.8)
    for minute, value in enumerate([0.7, 0.9]):  # a first reading that missed raised no alert
        read(session, initiative, "AUC", value, at=minute)

    removed = remove_latest(session, people, initiative, "AUC")

    # The thread is told in the same post that the latest reading misses, so a reading that meets is a recovery
    # and another miss is no news.
    assert (removed.latest.value, removed.standing.meets, removed.kpi.in_breach) == (0.7, False, True)
    assert read(session, initiative, "AUC", 0.6, at=2).alert is False
    assert read(session, initiative, "AUC", 0.95, at=3).recovered is True


def test_removing_an_older_reading_counts_from_the_newest(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    agree_kpi(session, people, initiative, name="AUC", target=0.8)
    for minute, value in enumerate([0.81, 0.82, 0.83]):
        read(session, initiative, "AUC", value, at=minute)

    removed = remove_latest(session, people, initiative, "AUC", position=2)

    assert (removed.reading.value, removed.latest.value, removed.position) == (0.82, 0.83, 2)
    assert [r.value for r in session.exec(select(KpiReading).order_by(col(KpiReading.id))).all()] == [0.81, 0.83]
    with pytest.raises(InvalidInput) as invalid:
        remove_latest(session, people, initiative, "AUC", position=3)
    assert describe(invalid.value) == ("*AUC* has only 2 readings; `kpi list churn` numbers them, 1 for the newest.")
    remove_latest(session, people, initiative, "AUC")
    last = remove_latest(session, people, initiative, "AUC")
    assert (last.latest, last.standing, last.kpi.in_breach) == (None, None, False)


def test_editing_a_kpi_changes_its_terms_and_settles_its_breach_state(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    agree_kpi(session, people, initiative, name="AUC", target=0.8)
    read(session, initiative, "AUC", 0.85, at=0)

    edited = edit_kpi(
        session=session,
        actor=actor(BOB),
        initiative=initiative,
        name="auc",
        edit=KpiEdit(name="AUC on holdout", target=0.9, unit="%"),
        people=people,
    )

    kpi = edited.kpi
    assert (kpi.name, kpi.name_key, kpi.target, kpi.unit, kpi.direction) == (
        "AUC on holdout",
        "auc on holdout",
        0.9,
        "%",
        ">=",
    )
    assert (edited.before.name, edited.before.target_text, edited.latest.value) == ("AUC", ">= 0.8", 0.85)
    assert kpi.in_breach is True  # 0.85 misses the new target; the edit's post says so
    assert read(session, initiative, "AUC on", 0.95, at=1).recovered is True

    lowered = edit_kpi(
        session=session,
        actor=actor(BOB),
        initiative=initiative,
        name="AUC on holdout",
        edit=KpiEdit(direction=KpiDirection.AT_MOST, unit=CLEAR),
        people=people,
    )
    assert (lowered.kpi.direction, lowered.kpi.unit, lowered.kpi.in_breach) == ("<=", None, True)
    with pytest.raises(NothingToChange):
        edit_kpi(
            session=session,
            actor=actor(BOB),
            initiative=initiative,
            name="AUC on holdout",
            edit=KpiEdit(target=0.9),
            people=people,
        )


def test_a_kpi_edit_refuses_a_name_another_kpi_has(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    agree_kpi(session, people, initiative, name="AUC")
    agree_kpi(session, people, initiative, name="Recall")
    with pytest.raises(InvalidInput) as invalid:
        edit_kpi(
            session=session,
            actor=actor(ALICE),
            initiative=initiative,
            name="AUC",
            edit=KpiEdit(name="recall"),
            people=people,
        )
    assert describe(invalid.value) == '*Churn model* already has a KPI called "recall".'
    renamed = edit_kpi(
        session=session, actor=actor(ALICE), initiative=initiative, name="AUC", edit=KpiEdit(name="auc"), people=people
    )
    assert renamed.kpi.name == "auc"  # its own name in another case is no clash
    assert (renamed.restated, renamed.latest) == (False, None)  # the terms stand: the thread needs no restating


def test_a_kpis_owner_may_change_it_and_others_outside_the_initiative_may_not(
    session: Session, people: PeopleService
) -> None:
    initiative = managed(session)
    kpi = agree_kpi(session, people, initiative, name="AUC")
    kpi.owner_id = DAVE
    read(session, initiative, "AUC", 0.9)
    with pytest.raises(KpiNotAllowed) as refused:
        remove_reading(
            session=session, actor=actor(NOBODY), initiative=initiative, name="AUC", position=1, people=people
        )
    assert describe(refused.value) == (
        "Only the KPI's owner, the initiative's leads, embedded engineer, creator or a workspace admin can remove "
        "KPI readings."
    )
    assert refused.value.allowed_user_ids == [DAVE, ALICE, BOB, CAROL, CREATOR]
    assert (
        remove_reading(
            session=session, actor=actor(DAVE), initiative=initiative, name="AUC", position=1, people=people
        ).latest
        is None
    )

    removed = remove_kpi(session=session, actor=actor(DAVE), initiative=initiative, name="auc", people=people)
    assert (removed.kpi.name, removed.readings, removed.remaining) == ("AUC", 0, 0)
    assert (count_rows(session, Kpi), count_rows(session, KpiReading)) == (0, 0)


def test_removing_a_kpi_takes_its_readings_with_it(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    agree_kpi(session, people, initiative, name="AUC")
    agree_kpi(session, people, initiative, name="Recall")
    for minute in range(3):
        read(session, initiative, "AUC", 0.9, at=minute)
    read(session, initiative, "Recall", 0.9)
    removed = remove_kpi(session=session, actor=actor(ADMIN), initiative=initiative, name="AUC", people=people)
    assert (removed.readings, removed.remaining) == (3, 1)
    assert (count_rows(session, Kpi), count_rows(session, KpiReading)) == (1, 1)


def test_a_reading_note_over_the_limit_is_refused(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    agree_kpi(session, people, initiative, name="AUC")
    with pytest.raises(InvalidInput) as invalid:
        record_reading(
            session=session,
            actor=actor(ALICE),
            initiative=initiative,
            name="AUC",
            value=0.9,
            note="n" * (NOTE_MAX + 1),
            now=NOW,
        )
    assert problem_fields(invalid.value) == ["note"]
    assert count_rows(session, KpiReading) == 0


def test_a_kpi_without_readings_goes_stale_a_stale_period_after_it_was_agreed(
    session: Session, people: PeopleService
) -> None:
    initiative = managed(session)
    agree_kpi(session, people, initiative, name="AUC")
    fresh = kpi_views(session=session, initiative=initiative, now=NOW + timedelta(days=14, seconds=-1), stale_days=14)
    stale = kpi_views(session=session, initiative=initiative, now=NOW + timedelta(days=14), stale_days=14)
    assert [(v.stale, v.latest, v.meets_target) for v in fresh] == [(False, None, None)]
    assert [v.stale for v in stale] == [True]


def test_a_recent_reading_keeps_a_kpi_fresh(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    agree_kpi(session, people, initiative, name="AUC")
    read(session, initiative, "AUC", 0.9, at=10 * 24 * 60)  # ten days in
    day_20 = NOW + timedelta(days=20)
    assert [v.stale for v in kpi_views(session=session, initiative=initiative, now=day_20, stale_days=14)] == [False]
    day_24 = NOW + timedelta(days=24)
    assert [v.stale for v in kpi_views(session=session, initiative=initiative, now=day_24, stale_days=14)] == [True]


def test_is_stale_counts_from_the_last_reading_else_from_agreement() -> None:
    kpi = Kpi(initiative_id=1, name="AUC", name_key="auc", direction=">=", target=0.8, created_by=ALICE, created_at=NOW)
    assert is_stale(kpi, None, NOW + timedelta(days=3), 3) is True
    assert is_stale(kpi, NOW + timedelta(days=2), NOW + timedelta(days=3), 3) is False
    assert is_stale(kpi, NOW + timedelta(days=2), NOW + timedelta(days=5), 3) is True


def test_kpi_views_show_the_newest_readings_first_at_most_five(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    agree_kpi(session, people, initiative, name="AUC", target=0.8)
    agree_kpi(session, people, initiative, name="Recall", target=0.5)
    for minute, value in enumerate([0.81, 0.82, 0.83, 0.84, 0.85, 0.86, 0.79]):
        read(session, initiative, "AUC", value, at=minute)
    read(session, initiative, "Recall", 0.4, at=30)
    views = kpi_views(session=session, initiative=initiative, now=minutes(60), stale_days=14)
    assert [v.kpi.name for v in views] == ["AUC", "Recall"]
    auc, recall = views
    assert TREND_READINGS == 5
    assert [r.value for r in auc.readings] == [0.79, 0.86, 0.85, 0.84, 0.83]
    assert auc.latest is not None and auc.latest.value == 0.79
    assert (auc.meets_target, auc.stale) == (False, False)
    assert [r.value for r in recall.readings] == [0.4]


def test_readings_at_the_same_moment_are_ordered_by_when_they_were_recorded(
    session: Session, people: PeopleService
) -> None:
    initiative = managed(session)
    agree_kpi(session, people, initiative, name="AUC")
    for value in (0.1, 0.2, 0.3):
        read(session, initiative, "AUC", value, at=0)
    [view] = kpi_views(session=session, initiative=initiative, now=NOW, stale_days=14)
    assert [r.value for r in view.readings] == [0.3, 0.2, 0.1]


def test_kpi_views_for_many_initiatives_keep_them_apart(session: Session, people: PeopleService) -> None:
    churn, fraud, quiet = managed(session), managed(session, name="Fraud rules"), managed(session, name="Quiet one")
    agree_kpi(session, people, churn, name="AUC")
    agree_kpi(session, people, fraud, name="Precision")
    read(session, churn, "AUC", 0.9, at=1)
    read(session, churn, "AUC", 0.95, at=2)
    views = kpi_views_for(
        session=session,
        initiative_ids=[churn.id or 0, fraud.id or 0, quiet.id or 0],
        now=minutes(3),
        stale_days=14,
    )
    assert set(views) == {churn.id, fraud.id}
    assert [r.value for r in views[churn.id or 0][0].readings] == [0.95]  # one reading each by default
    assert views[fraud.id or 0][0].readings == ()
    assert kpi_views_for(session=session, initiative_ids=[], now=NOW, stale_days=14) == {}


# --- ideas ---------------------------------------------------------------------------------------------------------


def idea(session: Session, initiative: Initiative, text: str, at: int = 0, by: str = DAVE) -> Any:
    return log_idea(session=session, actor=actor(by), initiative=initiative, text=text, now=minutes(at))


def test_ideas_are_numbered_per_initiative(session: Session) -> None:
    churn = managed(session)
    fraud = managed(session, name="Fraud rules")
    first = idea(session, churn, "  Try   gradient boosting ")
    second = idea(session, churn, "Add tenure features", at=1)
    other = idea(session, fraud, "Velocity rules", at=2)
    session.commit()
    assert [first.ref, second.ref, other.ref] == ["churn#i1", "churn#i2", "fraud#i1"]
    assert (first.idea.text, first.idea.author_id, first.idea.created_at, first.idea.outcome) == (
        "Try gradient boosting",
        DAVE,
        NOW,
        None,
    )
    assert idea_reference(churn, second.idea) == "churn#i2"


def test_numbers_are_not_reused_by_another_initiative_logging_in_between(session: Session) -> None:
    churn = managed(session)
    fraud = managed(session, name="Fraud rules")
    idea(session, churn, "one")
    idea(session, fraud, "one")
    assert idea(session, churn, "two").ref == "churn#i2"


def test_a_number_taken_at_the_same_moment_moves_the_idea_to_the_next(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    churn = managed(session)
    idea(session, churn, "first")
    real_next = idea_service.next_number
    stale_answers = iter([1])  # as if another idea took number 1 after this one looked

    def next_number(*, session: Session, model: Numbered, initiative_id: int) -> int:
        return next(stale_answers, None) or real_next(session=session, model=model, initiative_id=initiative_id)

    monkeypatch.setattr(idea_service, "next_number", next_number)
    second = idea(session, churn, "second", at=1)
    session.commit()
    assert second.ref == "churn#i2"
    assert [i.text for i in list_ideas(session=session, initiative=churn).ideas] == ["second", "first"]


def test_two_ideas_logged_at_once_get_consecutive_numbers(engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as setup:
        churn = managed(setup)
        idea(setup, churn, "first")
        setup.commit()

    # The second logger waits on the first one's lock on the initiative, then numbers after it.
    first, second = at_once(
        engine,
        lambda s: idea(s, churn, "second", at=1, by=ALICE),
        lambda s: idea(s, churn, "third", at=1, by=BOB),
        writes="UPDATE initiative",  # numbering locks the initiative first
    )
    assert (first.ref, second.ref) == ("churn#i2", "churn#i3")
    with Session(engine) as check:
        listed = list_ideas(session=check, initiative=churn)
        assert [(i.number, i.text) for i in listed.ideas] == [(3, "third"), (2, "second"), (1, "first")]


def test_a_duplicate_idea_number_is_refused_by_the_database(session: Session) -> None:
    churn = managed(session)
    idea(session, churn, "first")
    with pytest.raises(IntegrityError):
        idea_queries.add_idea(
            session=session,
            idea=Idea(initiative_id=churn.id or 0, number=1, text="again", author_id=DAVE, created_at=NOW),
        )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("   ", 'Say what the idea is, in quotes: `idea churn "Try gradient boosting"`.'),
        ("i" * (IDEA_MAX + 1), f"The idea is {IDEA_MAX + 1} characters long; the limit is {IDEA_MAX}."),
    ],
)
def test_an_idea_needs_text_of_sensible_length(session: Session, text: str, message: str) -> None:
    churn = managed(session)
    with pytest.raises(InvalidInput) as invalid:
        idea(session, churn, text)
    assert describe(invalid.value) == message
    assert count_rows(session, Idea) == 0


def test_an_archived_initiative_logs_no_ideas(session: Session) -> None:
    churn = managed(session, archived=True)
    with pytest.raises(InvalidInput) as invalid:
        idea(session, churn, "Try boosting")
    assert describe(invalid.value) == '"Churn model" is archived; its log is frozen.'


def test_an_idea_is_found_by_its_reference_in_any_case(session: Session) -> None:
    churn = managed(session)
    idea(session, churn, "first")
    logged = idea(session, churn, "second")
    for reference in ("churn#i2", " CHURN#I2 ", "Churn model#i2"):
        located = locate_idea(session=session, team_id=TEAM_ID, reference=reference)
        assert (located.initiative.id, located.idea.id, located.ref) == (churn.id, logged.idea.id, "churn#i2")


@pytest.mark.parametrize("reference", ["churn", "churn#2", "churn#i", "churn#ix", "#i1", "churn#i1234567"])
def test_a_malformed_idea_reference_says_what_one_looks_like(session: Session, reference: str) -> None:
    churn = managed(session)
    idea(session, churn, "first")
    with pytest.raises(UnknownIdea) as unknown:
        locate_idea(session=session, team_id=TEAM_ID, reference=reference)
    assert describe(unknown.value) == (
        f'No idea "{reference}". An idea reference looks like `churn#i2`; `ideas churn` lists them.'
    )


def test_an_idea_number_that_does_not_exist(session: Session) -> None:
    churn = managed(session)
    idea(session, churn, "first")
    with pytest.raises(UnknownIdea) as unknown:
        locate_idea(session=session, team_id=TEAM_ID, reference="churn#i9")
    assert describe(unknown.value) == 'No idea "churn#i9". `ideas churn` lists the ideas of Churn model.'


def test_an_idea_of_an_unknown_initiative_or_of_another_workspace(session: Session) -> None:
    churn = managed(session)
    idea(session, churn, "first")
    with pytest.raises(UnknownInitiative):
        locate_idea(session=session, team_id=TEAM_ID, reference="fraud#i1")
    with pytest.raises(UnknownInitiative):
        locate_idea(session=session, team_id=OTHER_TEAM, reference="churn#i1")


@pytest.mark.parametrize(
    ("raw", "outcome"),
    [("worked", IdeaOutcome.WORKED), (" FAILED ", IdeaOutcome.FAILED), ("Dropped", IdeaOutcome.DROPPED)],
)
def test_outcomes(raw: str, outcome: IdeaOutcome) -> None:
    assert parse_outcome(raw) is outcome


@pytest.mark.parametrize("raw", ["maybe", "work", "", "succeeded"])
def test_other_outcomes_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as invalid:
        parse_outcome(raw)
    assert problem_fields(invalid.value) == ["outcome"]
    assert describe(invalid.value) == f'"{raw}" is not an outcome; use `worked`, `failed`, `dropped`.'


def test_recording_an_outcome_says_who_when_and_replaces_an_earlier_one(session: Session) -> None:
    churn = managed(session)
    idea(session, churn, "Try gradient boosting")
    located = record_outcome(
        session=session,
        actor=actor(BOB),
        reference="churn#i1",
        outcome=IdeaOutcome.WORKED,
        note="  +3 points   AUC ",
        now=minutes(10),
    )
    session.commit()
    stored = located.idea
    assert (stored.outcome, stored.outcome_note, stored.outcome_by, stored.outcome_at) == (
        "worked",
        "+3 points AUC",
        BOB,
        minutes(10),
    )
    for outcome in (IdeaOutcome.FAILED, IdeaOutcome.DROPPED):
        record_outcome(session=session, actor=actor(CAROL), reference="churn#i1", outcome=outcome, note=None, now=NOW)
        session.commit()
        session.expire_all()
        again = idea_queries.get_idea(session=session, initiative_id=churn.id or 0, number=1)
        assert again is not None
        assert (again.outcome, again.outcome_note, again.outcome_by) == (outcome.value, None, CAROL)


def test_an_outcome_for_an_unknown_idea_or_with_a_long_note_writes_nothing(session: Session) -> None:
    churn = managed(session)
    logged = idea(session, churn, "Try gradient boosting")
    with pytest.raises(UnknownIdea):
        record_outcome(
            session=session, actor=actor(BOB), reference="churn#i2", outcome=IdeaOutcome.WORKED, note=None, now=NOW
        )
    with pytest.raises(InvalidInput) as invalid:
        record_outcome(
            session=session,
            actor=actor(BOB),
            reference="churn#i1",
            outcome=IdeaOutcome.WORKED,
            note="n" * (NOTE_MAX + 1),
            now=NOW,
        )
    assert problem_fields(invalid.value) == ["note"]
    assert logged.idea.outcome is None


def test_ideas_are_listed_newest_first_with_the_total(session: Session) -> None:
    churn = managed(session)
    for n in range(LISTED + 2):
        idea(session, churn, f"idea {n + 1}", at=n)
    listed = list_ideas(session=session, initiative=churn)
    assert listed.total == LISTED + 2
    assert [i.number for i in listed.ideas] == list(range(LISTED + 2, 2, -1))
    assert list_ideas(session=session, initiative=managed(session, name="Fraud rules")).total == 0


@pytest.fixture
def logged_ideas(session: Session) -> dict[str, str]:
    """Ideas in two initiatives of the workspace and one of another workspace, by reference."""
    churn = managed(session)
    fraud = managed(session, name="Fraud rules")
    elsewhere = managed(session, name="Churn elsewhere", team_id=OTHER_TEAM)
    texts = {
        "churn#i1": (churn, "Try gradient boosting on tenure features"),
        "churn#i2": (churn, "Calibrate the churn score with isotonic regression"),
        "fraud#i1": (fraud, "Gradient Boosting for card fraud"),
        "fraud#i2": (fraud, "Raise the alert threshold to 50%"),
        "fraud#i3": (fraud, "Cap at 500 alerts per day"),
        "fraud#i4": (fraud, "Use merchant_id as a feature"),
        "fraud#i5": (fraud, "Use merchant id buckets"),
    }
    for minute, (initiative, text) in enumerate(texts.values()):
        idea(session, initiative, text, at=minute)
    idea(session, elsewhere, "Gradient boosting, the other workspace's", at=99)
    session.commit()
    return {ref: text for ref, (_, text) in texts.items()}


def found(session: Session, text: str, team_id: str = TEAM_ID) -> list[str]:
    return [located.ref for located in search_ideas(session=session, team_id=team_id, text=text).found]


@pytest.mark.usefixtures("logged_ideas")
def test_search_finds_ideas_across_the_workspaces_initiatives_newest_first(session: Session) -> None:
    assert found(session, "gradient boosting") == ["fraud#i1", "churn#i1"]
    assert found(session, "gradient boosting", team_id=OTHER_TEAM) == ["churn#i1"]
    result = search_ideas(session=session, team_id=OTHER_TEAM, text="gradient")
    assert result.found[0].initiative.name == "Churn elsewhere"


@pytest.mark.usefixtures("logged_ideas")
def test_search_needs_every_word_in_any_case(session: Session) -> None:
    assert found(session, "BOOSTING tenure") == ["churn#i1"]
    assert found(session, "boosting isotonic") == []
    assert found(session, "CHURN score") == ["churn#i2"]
    assert search_ideas(session=session, team_id=TEAM_ID, text="  churn   score ").words == ["churn", "score"]


@pytest.mark.usefixtures("logged_ideas")
def test_search_treats_percent_and_underscore_literally(session: Session) -> None:
    assert found(session, "50%") == ["fraud#i2"]
    assert found(session, "5%0") == []  # would match "500" if % were a wildcard
    assert found(session, "merchant_id") == ["fraud#i4"]
    assert found(session, "t_reshold") == []  # would match "threshold" if _ were a wildcard


@pytest.mark.usefixtures("logged_ideas")
def test_search_covers_outcome_notes(session: Session) -> None:
    record_outcome(
        session=session,
        actor=actor(BOB),
        reference="churn#i2",
        outcome=IdeaOutcome.FAILED,
        note="Overfit on the December cohort",
        now=minutes(50),
    )
    assert found(session, "december") == ["churn#i2"]
    assert found(session, "isotonic overfit") == ["churn#i2"]


@pytest.mark.usefixtures("logged_ideas")
def test_search_folds_case_beyond_ascii(session: Session) -> None:
    churn = locate_idea(session=session, team_id=TEAM_ID, reference="churn#i1").initiative
    idea(session, churn, "Straße-level features", at=60)
    assert found(session, "STRAßE") == ["churn#i3"]
    assert found(session, "straße") == ["churn#i3"]


@pytest.mark.parametrize("text", ["", "   ", "a", "a b %"])
def test_search_needs_a_word_of_two_letters(session: Session, text: str) -> None:
    with pytest.raises(InvalidInput) as invalid:
        search_ideas(session=session, team_id=TEAM_ID, text=text)
    assert problem_fields(invalid.value) == ["words"]
    assert describe(invalid.value) == "Give at least one word of two letters or more: `ideas search boosting`."


# --- storage -------------------------------------------------------------------------------------------------------


def stored_doc(initiative: Initiative, kind: str, at: int, removed: bool = False) -> HandoffDoc:
    return HandoffDoc(
        initiative_id=initiative.id or 0,
        kind=kind,
        url=f"https://docs.example.com/{kind}/{at}",
        added_by=ALICE,
        added_at=minutes(at),
        removed_by=ALICE if removed else None,
        removed_at=minutes(at + 1) if removed else None,
    )


def test_docs_in_force_are_read_oldest_first_per_initiative(session: Session) -> None:
    churn, fraud = managed(session), managed(session, name="Fraud rules")
    for doc in (
        stored_doc(churn, "runbook", at=5),
        stored_doc(churn, "model-card", at=1),
        stored_doc(churn, "dependencies", at=2, removed=True),
        stored_doc(fraud, "runbook", at=3),
    ):
        readiness_queries.add_doc(session=session, doc=doc)
    found = readiness_queries.docs_by_initiative(session=session, initiative_ids=[churn.id or 0, fraud.id or 0])
    assert {k: [d.kind for d in v] for k, v in found.items()} == {
        churn.id: ["model-card", "runbook"],
        fraud.id: ["runbook"],
    }
    assert readiness_queries.docs_by_initiative(session=session, initiative_ids=[]) == {}
    in_force = readiness_queries.list_docs_of_kind(session=session, initiative_id=churn.id or 0, kind="dependencies")
    assert list(in_force) == []


def test_checklist_entries_are_unique_per_item_and_action(session: Session) -> None:
    churn = managed(session)

    def entry(key: str, action: ChecklistEntryAction) -> ChecklistEntry:
        return ChecklistEntry(
            initiative_id=churn.id or 0,
            item_key=key,
            action=action.value,
            reason="why",
            created_by=ALICE,
            created_at=NOW,
        )

    readiness_queries.add_entry(session=session, entry=entry("sla", ChecklistEntryAction.ADD))
    readiness_queries.add_entry(session=session, entry=entry("sla", ChecklistEntryAction.WAIVE))
    session.commit()
    with pytest.raises(IntegrityError):
        readiness_queries.add_entry(session=session, entry=entry("sla", ChecklistEntryAction.WAIVE))
    session.rollback()
    waiver = readiness_queries.get_entry(
        session=session, initiative_id=churn.id or 0, item_key="sla", action=ChecklistEntryAction.WAIVE.value
    )
    assert waiver is not None and waiver.action == "waive"
    # Removing an item's entries takes both its addition and its waiver.
    assert readiness_queries.delete_entries(session=session, initiative_id=churn.id or 0, item_key="sla") == 2
    assert readiness_queries.delete_entries(session=session, initiative_id=churn.id or 0, item_key="sla") == 0
    assert readiness_queries.entries_by_initiative(session=session, initiative_ids=[churn.id or 0]) == {}


def test_latest_forced_change_per_initiative(session: Session) -> None:
    churn, fraud = managed(session), managed(session, name="Fraud rules")
    for at, to_phase, forced in ((1, "development", True), (2, "production", True), (3, "monitoring", False)):
        session.add(
            PhaseChange(
                initiative_id=churn.id or 0,
                from_phase=None,
                to_phase=to_phase,
                changed_by=ALICE,
                changed_at=minutes(at),
                forced=forced,
            )
        )
    session.commit()
    latest = readiness_queries.latest_forced_changes(session=session, initiative_ids=[churn.id or 0, fraud.id or 0])
    assert {k: v.to_phase for k, v in latest.items()} == {churn.id: "production"}
    assert readiness_queries.latest_forced_changes(session=session, initiative_ids=[]) == {}


def test_set_breach_flips_once_per_change(session: Session, people: PeopleService) -> None:
    churn = managed(session)
    kpi = agree_kpi(session, people, churn, name="AUC")
    assert kpi_queries.set_breach(session=session, kpi_id=kpi.id or 0, in_breach=False) is False
    assert kpi_queries.set_breach(session=session, kpi_id=kpi.id or 0, in_breach=True) is True
    assert kpi_queries.set_breach(session=session, kpi_id=kpi.id or 0, in_breach=True) is False
    assert kpi_queries.set_breach(session=session, kpi_id=kpi.id or 0, in_breach=False) is True


def test_kpi_names_are_read_per_initiative_in_agreed_order(session: Session, people: PeopleService) -> None:
    churn, fraud = managed(session), managed(session, name="Fraud rules")
    agree_kpi(session, people, churn, name="Recall")
    agree_kpi(session, people, fraud, name="Precision")
    agree_kpi(session, people, churn, name="AUC")
    assert kpi_queries.kpi_names_by_initiative(session=session, initiative_ids=[churn.id or 0, fraud.id or 0]) == {
        churn.id: ["Recall", "AUC"],
        fraud.id: ["Precision"],
    }
    assert kpi_queries.kpi_names_by_initiative(session=session, initiative_ids=[]) == {}
    assert kpi_queries.name_key("  AUC   on Holdout ") == "auc on holdout"


def test_a_kpi_name_key_is_unique_per_initiative_in_the_database(session: Session, people: PeopleService) -> None:
    churn = managed(session)
    agree_kpi(session, people, churn, name="AUC")
    with pytest.raises(IntegrityError):
        kpi_queries.save_kpi(
            session=session,
            kpi=Kpi(
                initiative_id=churn.id or 0,
                name="auc",
                name_key="",
                direction=">=",
                target=1,
                created_by=ALICE,
                created_at=NOW,
            ),
        )


def test_deleting_an_initiative_deletes_its_readiness_rows(session: Session, people: PeopleService) -> None:
    churn = managed(session)
    attach(session, churn, "runbook")
    waive(session, people, churn, "model-card")
    agree_kpi(session, people, churn, name="AUC")
    read(session, churn, "AUC", 0.9)
    idea(session, churn, "Try boosting")
    session.commit()
    session.delete(churn)
    session.commit()
    assert [count_rows(session, m) for m in (HandoffDoc, ChecklistEntry, Kpi, KpiReading, Idea)] == [0, 0, 0, 0, 0]


def test_gated_phases_are_the_main_line_after_discovery() -> None:
    assert GATED_PHASES == (Phase.RESEARCH, Phase.SUMMARY, Phase.DEVELOPMENT, Phase.PRODUCTION, Phase.MONITORING)
