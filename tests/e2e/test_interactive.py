"""The modal, the buttons and the events, end to end over HTTP against FakeSlack."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from sqlmodel import Session

from storage.models import SlackUser
from tests.conftest import OFFLINE_JIRA, RunningApp
from tests.support.blockkit import all_text, button_values
from tests.support.e2e import click, load, row_counts
from tests.support.slack_driver import TEAM_ID
from tests.support.workspace import ALICE, BOB, CAROL, CHURN, DAVE, GENERAL, NOW, ROBOT

BLOCK_IDS = ["name", "channel", "ds", "eng", "embedded", "goal", "jira", "due"]


# The form's Jira epic field needs Jira settings (nothing here calls Jira); the form without Jira settings is tested
# in tests/e2e/test_without_jira.py.
pytestmark = pytest.mark.app_settings(jira=OFFLINE_JIRA)


# --- helpers ----------------------------------------------------------------------------------------------


def cached_user(running: RunningApp, user_id: str) -> SlackUser | None:
    with Session(running.engine) as session:
        return session.get(SlackUser, (TEAM_ID, user_id))


def command(running: RunningApp, text: str, *, user: str = ALICE, channel: str = GENERAL) -> list[dict[str, Any]]:
    """Run a command that answers through its response_url; returns those answers."""
    before = len(running.fake.response_posts)
    result = running.slack.command(text, user=user, channel=channel)
    assert result.status == 200
    running.settle()
    return [p.body for p in running.fake.response_posts[before:]]


def open_modal(running: RunningApp, *, channel: str = CHURN) -> dict[str, Any]:
    """`/handoff new` with no arguments, and the modal the app opened for it, as Slack stored it."""
    opened = len(running.fake.calls_to("views.open"))
    posts = command(running, "new", channel=channel)
    assert posts == []
    [call] = running.fake.calls_to("views.open")[opened:]
    assert call.response["ok"] is True
    return call.response["view"]


def state(
    *,
    name: str | None = None,
    channel: str | None = None,
    ds: str | None = None,
    eng: str | None = None,
    embedded: str | None = None,
    goal: str | None = None,
    jira: str | None = None,
    due: str | None = None,
) -> dict[str, dict[str, Any]]:
    """The modal's `view.state.values` as Slack sends it: every input, unset ones as null."""

    def text(value: str | None) -> dict[str, Any]:
        return {"value": {"type": "plain_text_input", "value": value}}

    def person(user_id: str | None) -> dict[str, Any]:
        return {"value": {"type": "users_select", "selected_user": user_id}}

    return {
        "name": text(name),
        "channel": {"value": {"type": "conversations_select", "selected_conversation": channel}},
        "ds": person(ds),
        "eng": person(eng),
        "embedded": person(embedded),
        "goal": text(goal),
        "jira": text(jira),
        "due": {"value": {"type": "datepicker", "selected_date": due}},
    }


def button_value(payload: dict[str, Any], action_id: str) -> str:
    found = button_values(payload, action_id)
    assert len(found) == 1, f"expected one {action_id} button, found {found!r}"
    return found[0]


def user_change_event(user_id: str, name: str, *, tz: str, is_admin: bool = False) -> dict[str, Any]:
    return {
        "type": "user_change",
        "user": {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": name,
            "deleted": False,
            "real_name": "Dave Outsider",
            "tz": tz,
            "tz_label": "Japan Standard Time",
            "tz_offset": 32400,
            "profile": {"real_name": "Dave Outsider", "display_name": name, "team": TEAM_ID},
            "is_admin": is_admin,
            "is_owner": False,
            "is_bot": False,
            "is_app_user": False,
            "updated": 1799055000,
        },
        "cache_ts": 1799055000,
        "event_ts": "1799055000.000100",
    }


# --- the modal --------------------------------------------------------------------------------------------


