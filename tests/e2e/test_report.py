"""`/handoff report` end to end: the private answer after the ack, its Share in channel, and bad input refused with
the usage and nothing written."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot import ids
from bot.fake_slack import FakeChannel
from handlers.uploads import CHART_UNAVAILABLE
from tests.conftest import RunningApp
from tests.support.blockkit import all_text, button_values
from tests.support.e2e import click, create, private_answer, row_counts, run
from tests.support.workspace import ALICE, BOB, CHURN, GENERAL

ELSEWHERE = "C0ELSEWHERE"  # a public channel Handoff was never invited to

NEW_CHURN = 'new "Churn model v2" ds:<@U0BOB|bob> eng:<@U0ALICE|alice>'
USAGE = "/handoff report #churn 30d"


@pytest.fixture
def churn(running: RunningApp) -> None:
    """Created in #general on Monday, moved to research two days later."""
    create(running, NEW_CHURN)
    running.clock.advance(timedelta(days=2))
    assert ":white_check_mark:" in private_answer(running, 'phase churn research "data access granted"')


def test_report_answers_privately_after_the_ack_with_this_channels_figures(running: RunningApp, churn: None) -> None:
    result, posts = run(running, "report")

    assert result.body == "", "the report is computed after the ack"
    [answer] = posts
    assert answer["response_type"] == "ephemeral"
    text = all_text(answer)
    assert "Report: This channel's initiatives, the last 90 days" in text
    assert "1 initiative in scope" in text and f"<#{GENERAL}>" in text
    assert "Entered in the window: discovery 1 → research 1 → summary 0" in text
    assert "• discovery: 2.0 / 2.0 d (1 stay)" in text
    assert "Reached production: *0* of 1 in the funnel (0%)" in text


def test_report_of_another_channel_or_the_workspace(running: RunningApp, churn: None) -> None:
    elsewhere = private_answer(running, f"report <#{CHURN}|churn> 30d")
    everywhere = private_answer(running, "report all quarter", channel=CHURN)

    assert "Report: #churn, the last 30 days" in elsewhere
    assert f"No initiative to report on: none has <#{CHURN}> as its home" in elsewhere
    assert "`/handoff report all` covers the whole workspace" in elsewhere
    assert "Report: All initiatives, this quarter (since Fri 1 Jan 2027)" in everywhere
    assert "1 initiative in scope (all initiatives)" in everywhere


def test_share_posts_the_report_in_the_channel_and_deletes_the_private_copy(running: RunningApp, churn: None) -> None:
    _, [private] = run(running, f"report <#{GENERAL}|general> since:2027-01-01")
    [value] = button_values(private, ids.ACTION_SHARE_ANSWER)
    assert json.loads(value) == {"v": "report", "s": f"{GENERAL}:general since:2027-01-01"}

    shared, deleted = click(running, ids.ACTION_SHARE_ANSWER, value, user=BOB, channel=GENERAL)

    assert (shared["response_type"], shared["replace_original"]) == ("in_channel", False)
    assert shared["text"] == private["text"]
    assert shared["blocks"][:-1] == private["blocks"][:-1]  # the Share button's block gives way to who shared it
    assert shared["blocks"][-1]["elements"][0]["text"] == f"Shared by <@{BOB}>"
    assert deleted["delete_original"] is True


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("report since:2027-13-01", "`since:2027-13-01` is not a date: there is no month 13"),
        ("report since:2027-02-01", "`since:2027-02-01` is in the future"),
        ("report 45d", "`45d` is neither a channel (picked with #), `all`, nor a window"),
        ("report #churn", "`#churn` is not a channel I can see: type # and pick the channel"),
        ("report all all", "Give one scope"),
        ("report 30d 90d", "Give one window"),
        ("report <b>bold</b>", "`&lt;b&gt;bold&lt;/b&gt;` is neither a channel"),
    ],
)
def test_bad_input_gets_the_usage_privately_and_writes_nothing(
    running: RunningApp, churn: None, text: str, problem: str
) -> None:
    before = row_counts(running.engine)

    result, posts = run(running, text, user=ALICE)

    assert posts == [] and result.json.get("response_type", "ephemeral") == "ephemeral"
    assert problem in result.text, result.text
    assert USAGE in result.text
    assert row_counts(running.engine) == before
    assert running.fake.files == []


def test_the_funnel_chart_is_shared_in_the_channel_the_report_was_asked_in(running: RunningApp, churn: None) -> None:
    _, [answer] = run(running, "report 30d")

    [file] = running.fake.files
    assert file.completed and file.content is not None and file.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert [(share.channel, share.thread_ts) for share in file.shares] == [(GENERAL, None)]
    assert file.title == "Phase funnel: This channel's initiatives, the last 30 days"
    assert "discovery 1" in file.alt_txt and "research 1" in file.alt_txt
    assert CHART_UNAVAILABLE not in all_text(answer)


def test_a_refused_chart_leaves_the_figures_with_a_note(running: RunningApp, churn: None) -> None:
    running.fake.add_channel(FakeChannel(ELSEWHERE, "elsewhere", members={ALICE, BOB}))

    _, [answer] = run(running, "report all", channel=ELSEWHERE)

    text = all_text(answer)
    assert "Reached production: *0* of 1 in the funnel" in text
    assert CHART_UNAVAILABLE in text
    assert running.fake.shared_files(ELSEWHERE) == []


def test_a_report_of_nothing_has_no_chart(running: RunningApp, churn: None) -> None:
    answer = private_answer(running, "report", channel=CHURN)

    assert "No initiative to report on" in answer and running.fake.files == []


def test_a_report_of_another_channel_keeps_its_chart_out_of_this_one(running: RunningApp, churn: None) -> None:
    """The answer is private, a shared chart is not: another (perhaps private) channel's funnel stays out of here."""
    run(running, "report 30d", channel=GENERAL)  # churn is at home here: its chart is shared here
    assert [share.channel for share in running.fake.files[0].shares] == [GENERAL]

    _, [elsewhere] = run(running, f"report <#{GENERAL}|general> 30d", channel=CHURN)

    text = all_text(elsewhere)
    assert "Reached production" in text
    assert f"The funnel chart is shared only in the channel it shows: ask `/handoff report` in <#{GENERAL}>" in text
    assert len(running.fake.files) == 1 and running.fake.shared_files(CHURN) == []
