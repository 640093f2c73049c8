"""App Home end to end: the viewer's dashboard as Slack's `app_home_opened` publishes it, its buttons and menus
pressed on the Home tab (no response_url there), and the Homes a change republishes.

"Churn model v2" (`churn`): Bob leads DS, Alice engineering, Carol is embedded (London). NOW is Monday 09:30 UTC."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot import ids
from bot.blocks.base import MAX_VIEW_BLOCKS
from storage.db import session_scope
from storage.models import Blocker, Checkpoint, HomeOpened
from tests.conftest import RunningApp
from tests.support.blockkit import all_text, assert_valid_view, nodes
from tests.support.e2e import create, load, private_answer
from tests.support.factories import checkpoint_row, make_initiative, rows
from tests.support.workspace import ALICE, BOB, CAROL, DAVE, NOW

NEW_CHURN = 'new "Churn model v2" ds:<@U0BOB|bob> eng:<@U0ALICE|alice> embedded:<@U0CAROL|carol>'
NO_INITIATIVES = "You are not a lead, embedded engineer or creator of any active initiative."


def open_home(running: RunningApp, user: str) -> dict[str, Any]:
    """The person opens the Home tab; returns the view published for them."""
    result = running.slack.event({"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home"})
    assert (result.status, result.body) == (200, "")
    running.settle()
    view = running.fake.home_views[user]
    assert_valid_view(view)
    return view


def section_of(view: dict[str, Any], header: str) -> str:
    """The text of the blocks under one header of the Home, up to the next divider."""
    blocks = view["blocks"]
    start = next(i for i, b in enumerate(blocks) if b["type"] == "header" and b["text"]["text"] == header)
    end = next((i for i in range(start + 1, len(blocks)) if blocks[i]["type"] == "divider"), len(blocks))
    return all_text({"blocks": blocks[start + 1 : end]})


def element(view: dict[str, Any], action_id: str, *, containing: str = "") -> dict[str, Any]:
    """The first button or menu with this action id whose section mentions `containing`."""
    for block in view["blocks"]:
        accessory = block.get("accessory") or {}
        if accessory.get("action_id") == action_id and containing in block.get("text", {}).get("text", ""):
            return accessory
    raise AssertionError(f"no {action_id} in {all_text(view)}")


def home_click(running: RunningApp, user: str, action_id: str, value: str, *, select: bool = False) -> None:
    before = len(running.fake.response_posts)
    result = running.slack.home_action(action_id, value, user=user, select=select)
    assert (result.status, result.body) == (200, "")
    running.settle()
    assert len(running.fake.response_posts) == before, "the Home tab has no response_url to answer through"


def doc_form(initiative: dict[str, Any], kind: dict[str, Any], url: str) -> dict[str, dict[str, Any]]:
    """The doc form's `view.state.values` as Slack sends it."""
    return {
        ids.BLOCK_DOC_INITIATIVE: {
            ids.ACTION_PICK_INITIATIVE: {"type": "external_select", "selected_option": initiative}
        },
        ids.BLOCK_DOC_KIND: {ids.INPUT_ACTION: {"type": "static_select", "selected_option": kind}},
        ids.BLOCK_DOC_URL: {ids.INPUT_ACTION: {"type": "url_text_input", "value": url}},
        ids.BLOCK_DOC_NOTE: {ids.INPUT_ACTION: {"type": "plain_text_input", "value": None}},
    }


def published_to(running: RunningApp, since: int) -> list[str]:
    return [call.args["user_id"] for call in running.fake.calls_to("views.publish")[since:]]


def opened_views(running: RunningApp, since: int) -> list[dict[str, Any]]:
    return [call.args["view"] for call in running.fake.calls_to("views.open")[since:]]


@pytest.fixture
def churn(running: RunningApp) -> None:
    """Churn with a checkpoint of Carol's due Wednesday and one due in six weeks, a blocker waiting on
    engineering and one on DS, and Dave's KPI, whose only reading misses its target."""
    create(running, NEW_CHURN, user=BOB)
    for command in (
        'checkpoint add churn "Model card reviewed" owner:<@U0CAROL|carol> due:2027-01-06',
        'checkpoint add churn "Load test" owner:<@U0CAROL|carol> due:2027-02-15',
        'blocker churn "No read access to the events table" on:eng',
        'blocker churn "Which features are final?" on:ds',
        'kpi add churn "AUC on holdout" >= 0.82 owner:<@U0DAVE|dave>',
        'kpi record churn "AUC on holdout" 0.71',
    ):
        assert ":x:" not in private_answer(running, command, user=BOB), command


# --- waiting on you -------------------------------------------------------------------------------------------------


