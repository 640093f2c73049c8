"""An overview's readiness (the gates passed and the next one) says exactly what the whole checklist says of them."""

from __future__ import annotations

import itertools

import pytest

from bot.blocks.readiness import outstanding_line, readiness_line
from bot.checklist import DEFAULT_ITEMS, Checklist, ChecklistItem, ItemType
from bot.readiness import InitiativeFacts, evaluate, overview_readiness
from storage.models import Phase
from storage.page_facts import DocFact, EntryFact, ForcedFact
from tests.support.workspace import ALICE, BOB, NOW

# The defaults guard development and production; this one also guards research, summary and monitoring, with an
# owners item early and a KPI late, so every gate can be the next one.
EVERY_GATE = Checklist(
    items=(
        ChecklistItem(key="problem-statement", label="Problem statement", gate=Phase.RESEARCH),
        ChecklistItem(key="owners", label="Owners", gate=Phase.RESEARCH, type=ItemType.OWNERS),
        ChecklistItem(key="ds-summary", label="DS summary", gate=Phase.SUMMARY),
        *DEFAULT_ITEMS,
        ChecklistItem(key="kpi-review", label="KPI review", gate=Phase.MONITORING, type=ItemType.KPI),
        ChecklistItem(key="handover", label="Handover", gate=Phase.MONITORING),
    )
)


def doc(kind: str) -> DocFact:
    return DocFact(kind, f"https://docs.example.com/{kind}", None, ALICE, NOW)


def entry(key: str, action: str, gate: Phase | None = None) -> EntryFact:
    return EntryFact(key, action, gate.value if gate else None, "because", ALICE, NOW)


DOCS = ([], [doc("ds-summary"), doc("model-card")], [doc(k) for k in ("problem-statement", "api-contract", "runbook")])
ENTRIES = (
    [],
    [entry("api-contract", "waive"), entry("fairness-review", "add", Phase.PRODUCTION)],
    [entry("ethics-review", "add", Phase.RESEARCH), entry("handover", "waive"), entry("late-check", "add")],
    [entry("summary-signoff", "add", Phase.SUMMARY), entry("post-launch", "add", Phase.MONITORING)],
)
LEADS = ((None, None), (ALICE, BOB))
KPIS = ((), ("AUC",))


@pytest.mark.parametrize("checklist", [Checklist(), EVERY_GATE], ids=["defaults", "every-gate"])
@pytest.mark.parametrize("phase", list(Phase))
def test_an_overview_shows_what_the_whole_checklist_shows(checklist: Checklist, phase: Phase) -> None:
    forced = ForcedFact(BOB, "pilot", "model-card, runbook, ethics-review")
    for docs, entries, (ds, eng), kpis in itertools.product(DOCS, ENTRIES, LEADS, KPIS):
        facts = InitiativeFacts(1, phase, ds, eng, docs=docs, entries=entries, kpi_names=kpis)
        whole, overview = evaluate(checklist, facts), overview_readiness(checklist, facts)
        assert overview.gates == whole.gates[: len(overview.gates)]
        assert overview.next_gate() == whole.next_gate()
        assert overview.passed_gates() == whole.passed_gates()
        assert overview.outstanding() == whole.outstanding()
        assert overview.shown() == whole.shown()
        assert readiness_line(overview) == readiness_line(whole)
        assert outstanding_line(overview, forced) == outstanding_line(whole, forced)
        assert outstanding_line(overview, None) == outstanding_line(whole, None)


def test_an_overview_leaves_out_the_gates_beyond_the_next_one() -> None:
    facts = InitiativeFacts(1, Phase.DISCOVERY, None, None)
    assert [g.gate for g in overview_readiness(EVERY_GATE, facts).gates] == [Phase.RESEARCH]
    assert len(evaluate(EVERY_GATE, facts).gates) == 5
    paused = InitiativeFacts(1, Phase.PAUSED, None, None)
    assert overview_readiness(EVERY_GATE, paused).gates == ()
