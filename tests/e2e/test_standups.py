"""Standups end to end: the real app over HTTP, Slack played by FakeSlack, the scheduler's sweep run on the app's
fixed clock. Created at NOW (Monday 09:30 UTC), Carol (London) and Dave (UTC) are first asked on Tuesday."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from bot import ids
from bot.app import HandoffApp
from bot.checklist import Checklist, ChecklistConfig
from bot.fake_slack import FakeMessage
from handlers.outbox import RunReport
from storage.models import Blocker, JobRun, StandupPrompt
from tests.conftest import RunningApp, ServeApp
from tests.support.blockkit import all_text, nodes
from tests.support.e2e import Thread, click_in_channel, create, kickoff_of, load, private_answer, replies
from tests.support.factories import rows
from tests.support.slack_driver import TEAM_ID
from tests.support.workspace import ALICE, BOB, CAROL, DAVE, GENERAL

CHURN_V2 = "Churn model v2"
NEW_CHURN = f'new "{CHURN_V2}" ds:<@U0BOB|bob> eng:<@U0ALICE|alice> embedded:<@U0CAROL|carol>'
NEW_FRAUD = 'new "Fraud rules" ds:<@U0ALICE|alice> eng:<@U0CAROL|carol> embedded:<@U0BOB|bob>'
NEW_SEARCH = 'new "Search ranking" ds:<@U0BOB|bob> eng:<@U0ALICE|alice> embedded:<@U0DAVE|dave>'
Blocked = list[tuple[str, str | None]]  # blockers in the form, with who waits on whom


def utc(day: int, hour: int, minute: int = 0, month: int = 1) -> datetime:
    return datetime(2027, month, day, hour, minute, tzinfo=UTC)


# --- helpers ------------------------------------------------------------------------------------------------------


def sweep(running: RunningApp, moment: datetime | None = None, app: HandoffApp | None = None) -> RunReport:
    """What the scheduler's minute sweep does, at `moment` on the app's clock."""
    if moment is not None:
        running.clock.set(moment)
    standups = (app or running.app).standups
    assert standups is not None
    return standups.run_due()


def prompts(engine: Engine, user: str | None = None) -> list[StandupPrompt]:
    return rows(engine, StandupPrompt, *([StandupPrompt.user_id == user] if user else []))


def prompt_days(engine: Engine, user: str) -> list[str]:
    return [p.day.isoformat() for p in prompts(engine, user)]


def slot_runs(engine: Engine) -> list[JobRun]:
    return rows(engine, JobRun, JobRun.job == "standup")


def dms(running: RunningApp, user: str, prefix: str = "Standup for") -> list[FakeMessage]:
    return [m for m in running.fake.messages_in(user) if m.text.startswith(prefix)]


def dicts(blocks: list[Any] | None) -> list[dict[str, Any]]:
    return [n for n in nodes(blocks or []) if isinstance(n, dict)]


def buttons(message: FakeMessage) -> dict[str, dict[str, Any]]:
    return {n["action_id"]: n for n in dicts(message.blocks) if n.get("type") == "button"}


def text_of(message: FakeMessage) -> str:
    return all_text({"text": message.text, "blocks": message.blocks or []})


def value(prompt: StandupPrompt) -> str:
    return json.dumps({"p": prompt.id}, separators=(",", ":"))


def standup_posts(running: RunningApp) -> list[FakeMessage]:
    """The answers in the initiative's thread, as everyone sees them."""
    kickoff = kickoff_of(running, CHURN_V2)
    thread = replies(running, Thread(kickoff.channel, kickoff.ts, ""))
    return [m for m in thread if m.text.startswith("Standup from")]


def form_values(answers: list[str], blocked: Blocked | None = None) -> dict[str, Any]:
    def text(typed: str) -> dict[str, Any]:
        return {ids.INPUT_ACTION: {"type": "plain_text_input", "value": typed}}

    values = {ids.block_standup_answer(i): text(a) for i, a in enumerate(answers)}
    for i, (blocker, direction) in enumerate(blocked or []):
        option = {"value": direction} if direction else None
        values[ids.block_standup_blocker(i)] = text(blocker)
        values[ids.block_standup_direction(i)] = {
            ids.INPUT_ACTION: {"type": "static_select", "selected_option": option}
        }
    return values


