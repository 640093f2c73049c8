"""The searches behind the pickers, on SQLite and PostgreSQL: what matches, in which order, how many, and that each
reads an index in name order rather than sorting every initiative of a workspace."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from storage.checkpoints import search_checkpoints
from storage.initiatives import search_active_initiatives
from storage.models import CheckpointStatus, Initiative
from tests.support.factories import checkpoint_row, make_initiative
from tests.support.slack_driver import TEAM_ID
from tests.support.workspace import ALICE, CHURN, GENERAL, NOW, OTHER_TEAM


def names(found: list[Initiative]) -> list[str]:
    return [initiative.name for initiative in found]


def search(session: Session, query: str, *, channel_id: str | None = GENERAL, **kwargs: Any) -> list[str]:
    found = search_active_initiatives(session=session, team_id=TEAM_ID, query=query, channel_id=channel_id, **kwargs)
    return names(found)


@pytest.fixture
def named(session: Session) -> Session:
    for name, key, channel in (
        ("Churn model v2", "churn", CHURN),
        ("Customer churn (EU)", "customer", GENERAL),
        ("Price-elasticity study", "price", GENERAL),
        ("ds/ml platform", "ds", CHURN),
        ("ab_test results", "ab", GENERAL),
        ("Next best action", "nba", GENERAL),
        ("100% uptime", "uptime", GENERAL),
    ):
        make_initiative(session, name=name, ref_key=key, home_channel_id=channel)
    make_initiative(session, name="Churn archived", ref_key="churnold", home_channel_id=GENERAL, archived=True)
    make_initiative(session, name="Churn model v2", ref_key="churn", home_channel_id=GENERAL, team_id=OTHER_TEAM)
    session.commit()
    return session


def test_a_query_matches_a_prefix_of_the_name_of_a_word_in_it_or_of_the_key_ignoring_case(named: Session) -> None:
    assert search(named, "CHURN") == ["Customer churn (EU)", "Churn model v2"]  # this channel's first
    assert search(named, "churn", channel_id=CHURN) == ["Churn model v2", "Customer churn (EU)"]
    assert search(named, "churn mod") == ["Churn model v2"]
    assert search(named, "  churn   MOD ") == ["Churn model v2"]
    assert search(named, "eu") == ["Customer churn (EU)"]
    assert search(named, "elast") == ["Price-elasticity study"]
    assert search(named, "ml") == ["ds/ml platform"]
    assert search(named, "test") == ["ab_test results"]
    assert search(named, "nb") == ["Next best action"]
    assert search(named, "100%") == ["100% uptime"]
    for nothing in ("hurn", "model v3", "%", "_", "1_0", "ab%", "churnold", "archived"):
        assert search(named, nothing) == [], nothing


def test_an_empty_query_lists_this_channels_initiatives_then_the_rest_each_by_name(named: Session) -> None:
    everything = search(named, "", channel_id=CHURN)
    assert everything == [
        "Churn model v2",
        "ds/ml platform",
        "100% uptime",
        "ab_test results",
        "Customer churn (EU)",
        "Next best action",
        "Price-elasticity study",
    ]
    assert search(named, "", channel_id=None) == sorted(everything, key=str.casefold)
    # At most `limit`: this channel's first, and the rest only as far as the limit leaves room.
    assert search(named, "", channel_id=CHURN, limit=3) == everything[:3]
    assert search(named, "", channel_id=CHURN, limit=1) == everything[:1]


def test_another_workspace_sees_only_its_own(named: Session) -> None:
    found = search_active_initiatives(session=named, team_id=OTHER_TEAM, query="", channel_id=GENERAL)
    assert [(i.name, i.team_id) for i in found] == [("Churn model v2", OTHER_TEAM)]


@pytest.mark.sqlite_only
def test_each_part_of_the_search_reads_its_index_in_name_order_without_sorting(engine: Engine) -> None:
    with Session(engine) as session:
        for number in range(300):
            channel = CHURN if number % 10 == 0 else GENERAL
            make_initiative(session, name=f"Batch {number:03d}", ref_key=f"b{number:03d}", home_channel_id=channel)
        session.commit()
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        with Session(engine) as session:
            found = search_active_initiatives(session=session, team_id=TEAM_ID, query="batch", channel_id=CHURN)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(found) == 100 and found[0].name == "Batch 000" and found[30].name == "Batch 001"

    plans = []
    with engine.connect() as connection:
        for statement, parameters in statements:
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            plans.append(" / ".join(str(row[-1]) for row in rows))
    assert len(plans) == 2
    assert "USING INDEX ix_initiative_team_channel" in plans[0]
    assert "USING INDEX ix_initiative_team_archived" in plans[1]
    assert not any("TEMP B-TREE" in plan for plan in plans), plans


# --- checkpoints ------------------------------------------------------------------------------------------------


@pytest.fixture
def with_checkpoints(named: Session) -> Session:
    churn = search_active_initiatives(session=named, team_id=TEAM_ID, query="churn model", channel_id=None)[0]
    customer = search_active_initiatives(session=named, team_id=TEAM_ID, query="customer", channel_id=None)[0]
    archived = make_initiative(named, name="Old", ref_key="old", archived=True)
    theirs = search_active_initiatives(session=named, team_id=OTHER_TEAM, query="", channel_id=None)[0]
    rows = [
        checkpoint_row(churn.id or 0, 1, title="Model card reviewed"),
        checkpoint_row(churn.id or 0, 2, title="Data-privacy review", jira_key="DS-7"),
        checkpoint_row(churn.id or 0, 3, title="Shipped", status=CheckpointStatus.DONE.value),
        checkpoint_row(churn.id or 0, 4, title="Removed", removed_at=NOW, removed_by=ALICE),
        checkpoint_row(churn.id or 0, 12, title="Serving budget"),
        checkpoint_row(customer.id or 0, 1, title="Feature store access"),
        checkpoint_row(archived.id or 0, 1, title="Model card of an archived one"),
        checkpoint_row(theirs.id or 0, 1, title="Model card of theirs"),
    ]
    named.add_all(rows)
    named.commit()
    return named


def refs(session: Session, **kwargs: Any) -> list[str]:
    found = search_checkpoints(session=session, team_id=TEAM_ID, **kwargs)
    return [f"{initiative.ref_key}#{checkpoint.number}" for checkpoint, initiative in found]


def test_checkpoints_match_by_reference_or_title_and_are_filtered_as_the_picker_needs(
    with_checkpoints: Session,
) -> None:
    session = with_checkpoints
    everything = ["customer#1", "churn#1", "churn#2", "churn#3", "churn#12"]
    assert refs(session, channel_id=GENERAL) == everything  # removed ones, archived and other workspaces' never
    assert refs(session, channel_id=CHURN) == ["churn#1", "churn#2", "churn#3", "churn#12", "customer#1"]
    assert refs(session, channel_id=GENERAL, open_only=True) == ["customer#1", "churn#1", "churn#2", "churn#12"]
    assert refs(session, channel_id=GENERAL, unlinked_only=True) == ["customer#1", "churn#1", "churn#12"]
    assert refs(session, ref_key_prefix="CH", number_prefix="1") == ["churn#1", "churn#12"]
    assert refs(session, number_prefix="1") == ["churn#1", "churn#12", "customer#1"]
    assert refs(session, words="model card") == ["churn#1"]
    assert refs(session, words="PRIVACY") == ["churn#2"]
    assert refs(session, words="cust") == ["customer#1"]
    assert refs(session, words="review") == ["churn#1", "churn#2"]
    assert refs(session, words="%") == []
    customer_id = search_active_initiatives(session=session, team_id=TEAM_ID, query="customer", channel_id=None)[0].id
    assert refs(session, initiative_ids=[customer_id or 0]) == ["customer#1"]
    assert refs(session, initiative_ids=[]) == []
    assert refs(session, limit=2) == ["churn#1", "churn#2"]
