"""`/handoff blocker|blockers` end to end: reported and resolved over HTTP, told in the initiative's thread, listed
privately in the ack, and carried by the scheduled digest with its Resolve button; Slack played by FakeSlack."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot import ids
from storage.models import Blocker
from tests.conftest import RunningApp
from tests.e2e.test_digests import (
    CHURN_V2,
    NEW_CHURN,
    TUESDAY,
    digests,
    payload,
    run_jobs_at,
    section_about,
    sections,
    utc,
)
from tests.support.blockkit import all_text, button_values
from tests.support.e2e import (
    Thread,
    blocks_of,
    click_in_channel,
    create,
    kickoff_of,
    load,
    mrkdwn_strings,
    private_answer,
    replies,
    run,
)
from tests.support.workspace import ALICE, BOB, CAROL, NOW

REPORTED = ":white_check_mark: Reported `churn#b{}`; it stays in the digest until someone resolves it"
NASTY = "<!channel> & <@U0BOB>"  # as typed and stored
NASTY_SHOWN = "&lt;!channel&gt; &amp; &lt;@U0BOB&gt;"  # as Slack sends it in the command, and as it must be shown


# --- helpers ----------------------------------------------------------------------------------------------


@pytest.fixture
def churn(running: RunningApp) -> Thread:
    """`Churn model v2` (ref `churn`) created through `/handoff new` in #general: Bob leads DS, Carol eng."""
    create(running, NEW_CHURN)
    kickoff = kickoff_of(running, CHURN_V2)
    return Thread(channel=kickoff.channel, ts=kickoff.ts, permalink="")


def blockers(engine: Engine) -> list[Blocker]:
    with Session(engine) as session:
        return list(session.exec(select(Blocker).order_by(col(Blocker.id))).all())


def the_blocker(engine: Engine, number: int) -> Blocker:
    [found] = [b for b in blockers(engine) if b.number == number]
    return found


def report(running: RunningApp, text: str, *, user: str = ALICE, number: int = 1) -> str:
    answer = private_answer(running, f"blocker churn {text}", user=user)
    assert answer.startswith(REPORTED.format(number)), answer
    return answer


def thread_texts(running: RunningApp, thread: Thread) -> list[str]:
    return [b["text"]["text"] for m in replies(running, thread) for b in blocks_of(m) if b["type"] == "section"]


def no_raw_mentions(strings: list[str]) -> bool:
    return not [s for s in strings if "<!channel>" in s or "<@U0BOB>" in s]


# --- reporting --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "stored", "label"),
    [
        ("on:eng", "on-eng", "DS waiting on engineering"),
        ("on:DS", "on-ds", "engineering waiting on DS"),
        ("on:platform", "on-platform", "both waiting on data/platform"),
        ("", None, None),
    ],
)
def test_a_report_is_stored_posted_in_the_thread_with_its_direction_and_confirmed_privately(
    running: RunningApp, churn: Thread, option: str, stored: str | None, label: str | None
) -> None:
    before = len(replies(running, churn))
    answer = report(running, f'"No read access to the events table" {option}', user=BOB)
    assert "`/handoff blocker resolve churn#b1`" in answer

    [row] = blockers(running.engine)
    assert (row.initiative_id, row.number, row.text) == (
        load(running.engine, CHURN_V2).id,
        1,
        "No read access to the events table",
    )
    assert (row.direction, row.reported_by, row.reported_at) == (stored, BOB, NOW)
    assert (row.resolved_by, row.resolved_at) == (None, None)

    [post] = replies(running, churn)[before:]
    assert post.text == "Blocker churn#b1: No read access to the events table"
    [block] = blocks_of(post)
    expected = f":construction: <@{BOB}> reported a blocker, `churn#b1`: *No read access to the events table*"
    assert block["text"]["text"] == expected + (f"\n_{label}_" if label else "")
    button = block["accessory"]
    assert (button["action_id"], button["text"]["text"], button["value"]) == (
        ids.ACTION_RESOLVE_BLOCKER,
        "Resolve churn#b1",
        "churn#b1",
    )