def test_a_valid_modal_submission_creates_posts_and_confirms(running: RunningApp) -> None:
    view = open_modal(running)
    assert view["callback_id"] == "new_initiative"
    assert [b["block_id"] for b in view["blocks"]] == BLOCK_IDS

    values = state(
        name="  Churn   model v2 ",
        channel=CHURN,
        ds=BOB,
        eng=CAROL,
        embedded=ALICE,
        goal="Cut churn by 5%",
        jira="ds-12",
        due="2027-03-01",
    )
    result = running.slack.submit_view(view, values, response_channel=CHURN)

    assert (result.status, result.body) == (200, "")
    running.settle()
    [kickoff] = running.fake.messages_in(CHURN)
    assert kickoff.text == "New initiative: Churn model v2"
    initiative = load(running.engine, "Churn model v2")
    assert initiative.name == "Churn model v2"
    assert (initiative.home_channel_id, initiative.thread_channel_id, initiative.thread_ts) == (
        CHURN,
        CHURN,
        kickoff.ts,
    )
    assert (initiative.ds_lead_id, initiative.eng_lead_id, initiative.embedded_engineer_id) == (BOB, CAROL, ALICE)
    assert (initiative.goal, initiative.jira_epic_key, initiative.target_date) == (
        "Cut churn by 5%",
        "DS-12",
        date(2027, 3, 1),
    )
    assert (initiative.created_by, initiative.created_at, initiative.phase) == (ALICE, NOW, "discovery")
    [confirmation] = [p.body for p in running.fake.response_posts]
    assert confirmation["response_type"] == "ephemeral"
    assert f"Created *Churn model v2* in <#{CHURN}>" in all_text(confirmation)
    assert running.fake.messages_in(ALICE) == []  # the response_url answered; no DM fallback


def test_a_modal_submission_without_a_response_url_is_confirmed_by_direct_message(running: RunningApp) -> None:
    view = open_modal(running)

    result = running.slack.submit_view(view, state(name="Pricing engine", channel=GENERAL))

    assert (result.status, result.body) == (200, "")
    running.settle()
    assert running.fake.response_posts == []
    [dm] = running.fake.messages_in(ALICE)
    assert "Created *Pricing engine*" in dm.text
    assert load(running.engine, "Pricing engine").home_channel_id == GENERAL


INVALID_SUBMISSIONS: list[tuple[dict[str, str], dict[str, str]]] = [
    (
        {"name": "churn MODEL v2", "channel": CHURN},
        {"name": 'An initiative called "Churn model v2" already exists. Pick another name.'},
    ),
    (
        {"name": "Forecast", "channel": CHURN, "due": "2027-01-03"},
        {"due": "The target date 2027-01-03 is in the past."},
    ),
    (
        {"name": "Forecast", "channel": CHURN, "jira": "DS 12"},
        {"jira": '"DS 12" is not a Jira issue key; use the form DS-12.'},
    ),
    (
        {"name": "Forecast", "channel": CHURN, "ds": ROBOT},
        {"ds": "DS lead: The user <@U0ROBOT> is a bot, not a person."},
    ),
    ({"name": "Forecast"}, {"channel": "Pick the channel both teams will follow this initiative in."}),
    (
        {"name": "x" * 81, "channel": CHURN, "jira": "nope", "due": "2026-12-31"},
        {
            "name": "The name is 81 characters long; the limit is 80.",
            "jira": '"nope" is not a Jira issue key; use the form DS-12.',
            "due": "The target date 2026-12-31 is in the past.",
        },
    ),
]


def test_invalid_modal_fields_are_marked_inline_and_nothing_is_written(running: RunningApp) -> None:
    running.slack.command('new "Churn model v2"')
    running.settle()
    counts = row_counts(running.engine)
    posted = len(running.fake.calls_to("chat.postMessage"))
    answers = len(running.fake.response_posts)

    for fields, errors in INVALID_SUBMISSIONS:
        result = running.slack.submit_view(open_modal(running), state(**fields), response_channel=fields.get("channel"))
        running.settle()

        assert result.status == 200
        assert result.json == {"response_action": "errors", "errors": errors}
        assert row_counts(running.engine) == counts
        assert len(running.fake.calls_to("chat.postMessage")) == posted
        assert len(running.fake.response_posts) == answers


