"""Storage for checkpoints: the migration that adds them, reference keys, progress and once-only keys."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from alembic import command
from sqlalchemy import text
from sqlmodel import Session

from storage.checkpoints import add_checkpoint, progress_by_initiative
from storage.db import alembic_config, make_engine, session_scope, upgrade_schema
from storage.idempotency import claim_all_once, claim_once
from storage.models import Checkpoint, CheckpointStatus
from storage.numbering import next_number
from tests.support.factories import checkpoint_row, make_initiative
from tests.support.workspace import NOW

TODAY = date(2027, 1, 4)


def test_upgrading_from_the_first_schema_keeps_initiatives_and_gives_each_a_unique_ref_key(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    command.upgrade(alembic_config(engine), "0001")
    with engine.begin() as connection:
        for number, name in enumerate(("Churn model v2", "Churn alerts", "<Fraud> & co"), start=1):
            connection.execute(
                text(
                    "INSERT INTO initiative (id, team_id, name, name_key, home_channel_id, phase, created_by, "
                    "created_at, updated_by, updated_at, archived) VALUES (:id, 'T1', :name, :key, 'C1', "
                    "'discovery', 'U1', '2027-01-04 09:30:00', 'U1', '2027-01-04 09:30:00', 0)"
                ),
                {"id": number, "name": name, "key": name.casefold()},
            )

    upgrade_schema(engine)

    with engine.connect() as connection:
        rows = connection.execute(text("SELECT name, ref_key FROM initiative ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [
        ("Churn model v2", "churn"),
        ("Churn alerts", "churn2"),
        ("<Fraud> & co", "fraud"),
    ]


def test_new_initiatives_get_the_first_free_ref_key(session: Session) -> None:
    first = make_initiative(session, name="Churn model v2")
    second = make_initiative(session, name="churn alerts")
    third = make_initiative(session, name="!!!")

    assert (first.ref_key, second.ref_key, third.ref_key) == ("churn", "churn2", "initiative")


def test_checkpoint_numbers_are_never_reused_after_removal(session: Session) -> None:
    initiative = make_initiative(session)
    add_checkpoint(session=session, checkpoint=checkpoint_row(initiative.id or 0, 1))
    removed = add_checkpoint(session=session, checkpoint=checkpoint_row(initiative.id or 0, 2))
    removed.removed_at = NOW
    session.add(removed)
    session.flush()

    assert next_number(session=session, model=Checkpoint, initiative_id=initiative.id or 0) == 3


def test_progress_counts_done_overdue_and_the_next_due_date_ignoring_removed(session: Session) -> None:
    initiative = make_initiative(session)
    iid = initiative.id or 0
    for number, values in enumerate(
        [
            {"status": CheckpointStatus.DONE.value, "due_date": TODAY - timedelta(days=3)},
            {"due_date": TODAY - timedelta(days=1)},  # overdue
            {"due_date": TODAY + timedelta(days=10)},
            {"due_date": TODAY + timedelta(days=2), "status": CheckpointStatus.IN_PROGRESS.value},
            {"due_date": TODAY - timedelta(days=5), "removed_at": NOW},
            {},
        ],
        start=1,
    ):
        add_checkpoint(session=session, checkpoint=checkpoint_row(iid, number, **values))

    progress = progress_by_initiative(session=session, initiative_ids=[iid], today=TODAY)[iid]

    assert (progress.total, progress.done, progress.overdue) == (5, 1, 1)
    assert progress.next_due == TODAY + timedelta(days=2)


def test_a_key_is_claimed_once_even_across_sessions(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        assert claim_once(session=session, scope="slack_event", key="Ev1", now=NOW)
    with session_scope(engine) as session:
        assert not claim_once(session=session, scope="slack_event", key="Ev1", now=NOW)
        assert claim_once(session=session, scope="jira_webhook", key="Ev1", now=NOW)


def test_claiming_several_names_fails_if_any_was_seen(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        assert claim_all_once(session=session, scope="jira_webhook", keys=["delivery:a", "changelog:1:9"], now=NOW)
    with session_scope(engine) as session:
        assert not claim_all_once(session=session, scope="jira_webhook", keys=["delivery:b", "changelog:1:9"], now=NOW)
    with session_scope(engine) as session:
        assert claim_all_once(session=session, scope="jira_webhook", keys=["delivery:b", "changelog:1:10"], now=NOW)
