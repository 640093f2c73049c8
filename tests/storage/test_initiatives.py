"""Storage against a real SQLite file: the migrated schema, its constraints, and the query functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import Session, SQLModel, select

from storage import initiatives as queries
from storage.db import alembic_config, make_engine, upgrade_schema
from storage.models import Initiative, Phase, PhaseChange, SlackUser
from storage.users import get_cached_user, upsert_cached_user
from tests.support.factories import make_initiative
from tests.support.slack_driver import TEAM_ID
from tests.support.workspace import ALICE, BOB, CAROL, CHURN, DAVE, GENERAL, NOW, OTHER_TEAM


def _phase_change(initiative: Initiative, to_phase: Phase, at: datetime, by: str = ALICE) -> PhaseChange:
    return PhaseChange(
        initiative_id=initiative.id or 0,
        from_phase=initiative.phase,
        to_phase=to_phase.value,
        changed_by=by,
        changed_at=at,
    )


# --- schema and migrations -------------------------------------------------------------------------------------


def test_migration_creates_every_table(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert {"initiative", "phase_change", "slack_user", "alembic_version"} <= tables


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_database_is_at_the_newest_revision(engine: Engine) -> None:
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    assert head is not None
    assert current == head


def test_upgrade_twice_keeps_data(engine: Engine) -> None:
    with Session(engine) as session:
        make_initiative(session, name="Churn model")
        session.commit()

    upgrade_schema(engine)

    with Session(engine) as session:
        names = [i.name for i in session.exec(select(Initiative)).all()]
        history = session.exec(select(PhaseChange)).all()
    assert names == ["Churn model"]
    assert len(history) == 1
    with engine.connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    assert len(versions) == 1


@pytest.mark.sqlite_only
def test_sqlite_runs_in_wal_mode_with_foreign_keys(engine: Engine) -> None:
    with engine.connect() as connection:
        journal = connection.execute(text("PRAGMA journal_mode")).scalar()
        foreign_keys = connection.execute(text("PRAGMA foreign_keys")).scalar()
        busy_timeout = connection.execute(text("PRAGMA busy_timeout")).scalar()
    assert str(journal).lower() == "wal"
    assert foreign_keys == 1
    assert busy_timeout == 5000


def test_in_memory_engine_shares_one_connection() -> None:
    memory = make_engine("sqlite://")
    upgrade_schema(memory)
    with Session(memory) as session:
        make_initiative(session, name="In memory")
        session.commit()
    with Session(memory) as session:
        assert [i.name for i in session.exec(select(Initiative)).all()] == ["In memory"]
        assert session.connection().execute(text("PRAGMA foreign_keys")).scalar() == 1
    memory.dispose()


# --- constraints ---------------------------------------------------------------------------------------------------


def test_names_are_unique_per_team_ignoring_case(session: Session) -> None:
    make_initiative(session, name="Churn")
    session.commit()

    with pytest.raises(IntegrityError):
        make_initiative(session, name="churn")
    session.rollback()

    assert [i.name for i in session.exec(select(Initiative)).all()] == ["Churn"]


def test_whitespace_and_case_variants_share_one_name_key() -> None:
    assert queries.name_key("  Churn   Model ") == queries.name_key("churn model") == "churn model"
    assert queries.name_key("STRASSE") == queries.name_key("straße")  # casefold, not lower


def test_the_same_name_is_allowed_in_another_team(session: Session) -> None:
    make_initiative(session, name="Churn")
    make_initiative(session, name="churn", team_id=OTHER_TEAM)
    session.commit()

    ours = queries.get_initiative_by_name(session=session, team_id=TEAM_ID, name="CHURN")
    theirs = queries.get_initiative_by_name(session=session, team_id=OTHER_TEAM, name="CHURN")
    assert ours is not None and theirs is not None
    assert (ours.name, theirs.name) == ("Churn", "churn")
    assert ours.id != theirs.id


def test_phase_history_needs_an_existing_initiative(session: Session) -> None:
    orphan = PhaseChange(initiative_id=9999, to_phase="research", changed_by=ALICE, changed_at=NOW)
    session.add(orphan)
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_deleting_an_initiative_deletes_its_phase_history(session: Session, engine: Engine) -> None:
    doomed = make_initiative(session, name="Doomed")
    kept = make_initiative(session, name="Kept")
    queries.add_phase_change(session=session, change=_phase_change(doomed, Phase.RESEARCH, NOW + timedelta(days=1)))
    session.commit()
    doomed_id = doomed.id

    queries.delete_initiative(session=session, initiative=doomed)
    session.commit()

    with engine.connect() as connection:
        rows = connection.execute(text("SELECT initiative_id FROM phase_change ORDER BY id")).scalars().all()
    assert doomed_id not in rows
    assert rows == [kept.id]


# --- lookups -------------------------------------------------------------------------------------------------------


def test_get_initiative_is_scoped_to_the_team(session: Session) -> None:
    initiative = make_initiative(session, name="Scoped")
    assert initiative.id is not None
    assert queries.get_initiative(session=session, team_id=TEAM_ID, initiative_id=initiative.id) is initiative
    assert queries.get_initiative(session=session, team_id=OTHER_TEAM, initiative_id=initiative.id) is None
    assert queries.get_initiative(session=session, team_id=TEAM_ID, initiative_id=initiative.id + 100) is None


def test_get_by_name_ignores_case_and_spacing(session: Session) -> None:
    make_initiative(session, name="Churn Model v2")
    found = queries.get_initiative_by_name(session=session, team_id=TEAM_ID, name="  churn   MODEL v2 ")
    assert found is not None and found.name == "Churn Model v2"
    assert queries.get_initiative_by_name(session=session, team_id=TEAM_ID, name="Churn Model") is None


def _prefix(session: Session, prefix: str, **kwargs: object) -> list[str]:
    found = queries.find_initiatives_by_prefix(session=session, team_id=TEAM_ID, prefix=prefix, **kwargs)  # type: ignore[arg-type]
    return [i.name for i in found]


def test_prefix_lookup_is_case_insensitive_and_sorted(session: Session) -> None:
    for name in ("Churn model", "churn dashboard", "Fraud rules"):
        make_initiative(session, name=name)
    make_initiative(session, name="Churn elsewhere", team_id=OTHER_TEAM)

    assert _prefix(session, "CHURN") == ["churn dashboard", "Churn model"]
    assert _prefix(session, "fr") == ["Fraud rules"]
    assert _prefix(session, "x") == []


def test_prefix_lookup_treats_percent_and_underscore_literally(session: Session) -> None:
    for name in ("50% off", "500 club", "a_b test", "axb test", "back\\slash", "backslash"):
        make_initiative(session, name=name)

    assert _prefix(session, "50%") == ["50% off"]
    assert _prefix(session, "%") == []
    assert _prefix(session, "a_") == ["a_b test"]
    assert _prefix(session, "_") == []
    assert _prefix(session, "back\\") == ["back\\slash"]


def test_prefix_lookup_respects_the_limit(session: Session) -> None:
    for number in range(5):
        make_initiative(session, name=f"Model {number}")
    assert _prefix(session, "model", limit=3) == ["Model 0", "Model 1", "Model 2"]


def test_archived_initiatives_are_left_out_of_lists(session: Session) -> None:
    make_initiative(session, name="Active here", home_channel_id=CHURN)
    make_initiative(session, name="Active elsewhere", home_channel_id=GENERAL)
    make_initiative(session, name="Archived here", home_channel_id=CHURN, archived=True, archived_at=NOW)

    active = queries.list_initiative_cards(session=session, team_id=TEAM_ID, channel_id=None, offset=0, limit=10)
    in_churn = queries.list_initiative_cards(session=session, team_id=TEAM_ID, channel_id=CHURN, offset=0, limit=10)
    assert [i.name for i in active] == ["Active elsewhere", "Active here"]
    assert [i.name for i in in_churn] == ["Active here"]
    assert queries.count_initiative_cards(session=session, team_id=TEAM_ID, channel_id=None) == 2
    assert queries.count_initiative_cards(session=session, team_id=TEAM_ID, channel_id=CHURN) == 1
    assert _prefix(session, "archived") == []
    assert _prefix(session, "archived", include_archived=True) == ["Archived here"]
    # An exact name still finds an archived one: names stay taken.
    exact = queries.get_initiative_by_name(session=session, team_id=TEAM_ID, name="archived here")
    assert exact is not None and exact.archived


def test_lists_page_with_offset_and_limit(session: Session) -> None:
    for letter in "edcba":
        make_initiative(session, name=f"{letter} initiative", home_channel_id=CHURN)
    page = queries.list_initiative_cards(session=session, team_id=TEAM_ID, channel_id=None, offset=1, limit=2)
    in_channel = queries.list_initiative_cards(session=session, team_id=TEAM_ID, channel_id=CHURN, offset=3, limit=10)
    assert [i.name for i in page] == ["b initiative", "c initiative"]
    assert [i.name for i in in_channel] == ["d initiative", "e initiative"]


def test_initiatives_for_user_covers_every_role(session: Session) -> None:
    make_initiative(session, name="As DS", ds_lead_id=DAVE)
    make_initiative(session, name="As Eng", eng_lead_id=DAVE)
    make_initiative(session, name="As Embedded", embedded_engineer_id=DAVE)
    make_initiative(session, name="As Creator", created_by=DAVE)
    make_initiative(session, name="Not Dave", ds_lead_id=BOB, eng_lead_id=CAROL)
    make_initiative(session, name="Archived Dave", ds_lead_id=DAVE, archived=True)
    make_initiative(session, name="Other team Dave", ds_lead_id=DAVE, team_id=OTHER_TEAM)

    found = queries.list_initiatives_for_user(session=session, team_id=TEAM_ID, user_id=DAVE)
    assert [i.name for i in found] == ["As Creator", "As DS", "As Embedded", "As Eng"]


# --- phase history -------------------------------------------------------------------------------------------------


def test_phase_history_is_in_order(session: Session) -> None:
    initiative = make_initiative(session, name="Ordered")
    queries.add_phase_change(session=session, change=_phase_change(initiative, Phase.RESEARCH, NOW + timedelta(days=2)))
    queries.add_phase_change(session=session, change=_phase_change(initiative, Phase.SUMMARY, NOW + timedelta(days=5)))
    history = queries.list_phase_history(session=session, initiative_id=initiative.id or 0)
    assert [c.to_phase for c in history] == ["discovery", "research", "summary"]
    assert history[0].from_phase is None


def test_latest_phase_changes_returns_the_newest_row_per_initiative(session: Session) -> None:
    first = make_initiative(session, name="First")
    second = make_initiative(session, name="Second")
    untouched = make_initiative(session, name="Untouched")
    queries.add_phase_change(session=session, change=_phase_change(first, Phase.RESEARCH, NOW + timedelta(days=1)))
    newest = queries.add_phase_change(
        session=session, change=_phase_change(first, Phase.SUMMARY, NOW + timedelta(days=3))
    )
    queries.add_phase_change(session=session, change=_phase_change(second, Phase.PAUSED, NOW + timedelta(days=2)))
    session.commit()
    ids = [first.id or 0, second.id or 0, untouched.id or 0]

    latest = queries.latest_phase_changes(session=session, initiative_ids=ids)

    assert set(latest) == set(ids)
    assert latest[first.id or 0].id == newest.id
    assert latest[first.id or 0].to_phase == "summary"
    assert latest[second.id or 0].to_phase == "paused"
    assert latest[untouched.id or 0].to_phase == "discovery"
    assert latest[untouched.id or 0].from_phase is None
    assert queries.latest_phase_changes(session=session, initiative_ids=[first.id or 0]).keys() == {first.id}
    assert queries.latest_phase_changes(session=session, initiative_ids=[]) == {}


# --- column types --------------------------------------------------------------------------------------------------


def test_datetimes_come_back_as_aware_utc(engine: Engine) -> None:
    berlin_morning = datetime(2027, 1, 4, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    with Session(engine) as session:
        initiative = make_initiative(session, name="Timed", created_at=berlin_morning)
        initiative_id = initiative.id
        session.commit()

    with Session(engine) as session:
        stored = session.get(Initiative, initiative_id)
        assert stored is not None
        assert stored.created_at.tzinfo is UTC
        assert stored.created_at == berlin_morning
        assert stored.created_at.hour == 9
        assert stored.archived_at is None
        change = session.exec(select(PhaseChange).where(PhaseChange.initiative_id == initiative_id)).one()
        assert change.changed_at == datetime(2027, 1, 4, 9, 30, tzinfo=UTC)
    with engine.connect() as connection:
        raw = connection.execute(text("SELECT created_at FROM initiative")).scalar()
    assert str(raw).startswith("2027-01-04 09:30:00")


def test_naive_datetimes_are_rejected(session: Session) -> None:
    with pytest.raises(StatementError) as caught:
        make_initiative(session, name="Naive", created_at=datetime(2027, 1, 4, 9, 30))
    assert isinstance(caught.value.orig, ValueError)
    assert "naive" in str(caught.value.orig)
    session.rollback()
    assert session.exec(select(Initiative)).all() == []


# --- user cache ----------------------------------------------------------------------------------------------------


def test_user_cache_upsert_inserts_then_updates(engine: Engine) -> None:
    with Session(engine) as session:
        upsert_cached_user(
            session=session,
            user=SlackUser(team_id=TEAM_ID, user_id=ALICE, name="alice", tz="Europe/Berlin", fetched_at=NOW),
        )
        session.commit()
    later = NOW + timedelta(days=1)
    with Session(engine) as session:
        upsert_cached_user(
            session=session,
            user=SlackUser(
                team_id=TEAM_ID, user_id=ALICE, name="alice.d", tz="Asia/Tokyo", is_admin=True, fetched_at=later
            ),
        )
        upsert_cached_user(
            session=session, user=SlackUser(team_id=OTHER_TEAM, user_id=ALICE, name="other", fetched_at=NOW)
        )
        session.commit()

    with Session(engine) as session:
        cached = get_cached_user(session=session, team_id=TEAM_ID, user_id=ALICE)
        other = get_cached_user(session=session, team_id=OTHER_TEAM, user_id=ALICE)
        rows = session.exec(select(SlackUser)).all()
        assert cached is not None and other is not None
        assert (cached.name, cached.tz, cached.is_admin, cached.fetched_at) == ("alice.d", "Asia/Tokyo", True, later)
        assert other.name == "other"
        assert len(rows) == 2
        assert get_cached_user(session=session, team_id=TEAM_ID, user_id=BOB) is None


def test_a_savepoint_first_in_a_transaction_is_undone_with_it(engine: Engine) -> None:
    # pysqlite starts no transaction before a SAVEPOINT, so releasing one that came first used to commit it.
    with Session(engine) as session:
        with session.begin_nested():
            make_initiative(session, name="Rolled back")
        session.rollback()
    with Session(engine) as session:
        assert session.exec(select(Initiative)).all() == []


def test_a_savepoint_rolled_back_keeps_the_work_before_it(engine: Engine) -> None:
    with Session(engine) as session:
        make_initiative(session, name="Kept")
        with pytest.raises(IntegrityError), session.begin_nested():
            make_initiative(session, name="kept")
        session.commit()
    with Session(engine) as session:
        assert [i.name for i in session.exec(select(Initiative)).all()] == ["Kept"]
