"""The App Home dashboard costs the same few statements whatever the viewer is part of."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.blocks.home import PORTFOLIO_ALT_TEXT, render_home
from bot.checklist import Checklist
from bot.home import HomeDashboard, WaitingOnYou, compose_home
from storage.models import Blocker, Kpi
from tests.bot.test_status_reads import enrich, statements
from tests.support.blockkit import assert_valid_view
from tests.support.factories import checkpoint_row, make_initiative
from tests.support.slack_driver import TEAM_ID
from tests.support.workspace import ALICE, BOB, NOW

HOME_STATEMENTS = 6  # cards, their facts, checkpoints due, standup prompts, blockers, the portfolio


def seed(engine: Engine, count: int, *, first: int = 0) -> None:
    with Session(engine) as session:
        for n in range(first, first + count):
            initiative = make_initiative(session, name=f"Model {n:03d}", ref_key=f"m{n}", eng_lead_id=ALICE)
            enrich(session, initiative.id or 0, checkpoints=3, readings=3)
            session.add(checkpoint_row(initiative.id or 0, 9, owner_id=ALICE, due_date=NOW.date()))
            session.add(
                Blocker(
                    initiative_id=initiative.id or 0,
                    number=1,
                    text="no access",
                    direction="on-eng",
                    reported_by=BOB,
                    reported_at=NOW,
                )
            )
        other = make_initiative(session, name=f"Someone else's {first}", ref_key=f"else{first}", created_by=BOB)
        session.add(
            Kpi(
                initiative_id=other.id or 0,
                name="AUC",
                name_key="auc",
                direction=">=",
                target=0.9,
                owner_id=ALICE,
                created_by=BOB,
                created_at=NOW,
            )
        )
        session.commit()


def home_statements(engine: Engine) -> tuple[int, int]:
    with Session(engine) as session, statements(engine) as sent:
        home = compose_home(
            session=session,
            team_id=TEAM_ID,
            user_id=ALICE,
            now=NOW,
            today=NOW.date(),
            checklist=Checklist(),
            stale_days=14,
        )
    return len(sent), home.waiting.count


def test_the_dashboard_is_six_statements_for_3_or_60_initiatives(engine: Engine) -> None:
    seed(engine, 3)
    few, waiting_few = home_statements(engine)
    seed(engine, 57, first=3)
    many, waiting_many = home_statements(engine)
    assert few == many == HOME_STATEMENTS
    assert waiting_many > waiting_few > 0


@dataclass(frozen=True)
class Uploaded:
    file_id: str
    permalink: str | None = None
    alt_text: str = ""  # none given: the Home says what the chart is


def test_the_portfolio_shows_the_funnel_chart_when_one_was_uploaded() -> None:
    dashboard = HomeDashboard(
        user_id=ALICE, today=NOW.date(), waiting=WaitingOnYou(), initiatives=[], portfolio={"research": 2}
    )
    without = render_home(dashboard)
    assert not [b for b in without["blocks"] if b["type"] == "image"]

    view = render_home(dashboard, portfolio_chart=Uploaded("F0FUNNEL"))
    assert_valid_view(view)
    [image] = [b for b in view["blocks"] if b["type"] == "image"]
    assert image["slack_file"] == {"id": "F0FUNNEL"}
    assert image["alt_text"] == PORTFOLIO_ALT_TEXT
    described = render_home(dashboard, portfolio_chart=Uploaded("F0FUNNEL", alt_text="Bar chart: 2 in research"))
    assert [b["alt_text"] for b in described["blocks"] if b["type"] == "image"] == ["Bar chart: 2 in research"]
    assert view["blocks"].index(image) == len(view["blocks"]) - 1  # below the counts