def open_form(running: RunningApp, prompt: StandupPrompt, user: str = CAROL) -> dict[str, Any]:
    opened = len(running.fake.calls_to("views.open"))
    channel = prompt.prompt_channel or ""
    assert click_in_channel(running, ids.ACTION_STANDUP_ANSWER, value(prompt), user=user, channel=channel) == []
    calls = running.fake.calls_to("views.open")
    assert len(calls) == opened + 1
    view = calls[-1].args["view"]
    assert view["callback_id"] == ids.VIEW_STANDUP and json.loads(view["private_metadata"])["p"] == prompt.id
    return view


def submit(running: RunningApp, view: dict[str, Any], values: dict[str, Any], user: str = CAROL) -> None:
    result = running.slack.submit_view(view, values, user=user)
    assert (result.status, result.body) == (200, "")
    running.settle()


def answer(
    running: RunningApp, prompt: StandupPrompt, answers: list[str], blocked: Blocked | None = None, user: str = CAROL
) -> None:
    """Click Answer on the prompt, fill in the form and submit it, as the engineer does."""
    submit(running, open_form(running, prompt, user), form_values(answers, blocked), user)


def same_as_yesterday(running: RunningApp, prompt: StandupPrompt, user: str = CAROL) -> list[dict[str, Any]]:
    channel = prompt.prompt_channel or ""
    return click_in_channel(running, ids.ACTION_STANDUP_SAME, value(prompt), user=user, channel=channel)


@pytest.fixture
def churn(running: RunningApp) -> None:
    """Churn model v2 (ref `churn`), with Carol as its embedded engineer."""
    create(running, NEW_CHURN)


# --- when and to whom ---------------------------------------------------------------------------------------------


def test_each_engineer_is_asked_at_half_past_nine_in_their_own_time_zone(running: RunningApp, churn: None) -> None:
    create(running, NEW_FRAUD)
    create(running, NEW_SEARCH)
    names = {CAROL: CHURN_V2, BOB: "Fraud rules", DAVE: "Search ranking"}

    sweep(running, utc(4, 14, 29))
    assert prompts(running.engine) == []
    sweep(running, utc(4, 14, 30))  # 09:30 in New York; Carol's and Dave's Monday 09:30 was the creation moment
    assert [p.user_id for p in prompts(running.engine)] == [BOB]
    sweep(running, utc(5, 9, 29))
    assert len(prompts(running.engine)) == 1
    sweep(running, utc(5, 9, 30))  # 09:30 in London (GMT) and in UTC
    sweep(running, utc(5, 14, 29))
    assert sorted(p.user_id for p in prompts(running.engine)) == [BOB, CAROL, DAVE]
    sweep(running, utc(5, 14, 30))

    expected = {
        CAROL: [("2027-01-05", "Europe/London", utc(5, 9, 30))],
        DAVE: [("2027-01-05", "UTC", utc(5, 9, 30))],
        BOB: [("2027-01-04", "America/New_York", utc(4, 14, 30)), ("2027-01-05", "America/New_York", utc(5, 14, 30))],
    }
    for user, days in expected.items():
        assert [(p.day.isoformat(), p.timezone, p.prompted_at) for p in prompts(running.engine, user)] == days
        latest = dms(running, user)[-1]  # Bob's Monday prompt says "Missed" by now
        assert "Standup · " in text_of(latest) and ids.ACTION_STANDUP_SAME not in buttons(latest)
        assert buttons(latest)[ids.ACTION_STANDUP_ANSWER]["value"] == value(prompts(running.engine, user)[-1])
        assert len(dms(running, user)) == len(days)
    runs = {(r.target, r.slot): r.state for r in slot_runs(running.engine)}
    targets = {u: f"{TEAM_ID}:{load(running.engine, n).id}:{u}" for u, n in names.items()}
    assert runs == {(targets[u], day): "done" for u, days in expected.items() for day, _zone, _at in days}