# --- buttons ----------------------------------------------------------------------------------------------


def test_share_posts_the_status_in_the_channel_and_deletes_the_private_copy(running: RunningApp) -> None:
    command(running, 'new "Churn model v2" ds:<@U0BOB|bob>')
    private = running.slack.command("status")
    value = button_value(private.json, "status_share")
    assert json.loads(value) == {"k": "channel", "p": 1, "c": GENERAL}

    shared, deleted = click(running, "status_share", value, user=BOB)

    assert shared["response_type"] == "in_channel"
    assert shared["replace_original"] is False
    text = all_text(shared)
    assert "*Churn model v2*" in text
    assert "1 initiative · shared by <@U0BOB>" in text
    assert not any(b["type"] == "actions" for b in shared["blocks"])  # the channel's copy has no buttons
    assert not any("accessory" in b for b in shared["blocks"])
    assert deleted["delete_original"] is True
    assert not deleted.get("blocks") and not deleted.get("text")


def test_details_button_answers_privately_with_the_detail(running: RunningApp) -> None:
    command(running, 'new "Churn model v2" ds:<@U0BOB|bob> due:2027-03-01')
    initiative = load(running.engine, "Churn model v2")
    listing = running.slack.command("list")
    # The card's menu offers Details (tests/e2e/test_card_menu.py picks it); the button's listener still answers.
    [menu] = [b["accessory"] for b in listing.json["blocks"] if "accessory" in b]
    assert json.loads(menu["options"][0]["value"]) == {"s": "details", "k": "all", "p": 1, "i": initiative.id}
    value = json.dumps({"k": "detail", "p": 1, "i": initiative.id})

    [detail] = click(running, "status_detail", value)

    assert detail["response_type"] == "ephemeral"
    assert detail["replace_original"] is False
    assert detail["blocks"][0]["text"]["text"] == "Churn model v2"
    text = all_text(detail)
    assert "*DS lead:* <@U0BOB>" in text
    assert "*Target date:* 2027-03-01" in text
    assert f"<{initiative.thread_permalink}|kickoff thread>" in text


def test_new_initiative_button_on_app_home_opens_the_modal(running: RunningApp) -> None:
    assert click(running, "home_new_initiative", container={"type": "view", "view_id": "VHOME"}) == []

    [call] = running.fake.calls_to("views.open")
    assert call.response["ok"] is True
    view = call.args["view"]
    assert view["callback_id"] == "new_initiative"
    assert [b["block_id"] for b in view["blocks"]] == BLOCK_IDS
    channel_element = view["blocks"][1]["element"]
    assert channel_element["default_to_current_conversation"] is True
    assert "initial_conversation" not in channel_element


# --- events -----------------------------------------------------------------------------------------------


def test_app_home_lists_the_viewers_own_initiatives(running: RunningApp) -> None:
    command(running, 'new "Churn model v2" goal:"Cut churn by 5%"', user=ALICE)
    command(running, 'new "Pricing engine" embedded:<@U0ALICE|alice>', user=BOB)
    command(running, 'new "Search ranking"', user=CAROL)

    result = running.slack.event({"type": "app_home_opened", "user": ALICE, "channel": "D0ALICE", "tab": "home"})
    assert (result.status, result.body) == (200, "")
    running.settle()

    [call] = running.fake.calls_to("views.publish")
    assert call.args["user_id"] == ALICE
    assert call.response["ok"] is True
    view = running.fake.home_views[ALICE]
    assert view["type"] == "home"
    text = all_text(view)
    assert "*Churn model v2* `churn` · discovery for 0d" in text
    assert "Cut churn by 5%" in text
    assert "*Pricing engine* `pricing` · discovery for 0d" in text
    assert "Search ranking" not in text
    assert "home_new_initiative" in text


