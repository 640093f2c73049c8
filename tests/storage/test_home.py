"""Who opened App Home, on SQLite and PostgreSQL: one row a person, and whose Home a change of an initiative
republishes."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from storage.home import home_viewers, record_home_opened
from storage.models import HomeOpened, Kpi
from tests.support.factories import checkpoint_row, make_initiative, rows
from tests.support.slack_driver import TEAM_ID
from tests.support.workspace import ALICE, BOB, CAROL, DAVE, NOW, OTHER_TEAM


def test_opening_again_moves_the_one_row_of_that_person(session: Session) -> None:
    record_home_opened(session=session, team_id=TEAM_ID, user_id=ALICE, now=NOW - timedelta(days=3))
    record_home_opened(session=session, team_id=TEAM_ID, user_id=ALICE, now=NOW)
    record_home_opened(session=session, team_id=OTHER_TEAM, user_id=ALICE, now=NOW)
    session.commit()
    [ours] = rows(session.get_bind(), HomeOpened, HomeOpened.team_id == TEAM_ID)  # type: ignore[arg-type]
    assert ours.opened_at == NOW


def test_the_viewers_of_a_change_are_its_people_and_owners_who_opened_lately(session: Session) -> None:
    initiative = make_initiative(session, name="Churn", ref_key="churn", ds_lead_id=ALICE)
    session.add(checkpoint_row(initiative.id or 0, 1, owner_id=BOB))
    session.add(
        Kpi(
            initiative_id=initiative.id or 0,
            name="AUC",
            name_key="auc",
            direction=">=",
            target=0.8,
            owner_id=CAROL,
            created_by=ALICE,
            created_at=NOW,
        )
    )
    for person in (ALICE, BOB, CAROL):
        record_home_opened(session=session, team_id=TEAM_ID, user_id=person, now=NOW)
    record_home_opened(session=session, team_id=TEAM_ID, user_id=DAVE, now=NOW - timedelta(days=30))
    record_home_opened(session=session, team_id=OTHER_TEAM, user_id=ALICE, now=NOW)
    session.commit()

    viewers = home_viewers(
        session=session,
        team_id=TEAM_ID,
        user_ids=[ALICE, DAVE],
        initiative_ids=[initiative.id or 0],
        since=NOW - timedelta(days=14),
    )
    assert viewers == [ALICE, BOB, CAROL]  # Dave opened his a month ago