@pytest.mark.parametrize(
    ("user", "zone", "days"),
    [
        # Britain moves to summer time on Sunday 2027-03-28: 09:30 is 09:30 UTC before, 08:30 UTC after.
        (CAROL, "Europe/London", {25: 9, 26: 9, 29: 8, 30: 8}),
        # New York on Sunday 2027-03-14: 09:30 is 14:30 UTC before, 13:30 UTC after.
        (BOB, "America/New_York", {11: 14, 12: 14, 15: 13, 16: 13}),
    ],
    ids=["london", "new-york"],
)
def test_the_local_time_stays_half_past_nine_across_daylight_saving(
    running: RunningApp, user: str, zone: str, days: dict[int, int]
) -> None:
    running.clock.set(utc(min(days) - 2, 18, month=3))
    create(running, f'new "{CHURN_V2}" ds:<@U0ALICE|alice> eng:<@U0ALICE|alice> embedded:<@{user}|x>')
    for number, (day, hour) in enumerate(days.items(), start=1):
        due = utc(day, hour, 30, month=3)
        sweep(running, due - timedelta(minutes=1))
        assert len(prompts(running.engine)) == number - 1, f"March {day}: asked before 09:30 local"
        sweep(running, due)
        sweep(running, due + timedelta(hours=1))
        [*_, latest] = prompts(running.engine)
        assert (latest.user_id, latest.day, latest.prompted_at) == (user, date(2027, 3, day), due)
        assert latest.prompted_at.astimezone(ZoneInfo(zone)).strftime("%H:%M") == "09:30"
    assert len(dms(running, user)) == len(days)


def test_weekends_are_skipped_unless_the_standup_runs_daily(running: RunningApp, churn: None) -> None:
    for day in range(5, 11):  # Tuesday to Sunday, every few hours
        for hour in (9, 12, 18, 23):
            sweep(running, utc(day, hour, 45))
    assert prompt_days(running.engine, CAROL) == ["2027-01-05", "2027-01-06", "2027-01-07", "2027-01-08"]
    assert {r.slot for r in slot_runs(running.engine)} == set(prompt_days(running.engine, CAROL))

    sweep(running, utc(11, 9, 30))
    assert "every day at 09:45 (Europe/London)" in private_answer(running, "standup churn at 09:45 daily")
    for day in range(12, 18):  # Tuesday to Sunday
        sweep(running, utc(day, 9, 44))
        sweep(running, utc(day, 9, 45))
    assert prompt_days(running.engine, CAROL)[-7:] == [f"2027-01-{d}" for d in range(11, 18)]
    assert [p.prompted_at.time().isoformat() for p in prompts(running.engine)][-6:] == ["09:45:00"] * 6


def test_no_prompts_while_away_and_they_resume_after(running: RunningApp, churn: None) -> None:
    assert "Away from Mon 4 Jan 2027 to Wed 6 Jan 2027" in private_answer(running, "away 3d", user=CAROL)
    for day in (5, 6, 7, 8):
        sweep(running, utc(day, 9, 30))
    assert prompt_days(running.engine, CAROL) == ["2027-01-07", "2027-01-08"]
    skipped = [(r.slot, r.state, r.last_error) for r in slot_runs(running.engine) if r.state == "skipped"]
    assert skipped == [("2027-01-05", "skipped", "away"), ("2027-01-06", "skipped", "away")]

    assert "Away from Mon 11 Jan 2027 to Fri 15 Jan 2027" in private_answer(
        running, "away 2027-01-11 2027-01-15", user=CAROL
    )
    assert "Mon 11 Jan 2027 to Fri 15 Jan 2027" in private_answer(running, "away", user=CAROL)
    sweep(running, utc(11, 9, 30))
    sweep(running, utc(12, 9, 30))
    assert "Welcome back" in private_answer(running, "away off", user=CAROL)
    assert "no time away" in private_answer(running, "away", user=CAROL)
    sweep(running, utc(13, 9, 30))
    assert prompt_days(running.engine, CAROL) == ["2027-01-07", "2027-01-08", "2027-01-13"]
    assert len(dms(running, CAROL)) == 3


