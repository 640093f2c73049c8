"""`/handoff` alone, end to end: the channel's initiatives with buttons for the next step, answered privately in the
ack; its buttons (help, a new initiative, every initiative) pressed as Slack sends them."""

from __future__ import annotations

from typing import Any

from bot import ids
from tests.conftest import RunningApp
from tests.support.blockkit import all_text, nodes
from tests.support.e2e import click, create, row_counts, run
from tests.support.workspace import ALICE, CHURN, DAVE, GENERAL

NEW_CHURN = 'new "Churn model v2" ds:<@U0BOB|bob> channel:<#C0CHURN|churn>'
NEW_PRICING = 'new "Pricing engine" ds:<@U0BOB|bob>'  # at home in #general
BUTTONS = [ids.ACTION_HOME_NEW, ids.ACTION_SHOW_HELP, ids.ACTION_SHOW_ALL_INITIATIVES]


def front_door(running: RunningApp, *, channel: str, text: str = "") -> dict[str, Any]:
    """What `/handoff` (with nothing after it) answers: privately, in the ack itself, changing nothing."""
    before = row_counts(running.engine), len(running.fake.calls_to("chat.postMessage"))
    result, posts = run(running, text, channel=channel, user=DAVE)
    assert posts == [] and result.body, "answered in the ack"
    assert result.json.get("response_type", "ephemeral") == "ephemeral"
    assert (row_counts(running.engine), len(running.fake.calls_to("chat.postMessage"))) == before
    return result.json


def buttons_of(payload: dict[str, Any]) -> list[str]:
    return [n["action_id"] for n in nodes(payload["blocks"]) if isinstance(n, dict) and n.get("type") == "button"]


def test_handoff_alone_shows_this_channels_initiatives_with_the_next_steps(running: RunningApp) -> None:
    create(running, NEW_CHURN)
    create(running, NEW_PRICING)

    for typed in ("", "   "):
        payload = front_door(running, channel=CHURN, text=typed)

        answer = all_text(payload)
        assert "Initiatives in this channel" in answer and "Churn model v2" in answer, answer
        assert "Pricing engine" not in answer, "only the initiatives at home in this channel"
        assert buttons_of(payload)[-3:] == BUTTONS
        menus = [b["accessory"]["action_id"] for b in payload["blocks"] if "accessory" in b]
        assert menus == [ids.ACTION_CARD_MENU], "the status cards keep their menu of next steps"
        assert "`/handoff help`" in answer
        assert "Handoff commands" not in answer, "not the help text"


def test_handoff_alone_where_no_initiative_lives_says_so_and_offers_the_same_buttons(running: RunningApp) -> None:
    create(running, NEW_CHURN)

    payload = front_door(running, channel=GENERAL)

    assert payload["text"] == "No initiative calls this channel home yet."
    assert buttons_of(payload) == BUTTONS
    assert "Churn model v2" not in all_text(payload)


def test_help_is_one_button_away_and_says_what_help_says(running: RunningApp) -> None:
    help_text = run(running, "help")[0].json

    [answer] = click(running, ids.ACTION_SHOW_HELP, user=DAVE)

    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    assert (answer["text"], answer["blocks"]) == (help_text["text"], help_text["blocks"])
    assert answer["text"].startswith("Handoff commands: help, new")


def test_all_initiatives_lists_every_channels_privately_next_to_the_view(running: RunningApp) -> None:
    create(running, NEW_CHURN)
    create(running, NEW_PRICING)

    [answer] = click(running, ids.ACTION_SHOW_ALL_INITIATIVES, user=DAVE)

    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    text = all_text(answer)
    assert "All active initiatives" in text and "Churn model v2" in text and "Pricing engine" in text


def test_new_initiative_opens_the_creation_form(running: RunningApp) -> None:
    assert click(running, ids.ACTION_HOME_NEW, user=ALICE, channel=CHURN) == []

    [opened] = running.fake.wait_for_calls("views.open")
    assert opened.args["view"]["callback_id"] == ids.VIEW_NEW_INITIATIVE


def test_help_typed_is_still_the_help_text(running: RunningApp) -> None:
    create(running, NEW_CHURN)

    payload = front_door(running, channel=CHURN, text="help")

    assert payload["text"].startswith("Handoff commands: help, new")
    assert buttons_of(payload) == []