def test_app_home_for_someone_without_initiatives_says_so(running: RunningApp) -> None:
    command(running, 'new "Churn model v2"', user=ALICE)

    running.slack.event({"type": "app_home_opened", "user": DAVE, "channel": "D0DAVE", "tab": "home"})
    running.settle()

    text = all_text(running.fake.home_views[DAVE])
    assert "You are not a lead, embedded engineer or creator of any active initiative." in text
    assert "Churn model v2" not in text


def test_user_change_refreshes_the_cached_profile_used_for_admin_checks(running: RunningApp) -> None:
    command(running, 'new "Churn model v2"', user=ALICE)
    command(running, 'new "Dave support" embedded:<@U0DAVE|dave>', user=ALICE)  # caches Dave's profile
    cached = cached_user(running, DAVE)
    assert cached is not None
    assert (cached.tz, cached.is_admin) == ("UTC", False)

    result = running.slack.event(user_change_event(DAVE, "dave", tz="Asia/Tokyo", is_admin=True))
    assert (result.status, result.body) == (200, "")
    running.settle()

    cached = cached_user(running, DAVE)
    assert cached is not None
    assert (cached.tz, cached.is_admin, cached.real_name, cached.fetched_at) == (
        "Asia/Tokyo",
        True,
        "Dave Outsider",
        NOW,
    )
    [allowed] = command(running, "phase churn research", user=DAVE)
    assert "*Churn model v2* is now in *research*" in all_text(allowed)
    assert load(running.engine, "Churn model v2").phase == "research"
    assert [c.args["user"] for c in running.fake.calls_to("users.info")] == [DAVE]  # once, before the event


def test_user_change_for_an_uncached_user_is_stored(running: RunningApp) -> None:
    result = running.slack.event(user_change_event(DAVE, "dave", tz="Asia/Tokyo"))
    assert (result.status, result.body) == (200, "")
    running.settle()

    cached = cached_user(running, DAVE)
    assert cached is not None
    assert (cached.name, cached.tz, cached.is_admin, cached.is_bot, cached.deleted) == (
        "dave",
        "Asia/Tokyo",
        False,
        False,
        False,
    )
    assert running.fake.calls_to("users.info") == []


def test_a_refused_admin_check_keeps_the_profile_it_fetched(running: RunningApp) -> None:
    """users.info is Tier 4: a profile fetched for a check that says "no" is still worth caching."""
    command(running, 'new "Churn model v2"', user=ALICE)

    for _ in range(2):
        [refused] = command(running, "phase churn research", user=DAVE)
        assert "Only the initiative's leads" in all_text(refused)

    assert [c.args["user"] for c in running.fake.calls_to("users.info")] == [DAVE]
    cached = cached_user(running, DAVE)
    assert cached is not None
    assert (cached.tz, cached.is_admin) == ("UTC", False)


def test_a_rate_limited_people_check_does_not_hold_up_the_ack(running: RunningApp) -> None:
    """In the ack the form is checked without waiting out Slack; the people are then checked after it."""
    view = open_modal(running)
    running.fake.fail_next("users.info", error="ratelimited", retry_after=30)
    result = running.slack.submit_view(view, state(name="Fast ack", channel=CHURN, ds=BOB), response_channel=CHURN)
    assert result.status == 200 and result.body == ""
    assert result.seconds < 1.0, "the ack waited for Slack's Retry-After"
    running.settle()
    assert load(running.engine, "Fast ack").ds_lead_id == BOB


def test_a_bot_picked_in_a_form_is_refused_after_the_ack_when_slack_was_limiting(running: RunningApp) -> None:
    view = open_modal(running)
    running.fake.fail_next("users.info", error="ratelimited", retry_after=30)
    result = running.slack.submit_view(view, state(name="Bot lead", channel=CHURN, ds=ROBOT), response_channel=CHURN)
    assert result.status == 200 and result.body == ""
    running.settle()
    assert row_counts(running.engine) == (0, 0)
    [answer] = [p.body for p in running.fake.response_posts]
    assert "is a bot, not a person" in all_text(answer)
    assert running.fake.messages_in(CHURN) == []