def test_no_prompt_on_a_holiday(serve_app: ServeApp, engine: Engine) -> None:
    checklist = ChecklistConfig(default=Checklist(holidays=frozenset({date(2027, 1, 6)})))
    with serve_app(checklist=checklist) as running:
        create(running, NEW_CHURN)
        for day in (5, 6, 7):
            sweep(running, utc(day, 9, 30))
            sweep(running, utc(day, 15, 0))
        assert prompt_days(engine, CAROL) == ["2027-01-05", "2027-01-07"]
        [holiday] = [r for r in slot_runs(engine) if r.slot == "2027-01-06"]
        assert (holiday.state, holiday.last_error) == ("skipped", "a holiday")
        assert len(dms(running, CAROL)) == 2


# --- reminders and missed days ------------------------------------------------------------------------------------


def test_one_reminder_after_three_hours_then_missed_when_the_day_ends(running: RunningApp, churn: None) -> None:
    sweep(running, utc(5, 9, 30))
    [prompt] = prompts(running.engine)
    sweep(running, utc(5, 12, 29))
    assert dms(running, CAROL, "Reminder") == []
    for moment in (utc(5, 12, 30), utc(5, 13, 0), utc(5, 18, 0), utc(5, 23, 59)):
        sweep(running, moment)
    [reminder] = dms(running, CAROL, "Reminder")
    assert buttons(reminder)[ids.ACTION_STANDUP_ANSWER]["value"] == value(prompt)
    assert prompts(running.engine)[0].reminded_at == utc(5, 12, 30)

    sweep(running, utc(6, 0, 1))  # midnight in London: Tuesday is over
    sweep(running, utc(6, 0, 2))
    [missed] = prompts(running.engine)
    assert (missed.state, missed.prompt_ts) == ("missed", prompt.prompt_ts)
    updates = [c.args["channel"] for c in running.fake.calls_to("chat.update") if c.args["ts"] == prompt.prompt_ts]
    assert updates == [running.fake.dm_channel_id(CAROL)]
    [original] = [m for m in running.fake.messages_in(CAROL) if m.ts == prompt.prompt_ts]
    assert "Missed" in text_of(original) and buttons(original) == {}
    assert len(dms(running, CAROL, "Reminder")) == 1

    # Wednesday nobody sweeps between the prompt and midnight: no reminder comes the next day, only "missed".
    sweep(running, utc(6, 9, 30))
    sweep(running, utc(7, 0, 30))
    sweep(running, utc(7, 3, 0))
    assert [p.state for p in prompts(running.engine)] == ["missed", "missed"]
    assert len(dms(running, CAROL, "Reminder")) == 1


# --- answering ----------------------------------------------------------------------------------------------------


def test_an_answer_is_posted_once_in_the_thread_with_its_blockers(running: RunningApp, churn: None) -> None:
    sweep(running, utc(5, 9, 30))
    [prompt] = prompts(running.engine)
    running.clock.set(utc(5, 10, 15))
    typed = ["Trained v2 <!channel> & <@U0BOB>", "", "Rollout may slip"]
    answer(running, prompt, typed, [("Need prod read access", "on-eng"), ("Labels from DS", "on-ds")])

    [post] = standup_posts(running)
    shown = text_of(post)
    assert post.text == "Standup from <@U0CAROL> on Tue 5 Jan", "the notification names the engineer, not an id"
    assert "*Standup* from <@U0CAROL>, embedded engineer · Tue 5 Jan" in shown
    assert "Trained v2 &lt;!channel&gt; &amp; &lt;@U0BOB&gt;" in shown and "<!channel>" not in shown
    assert "_no answer_" in shown and "Rollout may slip" in shown
    assert "DS waiting on engineering" in shown and "engineering waiting on DS" in shown
    resolves = [n["value"] for n in dicts(post.blocks) if n.get("action_id") == ids.ACTION_RESOLVE_BLOCKER]
    assert resolves == ["churn#b1", "churn#b2"]
    tracked = [
        (b.number, b.text, b.direction, b.standup_prompt_id, b.reported_by) for b in rows(running.engine, Blocker)
    ]
    assert tracked == [
        (1, "Need prod read access", "on-eng", prompt.id, CAROL),
        (2, "Labels from DS", "on-ds", prompt.id, CAROL),
    ]
    [saved] = prompts(running.engine)
    assert (saved.state, saved.answered_at, saved.post_ts) == ("answered", utc(5, 10, 15), post.ts)
    [dm] = dms(running, CAROL)
    edit_button = buttons(dm)[ids.ACTION_STANDUP_ANSWER]
    assert "is posted in its thread" in text_of(dm) and edit_button["text"]["text"] == "Edit the answer"

    sweep(running, utc(5, 13, 0))  # answered: no reminder, and it is not missed when the day ends
    sweep(running, utc(6, 0, 5))
    assert dms(running, CAROL, "Reminder") == [] and prompts(running.engine)[0].state == "answered"
    assert running.app.jobs is not None
    running.clock.set(utc(6, 8, 0))  # Wednesday's digest, 09:00 in Berlin
    running.app.jobs.run_due()
    [digest] = [m for m in running.fake.messages_in(GENERAL) if m.text.startswith("Daily digest")]
    assert "Need prod read access" in text_of(digest) and "Labels from DS" in text_of(digest)