def test_blockers_are_numbered_per_initiative_and_unquoted_words_count_as_the_text(
    running: RunningApp, churn: Thread
) -> None:
    report(running, '"First" on:eng')
    report(running, "Second  one   on:ds", user=CAROL, number=2)
    create(running, 'new "Pricing engine" ds:<@U0BOB|bob>')
    assert private_answer(running, 'blocker pricing "Elsewhere"').startswith(
        REPORTED.format(1).replace("churn", "pricing")
    )
    rows = blockers(running.engine)
    assert [(b.number, b.text, b.direction, b.reported_by) for b in rows] == [
        (1, "First", "on-eng", ALICE),
        (2, "Second one", "on-ds", CAROL),
        (1, "Elsewhere", None, ALICE),
    ]


BAD_INPUT = [
    ("blocker", "`blocker` needs the initiative"),
    ("blocker churn", "Say what blocks the work"),
    ("blocker churn on:eng", "Say what blocks the work"),
    ('blocker churn "   "', "Say what blocks the work"),
    ('blocker churn "No access" on:mars', '"mars" is not a direction'),
    ('blocker churn "No access" on:eng on:ds', "Give the direction once"),
    ('blocker pricing "No access"', 'No initiative called "pricing"'),
    ("blocker resolve", "`blocker resolve` needs one blocker reference"),
    ("blocker resolve churn#3", "A blocker reference looks like `churn#b2`"),
    ("blocker resolve churn#b9", 'No blocker "churn#b9"'),
    ("blocker resolve pricing#b1", 'No initiative called "pricing"'),
    ("blockers pricing", 'No initiative called "pricing"'),
]


def test_bad_input_gets_a_private_answer_with_usage_and_writes_nothing(running: RunningApp, churn: Thread) -> None:
    report(running, '"No read access"')
    rows = [b.model_dump() for b in blockers(running.engine)]
    posted = len(running.fake.calls_to("chat.postMessage"))
    problems = []
    for text, expected in BAD_INPUT:
        answer = private_answer(running, text)
        if expected not in answer or "Usage:" not in answer:
            problems.append(f"{text}: {answer!r}")
        if [b.model_dump() for b in blockers(running.engine)] != rows:
            problems.append(f"{text}: the database changed")
        if len(running.fake.calls_to("chat.postMessage")) != posted:
            problems.append(f"{text}: posted a message")
    assert not problems, "\n".join(problems)


def test_an_archived_initiative_refuses_new_blockers(running: RunningApp, churn: Thread) -> None:
    assert ":white_check_mark: Archived" in private_answer(running, "archive churn")
    before = len(replies(running, churn))
    answer = private_answer(running, 'blocker churn "Too late"')
    assert f'"{CHURN_V2}" is archived; its blockers are frozen.' in answer, answer
    assert blockers(running.engine) == [] and len(replies(running, churn)) == before


# --- listing and resolving --------------------------------------------------------------------------------


def test_blockers_lists_the_open_ones_oldest_first_with_their_age_in_the_ack(
    running: RunningApp, churn: Thread
) -> None:
    result, posts = run(running, "blockers churn")
    assert posts == [] and "Nothing blocks *Churn model v2* right now." in result.text

    report(running, '"No read access" on:eng')
    running.clock.set(NOW + timedelta(days=1))
    report(running, '"Gone soon"', user=BOB, number=2)
    report(running, '"Feature store is flaky" on:platform', user=CAROL, number=3)
    private_answer(running, "blocker resolve churn#b2")
    running.clock.set(NOW + timedelta(days=3))

    result, posts = run(running, "blockers churn")
    assert posts == [] and result.json.get("response_type", "ephemeral") == "ephemeral"
    assert result.json["text"] == "2 open blockers in Churn model v2"
    listed = [b for b in result.json["blocks"] if b["type"] == "section"]
    assert [b["text"]["text"] for b in listed] == [
        f":construction: `churn#b1` *No read access* · DS waiting on engineering · open 3 days, reported by <@{ALICE}>",
        ":construction: `churn#b3` *Feature store is flaky* · both waiting on data/platform · open 2 days, "
        f"reported by <@{CAROL}>",
    ]
    assert button_values(result.json, ids.ACTION_RESOLVE_BLOCKER) == ["churn#b1", "churn#b3"]


