"""Jira keys without Jira settings, end to end: the app as most teams first run it (conftest's `running` has no
Jira), driven over HTTP with signed requests. Every Jira key is refused privately, naming the settings it needs,
and nothing is written; clearing a key stays possible."""

from __future__ import annotations

from sqlmodel import Session, col, select

from storage.db import session_scope
from storage.models import Checkpoint, Initiative
from tests.conftest import RunningApp
from tests.e2e.test_interactive import open_modal, state
from tests.support.e2e import create, load, private_answer, row_counts
from tests.support.factories import make_initiative
from tests.support.workspace import BOB, CHURN

# What a user reads: the message with its backticks, as Slack shows mrkdwn.
NOT_CONFIGURED = (
    "Jira is not configured for Handoff. Whoever runs Handoff can set `JIRA_URL` and either `JIRA_EMAIL` + "
    "`JIRA_API_TOKEN` (Jira Cloud) or `JIRA_TOKEN` (Jira Data Center personal access token)."
)


def test_new_with_a_jira_epic_is_refused_and_nothing_is_created(running: RunningApp) -> None:
    answer = private_answer(running, 'new "Churn model v2" ds:<@U0BOB|bob> jira:FR-1')

    assert NOT_CONFIGURED in answer
    assert "/handoff new" in answer  # the usage comes with it
    assert row_counts(running.engine) == (0, 0)
    assert running.fake.calls_to("chat.postMessage") == []

    create(running, 'new "Churn model v2" ds:<@U0BOB|bob>')  # the same without the epic is fine
    assert load(running.engine, "Churn model v2").jira_epic_key is None


def test_edit_to_a_jira_epic_is_refused_but_clearing_one_is_allowed(running: RunningApp) -> None:
    create(running, 'new "Churn model v2" ds:<@U0BOB|bob> goal:"Cut churn"')
    thread_posts = len(running.fake.calls_to("chat.postMessage"))

    answer = private_answer(running, 'edit churn jira:DS-12 goal:"Cut churn by 5%"')

    assert NOT_CONFIGURED in answer and "/handoff edit" in answer
    stored = load(running.engine, "Churn model v2")
    assert (stored.jira_epic_key, stored.jira_project_key, stored.goal) == (None, None, "Cut churn")
    assert len(running.fake.calls_to("chat.postMessage")) == thread_posts, "nothing was posted in the thread"

    # An epic stored while Jira was configured can still be taken off once it is not.
    with session_scope(running.engine) as session:
        make_initiative(session, name="Pricing engine", jira_epic_key="PR-7", jira_project_key="PR")
    cleared = private_answer(running, 'edit "Pricing engine" jira:none')
    assert ":white_check_mark: Updated jira epic of *Pricing engine*." in cleared
    pricing = load(running.engine, "Pricing engine")
    assert (pricing.jira_epic_key, pricing.jira_project_key) == (None, None)


def test_the_new_initiative_form_marks_the_jira_field_and_writes_nothing(running: RunningApp) -> None:
    counts = row_counts(running.engine)

    result = running.slack.submit_view(
        open_modal(running), state(name="Forecast", channel=CHURN, jira="FR-1"), response_channel=CHURN
    )
    running.settle()

    assert result.status == 200
    assert result.json == {"response_action": "errors", "errors": {"jira": NOT_CONFIGURED}}
    assert row_counts(running.engine) == counts
    assert running.fake.calls_to("chat.postMessage") == []


def test_checkpoint_add_with_a_jira_issue_is_refused_and_nothing_is_added(running: RunningApp) -> None:
    create(running, 'new "Churn model v2" ds:<@U0BOB|bob>')

    for jira in ("DS-42", "new"):
        answer = private_answer(running, f'checkpoint add churn "Model card reviewed" jira:{jira}', user=BOB)
        assert NOT_CONFIGURED in answer and "/handoff checkpoint add" in answer

    with Session(running.engine) as session:
        assert session.exec(select(Checkpoint).order_by(col(Checkpoint.id))).all() == []
        assert [i.name for i in session.exec(select(Initiative)).all()] == ["Churn model v2"]