def test_editing_updates_the_same_post_and_keeps_or_resolves_its_blockers(running: RunningApp, churn: None) -> None:
    sweep(running, utc(5, 9, 30))
    [prompt] = prompts(running.engine)
    running.clock.set(utc(5, 10, 0))
    answer(running, prompt, ["First take", "", ""], [("Need prod read access", "on-eng"), ("Labels", "on-ds")])
    [post] = standup_posts(running)
    channel_before = len(running.fake.messages_in(GENERAL))

    running.clock.set(utc(5, 11, 0))
    view = open_form(running, prompt)
    initial = [n.get("initial_value") for n in dicts(view["blocks"]) if n.get("type") == "plain_text_input"]
    assert initial[:5] == ["First take", None, None, "Need prod read access", "Labels"]
    submit(running, view, form_values(["Second take"], [("Need prod read access", "on-platform"), ("GPU quota", None)]))

    assert len(running.fake.messages_in(GENERAL)) == channel_before  # nothing new in the thread
    assert [c.args["channel"] for c in running.fake.calls_to("chat.update") if c.args["ts"] == post.ts] == [
        post.channel
    ]
    [edited] = standup_posts(running)
    assert edited.ts == post.ts and "Second take" in text_of(edited) and "(edited)" in text_of(edited)
    assert "First take" not in text_of(edited) and "both waiting on data/platform" in text_of(edited)
    tracked = {b.text: (b.number, b.direction, b.resolved_by, b.resolved_at) for b in rows(running.engine, Blocker)}
    assert tracked == {
        "Need prod read access": (1, "on-platform", None, None),
        "Labels": (2, "on-ds", CAROL, utc(5, 11, 0)),
        "GPU quota": (3, None, None, None),
    }
    assert prompts(running.engine)[0].answered_at == utc(5, 10, 0)


def test_no_change_since_yesterday_reposts_the_answers_and_open_blockers(running: RunningApp, churn: None) -> None:
    sweep(running, utc(5, 9, 30))
    answer(running, prompts(running.engine)[0], ["Tuned features"], [("Prod access", "on-eng"), ("Labels", None)])
    assert click_in_channel(running, ids.ACTION_RESOLVE_BLOCKER, "churn#b2", user=ALICE)
    sweep(running, utc(6, 9, 30))
    tuesday, wednesday = prompts(running.engine)
    same = buttons(dms(running, CAROL)[-1])[ids.ACTION_STANDUP_SAME]
    assert same["value"] == value(wednesday) and same["confirm"]["confirm"]["text"] == "Post them"

    posts = same_as_yesterday(running, wednesday)
    assert ["Posted your standup" in all_text(p) for p in posts] == [True]
    first, repeated = standup_posts(running)
    assert first.ts != repeated.ts and "Wed 6 Jan" in text_of(repeated) and "Tuned features" in text_of(repeated)
    assert "Prod access" in text_of(repeated) and "Labels" not in text_of(repeated)
    assert [(b.text, b.standup_prompt_id, b.resolved_at is None) for b in rows(running.engine, Blocker)] == [
        ("Prod access", tuesday.id, True),
        ("Labels", tuesday.id, False),
    ]
    assert prompts(running.engine)[1].state == "answered"
    assert "already answered" in all_text(same_as_yesterday(running, wednesday)[0])
    assert len(standup_posts(running)) == 2