def test_resolve_by_command_posts_in_the_thread_and_twice_is_refused(running: RunningApp, churn: Thread) -> None:
    report(running, '"No read access" on:eng', user=BOB)
    before = len(replies(running, churn))
    running.clock.set(NOW + timedelta(hours=5))
    assert private_answer(running, "blocker resolve churn#B1", user=CAROL).startswith(
        ":white_check_mark: Resolved `churn#b1`."
    )
    row = the_blocker(running.engine, 1)
    assert (row.resolved_by, row.resolved_at, row.reported_by) == (CAROL, NOW + timedelta(hours=5), BOB)
    [post] = replies(running, churn)[before:]
    assert post.text == "Blocker churn#b1 resolved"
    assert thread_texts(running, churn)[-1] == f":white_check_mark: <@{CAROL}> resolved `churn#b1`: No read access"

    running.clock.set(NOW + timedelta(hours=6))
    again = private_answer(running, "blocker resolve churn#b1", user=BOB)
    assert f"`churn#b1` was already resolved by <@{CAROL}>." in again
    assert the_blocker(running.engine, 1).model_dump() == row.model_dump()
    assert len(replies(running, churn)) == before + 1
    assert "Nothing blocks" in running.slack.command("blockers churn").text


def test_the_thread_posts_resolve_button_resolves_it_and_a_second_click_changes_nothing(
    running: RunningApp, churn: Thread
) -> None:
    report(running, '"No read access"')
    [value] = button_values(payload(replies(running, churn)[-1]), ids.ACTION_RESOLVE_BLOCKER)
    [answer] = click_in_channel(running, ids.ACTION_RESOLVE_BLOCKER, value, user=BOB)
    assert (answer["response_type"], answer.get("replace_original")) == ("ephemeral", False)
    assert answer["text"] == ":white_check_mark: Resolved `churn#b1`."
    row = the_blocker(running.engine, 1)
    assert (row.resolved_by, row.resolved_at) == (BOB, NOW)
    assert "resolved `churn#b1`" in thread_texts(running, churn)[-1]
    posts = len(replies(running, churn))

    [second] = click_in_channel(running, ids.ACTION_RESOLVE_BLOCKER, value, user=CAROL)
    assert second["response_type"] == "ephemeral" and f"already resolved by <@{BOB}>" in all_text(second)
    assert the_blocker(running.engine, 1).model_dump() == row.model_dump()
    assert len(replies(running, churn)) == posts


def test_blocker_text_that_looks_like_mentions_pings_nobody(running: RunningApp, churn: Thread) -> None:
    report(running, f'"{NASTY_SHOWN}" on:eng')
    assert the_blocker(running.engine, 1).text == NASTY
    reported = payload(replies(running, churn)[-1])
    assert any(NASTY_SHOWN in s for s in mrkdwn_strings(reported)) and no_raw_mentions(mrkdwn_strings(reported))

    listing = running.slack.command("blockers churn").json
    assert any(NASTY_SHOWN in s for s in mrkdwn_strings(listing)) and no_raw_mentions(mrkdwn_strings(listing))

    run_jobs_at(running, TUESDAY)
    digest = payload(digests(running)[-1])
    assert any(NASTY_SHOWN in s for s in mrkdwn_strings(digest)) and no_raw_mentions(mrkdwn_strings(digest))

    private_answer(running, "blocker resolve churn#b1")
    resolved = payload(replies(running, churn)[-1])
    assert any(NASTY_SHOWN in s for s in mrkdwn_strings(resolved)) and no_raw_mentions(mrkdwn_strings(resolved))


# --- the digest -------------------------------------------------------------------------------------------


def blocker_lines(running: RunningApp) -> list[str]:
    return [line for line in section_about(digests(running)[-1], CHURN_V2).split("\n") if "`churn#b" in line]


