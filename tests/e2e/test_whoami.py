"""`/handoff whoami` end to end: your part in the active initiatives, privately in the ack."""

from __future__ import annotations

from tests.conftest import RunningApp
from tests.support.blockkit import all_text
from tests.support.workspace import ALICE, BOB, CAROL, DAVE


def answer_in_the_ack(running: RunningApp, text: str, *, user: str) -> str:
    before = len(running.fake.response_posts)
    result = running.slack.command(text, user=user)
    running.settle()
    assert result.status == 200 and result.body, result.body
    assert result.json.get("response_type", "ephemeral") == "ephemeral"
    assert len(running.fake.response_posts) == before  # nothing after the ack
    return all_text(result.json)


def test_whoami_names_each_active_initiative_and_what_you_are_to_it(running: RunningApp) -> None:
    for text in (
        'new "Churn model v2" ds:<@U0BOB|bob> eng:<@U0CAROL|carol>',
        'new "<b>Fraud</b> rules" ds:<@U0CAROL|carol> embedded:<@U0BOB|bob>',
        'new "Archived one" ds:<@U0BOB|bob>',
        "archive archived",
    ):
        running.slack.command(text, user=ALICE)
        running.settle()

    bob = answer_in_the_ack(running, "whoami", user=BOB)
    assert "• *Churn model v2* (`churn`): DS lead" in bob
    assert "• *&lt;b&gt;Fraud&lt;/b&gt; rules* (`fraud`): embedded engineer" in bob
    assert "Archived" not in bob
    alice = answer_in_the_ack(running, "  WHOAMI  ", user=ALICE)
    assert "(`churn`): creator" in alice and "(`fraud`): creator" in alice
    carol = answer_in_the_ack(running, "whoami", user=CAROL)
    assert "(`churn`): engineering lead" in carol and "(`fraud`): DS lead" in carol


def test_whoami_says_so_when_you_have_no_part_and_takes_no_arguments(running: RunningApp) -> None:
    assert "you are not a lead, embedded engineer or creator of any active initiative" in answer_in_the_ack(
        running, "whoami", user=DAVE
    )
    problem = answer_in_the_ack(running, "whoami churn", user=DAVE)
    assert "`whoami` takes no arguments." in problem and "Usage: `/handoff whoami`" in problem