def test_each_thing_waiting_shows_on_the_home_of_whom_it_waits_on_only(running: RunningApp, churn: None) -> None:
    carol = section_of(open_home(running, CAROL), "Waiting on you")
    assert "`churn#1` *Model card reviewed* due 2027-01-06 · Churn model v2" in carol
    assert "Load test" not in carol  # due in six weeks
    assert "`churn#b1` No read access to the events table" in carol  # on engineering: the embedded engineer
    assert "churn#b2" not in carol
    assert "needs" not in carol  # readiness is the leads'

    alice = section_of(open_home(running, ALICE), "Waiting on you")
    assert "`churn#b1`" in alice and "waits on engineering" in alice  # the engineering lead
    assert "churn#b2" not in alice and "Model card reviewed" not in alice
    assert "*Churn model v2* needs *DS summary* for development" in alice

    bob = section_of(open_home(running, BOB), "Waiting on you")
    assert "`churn#b2` Which features are final?" in bob and "waits on DS" in bob
    assert "churn#b1" not in bob
    assert "*Churn model v2* needs *DS summary* for development" in bob
    assert "AUC" not in bob

    dave_view = open_home(running, DAVE)
    dave = section_of(dave_view, "Waiting on you")
    assert "KPI *AUC on holdout* of *Churn model v2* misses its target: 0.71 (&gt;= 0.82)" in dave
    assert "churn#" not in dave and "needs" not in dave
    assert NO_INITIATIVES in section_of(dave_view, "Your initiatives")


def test_todays_unanswered_standup_waits_on_the_embedded_engineer(running: RunningApp, churn: None) -> None:
    running.clock.set(datetime(2027, 1, 5, 9, 30, tzinfo=UTC))  # Tuesday, Carol's first prompt
    assert running.app.standups is not None
    running.app.standups.run_due()

    view = open_home(running, CAROL)
    assert "Today's standup for *Churn model v2* waits for your answer" in section_of(view, "Waiting on you")
    assert "standup" not in section_of(open_home(running, ALICE), "Waiting on you")

    opened = len(running.fake.calls_to("views.open"))
    home_click(running, CAROL, ids.ACTION_STANDUP_ANSWER, element(view, ids.ACTION_STANDUP_ANSWER)["value"])
    [form] = opened_views(running, opened)
    assert form["callback_id"] == ids.VIEW_STANDUP

    running.clock.set(datetime(2027, 1, 6, 0, 30, tzinfo=UTC))  # Wednesday: yesterday's prompt waits no more
    assert "standup" not in section_of(open_home(running, CAROL), "Waiting on you")


def test_a_stale_kpi_waits_on_its_owner(running: RunningApp) -> None:
    create(running, NEW_CHURN, user=BOB)
    private_answer(running, 'kpi add churn "Latency" <= 120 owner:<@U0BOB|bob>', user=BOB)
    assert "Latency" not in section_of(open_home(running, BOB), "Waiting on you")

    running.clock.set(NOW + timedelta(days=14))
    assert "KPI *Latency* of *Churn model v2* has had no reading for 14 days or more" in section_of(
        open_home(running, BOB), "Waiting on you"
    )


def test_mark_done_on_home_marks_it_and_republishes_the_home(running: RunningApp, churn: None) -> None:
    view = open_home(running, CAROL)
    button = element(view, ids.ACTION_CHECKPOINT_DONE, containing="churn#1")
    home_click(running, CAROL, ids.ACTION_CHECKPOINT_DONE, button["value"])

    [done] = rows(running.engine, Checkpoint, Checkpoint.number == 1)
    assert done.status == "done" and done.done_by == CAROL
    fresh = running.fake.home_views[CAROL]
    assert_valid_view(fresh)
    assert "Model card reviewed" in all_text(fresh["blocks"][2])  # the answer, on top
    assert "Model card reviewed" not in section_of(fresh, "Waiting on you")


def test_resolve_on_home_resolves_the_blocker(running: RunningApp, churn: None) -> None:
    view = open_home(running, ALICE)
    home_click(running, ALICE, ids.ACTION_RESOLVE_BLOCKER, element(view, ids.ACTION_RESOLVE_BLOCKER)["value"])

    [resolved] = rows(running.engine, Blocker, Blocker.number == 1)
    assert resolved.resolved_by == ALICE
    assert "churn#b1" not in section_of(running.fake.home_views[ALICE], "Waiting on you")