def test_the_digest_shows_new_then_open_blockers_until_resolved_and_its_button_resolves(
    running: RunningApp, churn: Thread
) -> None:
    run_jobs_at(running, TUESDAY)
    run_jobs_at(running, utc(6))
    assert digests(running)[-1].text == "Daily digest: nothing new since the previous digest"

    running.clock.set(utc(6, 10))  # Wednesday: reported after the day's digest
    report(running, '"No read access" on:eng', user=BOB)
    run_jobs_at(running, utc(7))
    thursday = digests(running)[-1]
    assert thursday.text != "Daily digest: nothing new since the previous digest" and len(thursday.blocks or []) > 1
    assert blocker_lines(running) == [
        f":new: :construction: `churn#b1` *No read access* · DS waiting on engineering · open 0 days, "
        f"reported by <@{BOB}>"
    ]
    assert button_values(payload(thursday), ids.ACTION_RESOLVE_BLOCKER) == ["churn#b1"]
    resolve = [e for b in thursday.blocks or [] if b["type"] == "actions" for e in b["elements"]]
    assert "Resolve churn#b1" in [e["text"]["text"] for e in resolve]

    running.clock.set(utc(7, 10))  # Thursday: a second one, so Friday's digest has news
    report(running, '"Flaky feature store"', user=CAROL, number=2)
    run_jobs_at(running, utc(8))
    assert blocker_lines(running) == [
        f":new: :construction: `churn#b2` *Flaky feature store* · open 0 days, reported by <@{CAROL}>",
        f":construction: `churn#b1` *No read access* · DS waiting on engineering · open 1 day, reported by <@{BOB}>",
    ]
    friday = digests(running)[-1]
    assert button_values(payload(friday), ids.ACTION_RESOLVE_BLOCKER) == ["churn#b1"]  # the oldest open one

    running.clock.set(utc(8, 9))  # b2 resolved from its Resolve button in the thread
    [answer] = click_in_channel(running, ids.ACTION_RESOLVE_BLOCKER, "churn#b2", user=BOB)
    assert answer["response_type"] == "ephemeral" and answer["text"] == ":white_check_mark: Resolved `churn#b2`."
    row = the_blocker(running.engine, 2)
    assert (row.resolved_by, row.resolved_at) == (BOB, utc(8, 9))
    assert thread_texts(running, churn)[-1] == f":white_check_mark: <@{BOB}> resolved `churn#b2`: Flaky feature store"

    run_jobs_at(running, utc(11))  # Monday: b2 is gone, b1 is still open with its age
    monday = digests(running)[-1]
    assert blocker_lines(running) == [
        f":construction: `churn#b1` *No read access* · DS waiting on engineering · open 4 days, reported by <@{BOB}>"
    ]
    assert "churn#b2" not in json.dumps(monday.blocks)
    assert button_values(payload(monday), ids.ACTION_RESOLVE_BLOCKER) == ["churn#b1"]
    assert all("churn#b" not in s for s in sections(digests(running)[1]))  # Wednesday's one line had none


def test_a_blocker_reported_and_resolved_between_digests_is_shown_once_as_resolved(
    running: RunningApp, churn: Thread
) -> None:
    run_jobs_at(running, TUESDAY)
    running.clock.set(utc(5, 10))
    report(running, '"Short-lived"')
    private_answer(running, "blocker resolve churn#b1", user=BOB)
    run_jobs_at(running, utc(6))
    assert blocker_lines(running) == [f":new: :construction: `churn#b1` *Short-lived* · resolved by <@{BOB}>"]
    assert button_values(payload(digests(running)[-1]), ids.ACTION_RESOLVE_BLOCKER) == []
    run_jobs_at(running, utc(7))
    assert digests(running)[-1].text == "Daily digest: nothing new since the previous digest"


def test_ten_long_open_blockers_do_not_push_the_rest_of_the_digest_entry_out(
    running: RunningApp, churn: Thread
) -> None:
    """Five blockers from yesterday and five new ones, each a realistic 240 characters: the digest entry must still
    name every one it lists (or point to `blockers churn`) and keep the readiness line that follows them."""
    detail = "; the export job needs read access to events.raw_clicks and the service account request is still open"
    for n in range(1, 11):
        if n == 6:
            run_jobs_at(running, TUESDAY)
            running.clock.set(utc(5, 10))
        report(running, f'"Blocker {n}{detail * 3}"'[:242] + '" on:platform', number=n)
    run_jobs_at(running, utc(6))
    entry = section_about(digests(running)[-1], CHURN_V2)
    missing = [f"churn#b{n}" for n in range(1, 11) if f"`churn#b{n}`" not in entry]
    assert "Ready 0/3 for development" in entry and (not missing or "`/handoff blockers churn`" in entry), (
        f"{len(entry)} characters; lost {missing} and the readiness line: ...{entry[-200:]}"
    )


def test_a_day_without_news_still_names_the_open_blockers(running: RunningApp, churn: Thread) -> None:
    """The one-line digest of a quiet day keeps open blockers in sight: how many, and how old the oldest is."""
    running.clock.set(utc(4, 10))
    report(running, '"No read access to events"')
    run_jobs_at(running, TUESDAY)
    run_jobs_at(running, utc(8))
    quiet_day = digests(running)[-1]
    assert quiet_day.text == "Daily digest: nothing new since the previous digest"
    assert "Still open: :construction: 1 blocker (the oldest open 3 days)" in all_text(payload(quiet_day))