def test_no_change_two_days_running_still_carries_the_open_blocker(running: RunningApp, churn: None) -> None:
    sweep(running, utc(5, 9, 30))
    answer(running, prompts(running.engine)[0], ["Tuned features"], [("Prod access", "on-eng")])
    for day in (6, 7):
        sweep(running, utc(day, 9, 30))
        same_as_yesterday(running, prompts(running.engine)[-1])
    _tuesday, wednesday, thursday = standup_posts(running)
    assert [b.resolved_at for b in rows(running.engine, Blocker)] == [None]  # still open on Thursday
    assert "Prod access" in text_of(wednesday)
    assert "Prod access" in text_of(thursday), "Thursday's repeat dropped a blocker that is still open"


def test_only_the_engineer_asked_can_answer(running: RunningApp, churn: None) -> None:
    sweep(running, utc(5, 9, 30))
    [prompt] = prompts(running.engine)
    opened = len(running.fake.calls_to("views.open"))
    refused = click_in_channel(running, ids.ACTION_STANDUP_ANSWER, value(prompt), user=ALICE)
    assert len(refused) == 1 and refused[0]["response_type"] == "ephemeral"
    assert "This standup is <@U0CAROL>'s to answer" in all_text(refused[0])
    assert len(running.fake.calls_to("views.open")) == opened
    assert "<@U0CAROL>'s to answer" in all_text(same_as_yesterday(running, prompt, BOB)[0])

    view = open_form(running, prompt)  # Carol's form, submitted as Alice
    submit(running, view, form_values(["Not mine"]), user=ALICE)
    assert standup_posts(running) == [] and prompts(running.engine)[0].state == "prompted"
    assert "<@U0CAROL>'s to answer" in text_of(dms(running, ALICE, "")[-1])


# --- a new engineer -----------------------------------------------------------------------------------------------


def test_a_new_embedded_engineer_gets_the_following_prompts_in_their_own_zone(running: RunningApp, churn: None) -> None:
    sweep(running, utc(5, 9, 30))
    running.clock.set(utc(6, 0, 30))  # after Tuesday ended for Carol and for Dave
    assert "Updated embedded engineer" in private_answer(running, "edit churn embedded:<@U0DAVE|dave>")
    sweep(running, utc(6, 0, 31))
    sweep(running, utc(6, 9, 29))
    assert prompt_days(running.engine, DAVE) == []
    sweep(running, utc(6, 9, 30))  # 09:30 in UTC, Dave's zone
    assert prompt_days(running.engine, CAROL) == ["2027-01-05"] and prompts(running.engine, CAROL)[0].state == "missed"
    [prompt] = prompts(running.engine, DAVE)
    assert (prompt.day, prompt.timezone, prompt.prompted_at) == (date(2027, 1, 6), "UTC", utc(6, 9, 30))
    answer(running, prompt, ["Dave here"], user=DAVE)
    assert "from <@U0DAVE>" in text_of(standup_posts(running)[-1])

    running.clock.set(utc(6, 12, 0))  # 07:00 in New York: Bob's 09:30 is still ahead
    private_answer(running, "edit churn embedded:<@U0BOB|bob>")
    for moment in (utc(6, 14, 29), utc(6, 14, 30), utc(7, 9, 30), utc(7, 14, 30)):
        sweep(running, moment)
    assert prompt_days(running.engine, BOB) == ["2027-01-06", "2027-01-07"]
    assert [p.prompted_at for p in prompts(running.engine, BOB)] == [utc(6, 14, 30), utc(7, 14, 30)]
    assert prompt_days(running.engine, DAVE) == ["2027-01-06"] and prompt_days(running.engine, CAROL) == ["2027-01-05"]
    assert [len(dms(running, user)) for user in (CAROL, DAVE, BOB)] == [1, 1, 2]