def test_add_the_doc_on_home_opens_the_doc_form_for_the_missing_item(running: RunningApp, churn: None) -> None:
    view = open_home(running, BOB)
    opened = len(running.fake.calls_to("views.open"))
    button = element(view, ids.ACTION_ADD_DOC, containing="DS summary")
    assert json.loads(button["value"]) == {"i": load(running.engine, "Churn model v2").id, "k": "ds-summary"}
    home_click(running, BOB, ids.ACTION_ADD_DOC, button["value"])

    [form] = opened_views(running, opened)
    assert form["callback_id"] == ids.VIEW_ADD_DOC
    fields = {b["block_id"]: b["element"] for b in form["blocks"] if b["type"] == "input"}
    picked = fields[ids.BLOCK_DOC_INITIATIVE]["initial_option"]
    kind = fields[ids.BLOCK_DOC_KIND]["initial_option"]
    assert kind["value"] == "ds-summary"

    published = len(running.fake.calls_to("views.publish"))
    submitted = running.slack.submit_view(
        form, doc_form(picked, kind, "https://wiki.example.com/churn/summary"), user=BOB
    )
    assert (submitted.status, submitted.body) == (200, "")
    running.settle()

    assert BOB in published_to(running, published)  # the doc closed the gap: Bob's Home shows it gone
    assert "DS summary" not in section_of(running.fake.home_views[BOB], "Waiting on you")
    assert "Ready 2/3 for development" in section_of(running.fake.home_views[BOB], "Your initiatives")


def test_record_a_reading_on_home_opens_the_reading_form(running: RunningApp, churn: None) -> None:
    view = open_home(running, DAVE)
    opened, published = len(running.fake.calls_to("views.open")), len(running.fake.calls_to("views.publish"))
    home_click(running, DAVE, ids.ACTION_CARD_MENU, element(view, ids.ACTION_CARD_MENU, containing="AUC")["value"])

    [form] = opened_views(running, opened)
    assert form["callback_id"] == ids.VIEW_RECORD_READING
    assert published_to(running, published) == [DAVE]  # the Home afresh, in place of a message to replace


# --- your initiatives and the portfolio ----------------------------------------------------------------------------


def test_your_initiatives_show_phase_readiness_progress_and_kpis_with_the_menu(
    running: RunningApp, churn: None
) -> None:
    view = open_home(running, ALICE)
    mine = section_of(view, "Your initiatives")
    assert "*Churn model v2* `churn` · discovery for 0d" in mine
    assert "Ready 1/3 for development · missing: DS summary" in mine
    assert "Checkpoints 0/2 done" in mine
    assert "KPIs: AUC on holdout 0.71 (&gt;= 0.82) :red_circle:" in mine

    menu = element(view, ids.ACTION_CARD_MENU, containing="Churn model v2")
    phase = next(o["value"] for o in menu["options"] if o["text"]["text"] == "Change phase")
    opened, published = len(running.fake.calls_to("views.open")), len(running.fake.calls_to("views.publish"))
    home_click(running, ALICE, ids.ACTION_CARD_MENU, phase, select=True)

    [form] = opened_views(running, opened)
    assert form["callback_id"] == ids.VIEW_CHANGE_PHASE
    assert published_to(running, published) == [ALICE]


def test_the_portfolio_counts_the_workspaces_active_initiatives_by_phase(running: RunningApp) -> None:
    create(running, NEW_CHURN, user=BOB)
    create(running, 'new "Fraud rules"', user=CAROL)
    create(running, 'new "Search ranking"', user=CAROL)
    create(running, 'new "Old thing"', user=CAROL)
    private_answer(running, 'phase fraud research "data access granted"', user=CAROL)
    private_answer(running, "archive old", user=CAROL)

    portfolio = section_of(open_home(running, DAVE), "Portfolio")
    assert "3 active initiatives: :mag: discovery *2* · :test_tube: research *1*" in portfolio


def test_a_viewer_with_200_initiatives_stays_within_the_view_limits(running: RunningApp) -> None:
    today = NOW.date()
    with session_scope(running.engine) as session:
        for n in range(200):
            initiative = make_initiative(
                session,
                name=f"Model {n:03d} " + "x" * 60,
                ref_key=f"model{n}",
                ds_lead_id=ALICE,
                eng_lead_id=ALICE,
                embedded_engineer_id=ALICE,
                goal="g" * 1000,
            )
            session.add(checkpoint_row(initiative.id or 0, 1, owner_id=ALICE, due_date=today, title="t" * 200))
            session.add(
                Blocker(
                    initiative_id=initiative.id or 0,
                    number=1,
                    text="b" * 1000,
                    direction="on-eng",
                    reported_by=BOB,
                    reported_at=NOW,
                )
            )

    view = open_home(running, ALICE)
    assert len(view["blocks"]) <= MAX_VIEW_BLOCKS
    assert all(len(n["text"]) <= 3000 for n in nodes(view) if isinstance(n, dict) and n.get("type") == "mrkdwn")
    assert "more waiting on you" in section_of(view, "Waiting on you")
    assert "more: `/handoff whoami` lists them all" in section_of(view, "Your initiatives")
    assert "200 active initiatives: :mag: discovery *200*" in section_of(view, "Portfolio")


# --- refreshing ----------------------------------------------------------------------------------------------------


