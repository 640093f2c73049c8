"""A status page costs the same few statements whatever it shows, and shows what was written a moment ago."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.blocks.status import render_status_page
from bot.status import InitiativeCard, ScopeKind, StatusPage, StatusScope, status_page
from storage.initiatives import CARD_COLUMNS
from storage.models import (
    ChecklistEntry,
    Checkpoint,
    HandoffDoc,
    JiraPush,
    JiraSyncState,
    Kpi,
    KpiReading,
    PhaseChange,
)
from storage.page_facts import CardFact
from tests.support.databases import statements
from tests.support.factories import checkpoint_row, seed_initiatives
from tests.support.slack_driver import TEAM_ID
from tests.support.workspace import ALICE, GENERAL, NOW

PAGE_STATEMENTS = 1  # the cards, their count and everything else the page shows of them


def enrich(session: Session, initiative_id: int, *, checkpoints: int, readings: int) -> None:
    """Every feature a card shows: checkpoints (one linked to Jira, with a push waiting), docs, entries, a KPI with
    readings and a forced phase change."""
    for number in range(1, checkpoints + 1):
        session.add(
            checkpoint_row(
                initiative_id, number, due_date=(NOW + timedelta(days=number - 2)).date(), jira_key=f"DS-{number}"
            )
        )
    session.add(
        HandoffDoc(initiative_id=initiative_id, kind="ds-summary", url="https://d", added_by=ALICE, added_at=NOW)
    )
    session.add(
        ChecklistEntry(
            initiative_id=initiative_id,
            item_key="api-contract",
            action="waive",
            reason="batch only",
            created_by=ALICE,
            created_at=NOW,
        )
    )
    kpi = Kpi(
        initiative_id=initiative_id,
        name="AUC",
        name_key="auc",
        direction=">=",
        target=0.8,
        created_by=ALICE,
        created_at=NOW - timedelta(days=30),
    )
    session.add(kpi)
    session.add(
        PhaseChange(
            initiative_id=initiative_id,
            from_phase="discovery",
            to_phase="development",
            changed_by=ALICE,
            changed_at=NOW - timedelta(days=1),
            note="pilot",
            forced=True,
            forced_items="model-card",
        )
    )
    session.flush()
    for n in range(readings):
        session.add(
            KpiReading(kpi_id=kpi.id or 0, value=0.7 + n / 100, recorded_by=ALICE, recorded_at=NOW - timedelta(days=n))
        )
    session.flush()
    first = session.exec(select(Checkpoint).where(Checkpoint.initiative_id == initiative_id)).first()
    assert first is not None and first.id is not None
    session.add(
        JiraPush(
            team_id=TEAM_ID,
            checkpoint_id=first.id,
            issue_key="DS-1",
            action="done",
            actor_id=ALICE,
            next_attempt_at=NOW,
            created_at=NOW,
        )
    )


def read_page(engine: Engine, kind: ScopeKind) -> tuple[StatusPage, int]:
    with statements(engine) as sent, Session(engine) as session:
        scope = StatusScope(kind, GENERAL if kind is ScopeKind.CHANNEL else None)
        page = status_page(db=session, team_id=TEAM_ID, scope=scope, page=1, now=NOW)
    return page, len(sent)


def seed(engine: Engine, count: int, *, checkpoints: int, readings: int, first_id: int = 1) -> None:
    seed_initiatives(engine, count, phase="production")
    with Session(engine) as session:
        for initiative_id in range(first_id, first_id + count):
            enrich(session, initiative_id, checkpoints=checkpoints, readings=readings)
        if first_id == 1:
            session.add(JiraSyncState(name="default", last_success_at=NOW - timedelta(minutes=5)))
        session.commit()


def test_a_page_reads_in_the_same_few_statements_however_much_it_shows(engine: Engine) -> None:
    seed(engine, 1, checkpoints=1, readings=1)
    for kind in ScopeKind:
        page, sent = read_page(engine, kind)
        assert sent == PAGE_STATEMENTS, kind
        assert page.items[0].progress.total == 1

    seed(
        engine, 14, checkpoints=6, readings=12, first_id=2
    )  # 15 initiatives: a full page, each with more of everything
    for kind in ScopeKind:
        page, sent = read_page(engine, kind)
        assert sent == PAGE_STATEMENTS, kind
        assert len(page.items) == 15
        assert [s.progress.total for s in page.items[1:]] == [6] * 14


def test_the_page_shows_every_feature_read_in_that_one_statement(engine: Engine) -> None:
    seed(engine, 1, checkpoints=3, readings=2)
    page, _ = read_page(engine, ScopeKind.CHANNEL)
    summary = page.items[0]
    assert (summary.progress.total, summary.progress.done, summary.progress.overdue) == (3, 0, 1)
    assert summary.progress.next_due == NOW.date()
    assert [(v.kpi.name, v.latest.value if v.latest else None, v.stale) for v in summary.kpis] == [("AUC", 0.7, False)]
    assert summary.forced is not None and summary.forced.note == "pilot"
    assert summary.readiness is not None
    statuses = {s.item.key: s for gate in summary.readiness.gates for s in gate.items}
    assert [(d.url, d.added_at) for d in statuses["ds-summary"].docs] == [("https://d", NOW)]  # aware, in UTC
    waiver = statuses["api-contract"].waiver
    assert waiver is not None and (waiver.reason, waiver.created_at) == ("batch only", NOW)
    assert page.jira is not None and page.jira.pending_pushes == 1
    assert page.jira.last_success_at == NOW - timedelta(minutes=5)
    text = render_status_page(page, jira_url="https://jira.example.com").blocks[1]["text"]["text"]
    assert "Checkpoints 0/3 done · next due" in text and ":red_circle: 1 overdue" in text
    assert "Forced past the checklist by <@" in text and ": pilot · still missing: Model card" in text
    assert "KPIs: AUC 0.7 (&gt;= 0.8) :red_circle:" in text


def test_a_change_made_a_moment_ago_shows_on_the_next_page(engine: Engine) -> None:
    seed(engine, 1, checkpoints=1, readings=1)
    with Session(engine) as session:
        kpi = session.exec(select(Kpi)).one()
        session.add(KpiReading(kpi_id=kpi.id or 0, value=0.9, recorded_by=ALICE, recorded_at=NOW))
        session.commit()
    page, _ = read_page(engine, ScopeKind.CHANNEL)
    text = render_status_page(page, jira_url=None).blocks[1]["text"]["text"]
    assert "KPIs: AUC 0.9 (&gt;= 0.8)\n" in text + "\n"  # the newest reading, on target
    with Session(engine) as session:
        session.add(HandoffDoc(initiative_id=1, kind="model-card", url="https://m", added_by=ALICE, added_at=NOW))
        session.commit()
    page, _ = read_page(engine, ScopeKind.CHANNEL)
    assert "Forced past the checklist" not in render_status_page(page, jira_url=None).blocks[1]["text"]["text"]


@pytest.mark.sqlite_only
@pytest.mark.parametrize("created_last", ["ix_initiative_team_archived", "ix_initiative_team_channel"])
def test_a_channel_page_reads_through_the_channel_index_whichever_index_was_created_last(
    engine: Engine, created_last: str
) -> None:
    """Without statistics SQLite breaks ties between indexes by the order they were made in: a channel's page must
    not depend on it, or it reads every initiative of the workspace to show a channel's ten."""
    seed(engine, 12, checkpoints=1, readings=1)
    with engine.begin() as connection:
        query = text("SELECT sql FROM sqlite_master WHERE name = :name")
        create = connection.execute(query, {"name": created_last}).scalar_one()
        connection.execute(text(f"DROP INDEX {created_last}"))
        connection.execute(text(create))
    sent: list[tuple[str, Any]] = []

    def note(conn: object, cursor: object, statement: str, parameters: Any, *args: object) -> None:
        sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", note)
    try:
        with Session(engine) as session:
            scope = StatusScope(ScopeKind.CHANNEL, GENERAL)
            page = status_page(db=session, team_id=TEAM_ID, scope=scope, page=1, now=NOW)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert len(page.items) == 12
    [(page_statement, parameters)] = sent
    with engine.connect() as connection:
        plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {page_statement}", tuple(parameters)).all()
    searches = [row[3] for row in plan if "SEARCH initiative USING" in row[3] and "PRIMARY KEY" not in row[3]]
    assert searches and all("ix_initiative_team_channel" in search for search in searches), searches


def test_cards_are_read_by_position_in_the_order_of_the_card_columns() -> None:
    assert CardFact._fields == (*CARD_COLUMNS, "phase_since")
    assert tuple(InitiativeCard.__dataclass_fields__) == CARD_COLUMNS[:-1]  # all but `created_at`, the last


def test_a_page_reads_every_value_exactly_as_stored(engine: Engine) -> None:
    """Numbers that need all 17 digits of a double, and text with quotes, backslashes and non-ASCII, come back
    from the page's one statement as they were written."""
    seed(engine, 1, checkpoints=1, readings=0)
    target, value = 0.30000000000000004, 1 / 3
    name = 'Recall "top\\10" – é <&>'
    with Session(engine) as session:
        kpi = session.exec(select(Kpi)).one()
        kpi.target, kpi.name = target, name
        session.add(KpiReading(kpi_id=kpi.id or 0, value=value, recorded_by=ALICE, recorded_at=NOW))
        session.commit()
    page, _ = read_page(engine, ScopeKind.CHANNEL)
    [view] = page.items[0].kpis
    assert (view.kpi.name, view.kpi.target) == (name, target)
    assert view.latest is not None and (view.latest.value, view.latest.recorded_at) == (value, NOW)