def test_a_new_engineer_is_not_asked_for_a_morning_that_passed_before_the_change(
    running: RunningApp, churn: None
) -> None:
    sweep(running, utc(5, 9, 30))  # Carol is asked for Tuesday
    running.clock.set(utc(5, 10, 0))
    private_answer(running, "edit churn embedded:<@U0DAVE|dave>")
    sweep(running, utc(5, 10, 1))
    assert prompt_days(running.engine, DAVE) == [], "Dave was asked for Tuesday 09:30, before he was the engineer"
    sweep(running, utc(6, 9, 30))
    assert prompt_days(running.engine, DAVE) == ["2027-01-06"]


# --- replicas and downtime ----------------------------------------------------------------------------------------


@pytest.fixture
def replica(start_replica: Callable[..., HandoffApp], churn: None) -> HandoffApp:
    """A second process: its own app and engine on the same database file, the same Slack and clock."""
    return start_replica()


def test_two_schedulers_racing_in_threads_ask_each_person_once_a_day(running: RunningApp, replica: HandoffApp) -> None:
    create(running, NEW_FRAUD)
    create(running, NEW_SEARCH)
    apps = [running.app, replica]
    for day in range(5, 9):  # Tuesday to Friday, a fresh race each day
        for hour in (9, 14):
            running.clock.set(utc(day, hour, 45))
            start = threading.Barrier(len(apps))

            def race(app: HandoffApp, start: threading.Barrier = start) -> None:
                start.wait(timeout=10)
                assert app.standups is not None
                app.standups.run_due()

            with ThreadPoolExecutor(len(apps)) as pool:
                for future in [pool.submit(race, app) for app in apps]:
                    future.result(timeout=30)
    expected = [f"2027-01-0{d}" for d in range(5, 9)]
    for user in (CAROL, DAVE, BOB):
        assert prompt_days(running.engine, user) == expected, user  # Bob's Monday passed while down
        assert len(dms(running, user)) == len(prompts(running.engine, user)), user
    pairs = [(r.target, r.slot) for r in slot_runs(running.engine)]
    assert len(pairs) == len(set(pairs))
    assert len([r for r in slot_runs(running.engine) if r.state == "done"]) == len(prompts(running.engine))
    assert len(dms(running, CAROL, "Reminder")) == len(dms(running, DAVE, "Reminder")) == 4  # one a day


def test_a_prompt_missed_while_down_is_sent_once_that_day_and_skipped_after(
    running: RunningApp, replica: HandoffApp
) -> None:
    sweep(running, utc(5, 20, 0))  # down since Monday: Tuesday's prompt is still due in London
    sweep(running, utc(5, 20, 0), app=replica)
    sweep(running, utc(5, 20, 5))
    [prompt] = prompts(running.engine)
    assert (prompt.day, prompt.prompted_at) == (date(2027, 1, 5), utc(5, 20, 0))
    [run] = slot_runs(running.engine)
    assert (run.slot, run.due_at, run.state) == ("2027-01-05", utc(5, 9, 30), "done")
    assert len(dms(running, CAROL)) == 1

    sweep(running, utc(8, 0, 30), app=replica)  # down again until Friday just after midnight
    sweep(running, utc(8, 0, 31))
    assert prompt_days(running.engine, CAROL) == ["2027-01-05"]
    skipped = {r.slot: r.last_error for r in slot_runs(running.engine) if r.state == "skipped"}
    assert set(skipped) == {"2027-01-06", "2027-01-07"}
    assert all("missed while Handoff was down" in (reason or "") for reason in skipped.values())
    assert prompts(running.engine)[0].state == "missed"
    sweep(running, utc(8, 9, 30))
    assert prompt_days(running.engine, CAROL) == ["2027-01-05", "2027-01-08"] and len(dms(running, CAROL)) == 2


def test_the_prompt_greets_by_the_engineers_local_time_of_day(running: RunningApp, churn: None) -> None:
    assert "at 22:34" in private_answer(running, "standup churn at 22:34", user=CAROL)
    sweep(running, utc(4, 22, 34))  # 22:34 in London (GMT)
    [prompt] = dms(running, CAROL)
    assert "Good evening! What happened" in text_of(prompt)
    assert "Morning" not in text_of(prompt)

    assert "at 09:30" in private_answer(running, "standup churn at 09:30", user=CAROL)
    sweep(running, utc(5, 9, 30))
    assert "Good morning! What happened" in text_of(dms(running, CAROL)[-1])