def test_a_change_republishes_the_homes_of_its_people_who_opened_theirs(running: RunningApp, churn: None) -> None:
    create(running, 'new "Fraud rules"', user=CAROL)
    for person in (ALICE, DAVE):
        open_home(running, person)
    with session_scope(running.engine) as session:  # Dave opened his a while ago, the KPI owner
        session.merge(HomeOpened(team_id="T0001", user_id=DAVE, opened_at=NOW - timedelta(days=15)))
    published = len(running.fake.calls_to("views.publish"))

    private_answer(running, 'phase churn research "data access granted"', user=BOB)

    # Alice leads it and opened her Home; Bob and Carol never opened theirs; Dave not for 15 days.
    assert published_to(running, published) == [ALICE]
    assert "research for 0d" in section_of(running.fake.home_views[ALICE], "Your initiatives")

    open_home(running, CAROL)
    published = len(running.fake.calls_to("views.publish"))
    private_answer(running, 'phase fraud research "go"', user=CAROL)  # Carol's own initiative, not Alice's
    assert published_to(running, published) == [CAROL]


def test_a_slack_error_on_republishing_does_not_fail_the_change(running: RunningApp, churn: None) -> None:
    open_home(running, ALICE)
    open_home(running, CAROL)
    published = len(running.fake.calls_to("views.publish"))
    running.fake.fail_next("views.publish", error="internal_error")

    answer = private_answer(running, 'phase churn research "data access granted"', user=BOB)

    assert "research" in answer and "went wrong" not in answer
    assert load(running.engine, "Churn model v2").phase == "research"
    failed, republished = running.fake.calls_to("views.publish")[published:]
    assert (failed.args["user_id"], failed.response["ok"]) == (ALICE, False)
    assert (republished.args["user_id"], republished.response["ok"]) == (CAROL, True)  # the others still go


def test_the_portfolio_shows_the_workspaces_funnel_uploaded_once_while_its_figures_stay_the_same(
    running: RunningApp,
) -> None:
    create(running, NEW_CHURN, user=BOB)
    create(running, 'new "Fraud rules"', user=CAROL)
    private_answer(running, 'phase fraud research "data access granted"', user=CAROL)

    view = open_home(running, DAVE)
    [image] = [block for block in view["blocks"] if block["type"] == "image"]
    [uploaded] = running.fake.files
    assert image["slack_file"] == {"id": uploaded.id}
    assert uploaded.content is not None and uploaded.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert uploaded.shares == []  # private to the app: the Home shows it, no channel gets it
    assert image["alt_text"] == uploaded.alt_txt and "research" in image["alt_text"]

    again = open_home(running, ALICE)
    assert [b["slack_file"] for b in again["blocks"] if b["type"] == "image"] == [{"id": uploaded.id}]
    assert len(running.fake.files) == 1, "the same figures reuse the file already uploaded"

    private_answer(running, 'phase churn research "kickoff done"', user=BOB)
    changed = open_home(running, DAVE)
    assert len(running.fake.files) == 2
    assert [b["slack_file"] for b in changed["blocks"] if b["type"] == "image"] == [{"id": running.fake.files[1].id}]


def test_a_refused_portfolio_chart_leaves_the_home_with_its_counts(running: RunningApp) -> None:
    create(running, 'new "Search ranking"', user=CAROL)
    assert running.fake.granted_scopes is not None
    running.fake.granted_scopes.discard("files:write")

    view = open_home(running, DAVE)

    assert [block for block in view["blocks"] if block["type"] == "image"] == []
    assert "1 active initiative" in section_of(view, "Portfolio")


def test_a_workspace_without_initiatives_has_no_portfolio_chart(running: RunningApp) -> None:
    view = open_home(running, DAVE)

    assert [block for block in view["blocks"] if block["type"] == "image"] == []
    assert running.fake.calls_to("files.getUploadURLExternal") == []


def test_a_home_slack_refuses_for_its_chart_is_published_without_it_and_the_chart_uploaded_anew(
    running: RunningApp,
) -> None:
    create(running, 'new "Search ranking"', user=CAROL)
    running.fake.fail_next("views.publish", error="invalid_blocks")

    view = open_home(running, DAVE)

    refused, published = running.fake.calls_to("views.publish")[-2:]
    assert refused.response["error"] == "invalid_blocks"
    assert [b for b in refused.args["view"]["blocks"] if b["type"] == "image"]
    assert published.response["ok"] and [b for b in view["blocks"] if b["type"] == "image"] == []
    assert "1 active initiative" in section_of(view, "Portfolio")

    again = open_home(running, DAVE)
    assert len(running.fake.files) == 2, "the refused file is not offered again"
    assert [b["slack_file"] for b in again["blocks"] if b["type"] == "image"] == [{"id": running.fake.files[1].id}]
