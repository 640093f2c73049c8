"""The daily digest and nudges end to end: `/handoff digest|nudges` over HTTP, the scheduled runs on the app's
clock (`running.app.jobs.run_due()`), the digest's buttons and the mitigation form, Slack played by FakeSlack.

NOW is Monday 10:30 in Berlin, so the first slot of an initiative created now is Tuesday 09:00 (08:00 UTC) for
the digest and 09:30 (08:30 UTC) for the nudges."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot import ids
from bot.fake_slack import FakeMessage
from handlers.outbox import RunReport
from storage.models import ChannelSettings, Checkpoint, JiraStatusChange, JobRun, NudgeState
from tests.conftest import RunningApp
from tests.support.blockkit import button_values
from tests.support.e2e import click_in_channel, create, load, mrkdwn_strings, private_answer
from tests.support.factories import make_initiative, seed_initiatives
from tests.support.slack_driver import TEAM_ID
from tests.support.workspace import ALICE, BOB, CAROL, CHURN, DAVE, GENERAL, JIRA_SITE

CHURN_V2 = "Churn model v2"
NEW_CHURN = f'new "{CHURN_V2}" ds:<@U0BOB|bob> eng:<@U0CAROL|carol>'


def utc(day: int, hour: int = 8, minute: int = 0) -> datetime:
    """A moment in January 2027; 08:00 UTC is the default digest time (09:00 in Berlin), 08:30 the nudges'."""
    return datetime(2027, 1, day, hour, minute, tzinfo=UTC)


TUESDAY, TUESDAY_NUDGES, THURSDAY, THURSDAY_NUDGES = utc(5), utc(5, 8, 30), utc(7), utc(7, 8, 30)


# --- helpers (test_digest_failures.py uses them too) -----------------------------------------------------


def run_jobs_at(running: RunningApp, moment: datetime) -> RunReport:
    """Move the app's clock to `moment` and run every slot that is due, as the scheduler's sweep does."""
    running.clock.set(moment)
    assert running.app.jobs is not None
    return running.app.jobs.run_due()


def posted_in(running: RunningApp, channel: str, prefix: str) -> list[FakeMessage]:
    """The bot's messages in `channel` whose fallback text starts with `prefix`, oldest first."""
    return [m for m in running.fake.messages_in(channel) if m.text.startswith(prefix) and m.ephemeral_to is None]


def digests(running: RunningApp, channel: str = GENERAL) -> list[FakeMessage]:
    return posted_in(running, channel, "Daily digest")


def nudges(running: RunningApp, channel: str = GENERAL) -> list[FakeMessage]:
    return posted_in(running, channel, "Nudges")


def sections(message: FakeMessage) -> list[str]:
    return [b["text"]["text"] for b in message.blocks or [] if b["type"] == "section"]


def section_about(message: FakeMessage, name: str) -> str:
    [found] = [s for s in sections(message) if f"*{name}*" in s]
    return found


def payload(message: FakeMessage) -> dict[str, Any]:
    return {"text": message.text, "blocks": message.blocks or []}


def settings_of(engine: Engine, channel: str = GENERAL) -> ChannelSettings | None:
    with Session(engine) as session:
        return session.get(ChannelSettings, (TEAM_ID, channel))


def slot_runs(engine: Engine, job: str = "digest") -> list[JobRun]:
    with Session(engine) as session:
        return list(session.exec(select(JobRun).where(JobRun.job == job).order_by(col(JobRun.id))).all())


def checkpoint_of(engine: Engine, number: int, initiative: str = CHURN_V2) -> Checkpoint:
    initiative_id = load(engine, initiative).id
    with Session(engine) as session:
        return session.exec(
            select(Checkpoint).where(Checkpoint.initiative_id == initiative_id, Checkpoint.number == number)
        ).one()


def churn_with_checkpoints(running: RunningApp) -> None:
    """Churn model v2 with checkpoints due Wednesday (#1, Carol; #3, Bob) and in two weeks (#2, Bob)."""
    create(running, NEW_CHURN)
    for text in (
        '"Model card review" owner:<@U0CAROL|carol> due:2027-01-06',
        '"Feature store backfill" owner:<@U0BOB|bob> due:2027-01-20',
        '"Load test" owner:<@U0BOB|bob> due:2027-01-06',
    ):
        assert ":white_check_mark: Added" in private_answer(running, f"checkpoint add churn {text}")


def jira_change(
    engine: Engine, number: int, at: datetime, to_status: str, *, logged_at: datetime | None = None
) -> None:
    """Log a status change of checkpoint `number`'s issue, as the Jira sync does: dated `at` (when Jira made it)
    and `logged_at` (when the sync saw it; by default at once)."""
    issue = {"issue_key": "DS-42", "summary": "Model card", "from_status": "To Do", "to_category": "indeterminate"}
    checkpoint_id = checkpoint_of(engine, number).id or 0
    with Session(engine) as session:
        change = JiraStatusChange(checkpoint_id=checkpoint_id, to_status=to_status, changed_at=at, **issue)
        change.logged_at = logged_at or at
        session.add(change)
        session.commit()


# --- settings commands ------------------------------------------------------------------------------------


def test_digest_settings_are_shown_in_the_ack_and_changed_by_the_commands(running: RunningApp) -> None:
    result = running.slack.command("digest")
    assert result.status == 200 and result.json.get("response_type", "ephemeral") == "ephemeral"
    assert f"*Digest in <#{GENERAL}>:* weekdays at 09:00 (Europe/Berlin)" in result.text
    assert "*Nudges:* on (30 minutes after the digest time)" in result.text

    answer = private_answer(running, "digest at 7.15 America/New_York mon,wed,fri", user=BOB)
    assert answer.startswith(":white_check_mark: Saved.")
    assert "Mon, Wed, Fri at 07:15 (America/New_York)" in answer and f"Last changed by <@{BOB}>" in answer
    assert (row := settings_of(running.engine)) is not None and (row.configured_by, row.digest_enabled) == (BOB, True)
    assert (row.digest_time, row.digest_timezone, row.digest_days) == ("07:15", "America/New_York", "mon,wed,fri")

    assert "*Digest in <#C0GENERAL>:* off" in private_answer(running, "digest off")
    assert "already off" in private_answer(running, "digest off")
    assert "Mon, Wed, Fri at 07:15" in private_answer(running, "digest on")  # the schedule set above stays
    # A new time alone keeps the zone and days set before, as README says.
    assert "Mon, Wed, Fri at 08:00 (America/New_York)" in private_answer(running, "digest at 08:00")
    assert "Mon, Wed, Fri at 07:15 (America/New_York)" in private_answer(running, "digest at 07:15")
    assert "quiet: nothing is posted on days without news" in private_answer(running, "digest quiet")
    assert (row := settings_of(running.engine)) is not None and row.digest_quiet
    assert "quiet" not in private_answer(running, "digest quiet off")
    assert private_answer(running, "nudges off").startswith(f":white_check_mark: Nudges in <#{GENERAL}> are off.")
    assert (row := settings_of(running.engine)) is not None
    assert (row.digest_enabled, row.digest_quiet, row.nudges_enabled, row.configured_by) == (True, False, False, ALICE)
    assert "*Nudges:* off" in running.slack.command("digest").text


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("digest at 25:00", "`25:00` is not a time of day"),
        ("digest at 09:30 Mars/Base", "`Mars/Base` is not a known time zone"),
        ("digest at 09:30 funday", "`funday`"),
        ("digest at 09:30 Europe/Berlin weekdays extra", "`extra` is one word too many"),
        ("digest at", "needs a time"),
        ("digest now please", "`digest now` takes nothing after it"),
        ("digest quiet maybe", "`digest quiet` takes on or off"),
        ("digest sometimes", "`digest sometimes` is not a digest setting"),
        ("nudges maybe", "`nudges` needs on or off"),
    ],
)
def test_bad_digest_input_is_answered_privately_with_usage_and_writes_nothing(
    running: RunningApp, text: str, problem: str
) -> None:
    answer = private_answer(running, text)
    assert problem in answer and "Usage:" in answer, answer
    assert settings_of(running.engine) is None
    assert running.fake.calls_to("chat.postMessage") == []


def test_nudges_about_one_initiative_are_switched_by_its_leads_only(running: RunningApp) -> None:
    create(running, NEW_CHURN)
    create(running, 'new "Pricing engine" ds:<@U0BOB|bob>')
    refused = private_answer(running, "nudges off churn", user=DAVE)
    assert "Pricing" not in refused and ":white_check_mark:" not in refused
    assert load(running.engine, CHURN_V2).nudges_enabled

    answer = private_answer(running, "nudges off churn", user=BOB)
    assert answer.startswith(f':white_check_mark: Nudges about "{CHURN_V2}" are off.')
    assert not load(running.engine, CHURN_V2).nudges_enabled
    run_jobs_at(running, TUESDAY_NUDGES)
    [nudge] = nudges(running)
    assert "*Pricing engine*" in json.dumps(nudge.blocks) and CHURN_V2 not in json.dumps(nudge.blocks)
    assert section_about(digests(running)[0], CHURN_V2)  # the digest still reports it


# --- the scheduled digest ---------------------------------------------------------------------------------


def test_the_digest_reports_phase_checkpoints_overdue_jira_readiness_and_kpis(running: RunningApp) -> None:
    churn_with_checkpoints(running)
    assert ":white_check_mark:" in private_answer(running, 'kpi add churn "AUC on holdout" &gt;= 0.82')
    assert ":red_circle: Recorded 0.79" in private_answer(running, 'kpi record churn "AUC on holdout" 0.79')
    jira_change(running.engine, 1, utc(4, 12), "In Progress")

    assert run_jobs_at(running, utc(5, 7, 59)).posted == []  # not due yet
    report = run_jobs_at(running, TUESDAY)
    assert report.posted == [GENERAL] and report.messages == 1
    [tuesday] = digests(running)
    assert tuesday.thread_ts is None and tuesday.blocks
    assert tuesday.blocks[0]["text"]["text"] == "Daily digest · Tue 5 Jan"
    assert section_about(tuesday, CHURN_V2).split("\n")[:3] == [
        f":mag: *{CHURN_V2}* `churn` · discovery for 0 days",
        "Checkpoints 0/3 done · next `churn#1` Model card review due 2027-01-06",
        ":large_blue_circle: DS-42 Model card: To Do → *In Progress* (`churn#1`)",
    ]

    # By Thursday morning both due dates passed, #3 got a plan and Jira moved #1 on: the digest tells all of it.
    running.clock.set(utc(7, 7))
    assert ":white_check_mark:" in private_answer(running, 'checkpoint mitigate churn#3 "Run it on staging first"')
    jira_change(running.engine, 1, utc(6, 15), "In Review")
    assert run_jobs_at(running, THURSDAY).posted == [GENERAL]
    thursday = digests(running)[-1]
    assert thursday.text == "Daily digest: 1 initiative, 2 overdue checkpoints"
    assert thursday.blocks and thursday.blocks[1]["elements"][0]["text"].endswith(
        ":rotating_light: 2 overdue checkpoints"
    )
    lines = section_about(thursday, CHURN_V2).split("\n")
    assert lines[:6] == [
        f":mag: *{CHURN_V2}* `churn` · discovery for 2 days",
        "Checkpoints 0/3 done · next `churn#2` Feature store backfill due 2027-01-20",
        f":rotating_light: *Overdue* `churn#1` Model card review · due 2027-01-06 · owner <@{CAROL}> · "
        "_no mitigation plan yet_",
        f":rotating_light: *Overdue* `churn#3` Load test · due 2027-01-06 · owner <@{BOB}>",
        ">  Mitigation: Run it on staging first",
        ":large_blue_circle: DS-42 Model card: To Do → *In Review* (`churn#1`)",
    ]
    assert "In Progress" not in "\n".join(lines)  # reported on Tuesday already
    assert "Ready 1/3 for development · missing: DS summary, Interface/API contract" in lines
    [kpis] = [line for line in lines if line.startswith("KPIs:")]
    assert "AUC on holdout" in kpis and "0.79" in kpis and "0.82" in kpis and ":red_circle:" in kpis
    buttons = [e for b in thursday.blocks if b["type"] == "actions" for e in b["elements"]]
    churn_id = load(running.engine, CHURN_V2).id
    assert [(b["action_id"], b["text"]["text"], b["value"]) for b in buttons] == [
        (ids.ACTION_CHECKPOINT_DONE, "Mark churn#1 done", "churn#1"),
        (ids.ACTION_ADD_DOC, "Add a doc", f'{{"i":{churn_id},"k":"ds-summary"}}'),
        (ids.ACTION_SNOOZE_DAY, "Snooze nudges 1 day", f'{{"i":{churn_id},"g":"*","d":1}}'),
    ]  # no "Open in Jira": Jira is not configured


def test_a_day_without_news_gets_one_line_and_a_quiet_channel_none(running: RunningApp) -> None:
    create(running, NEW_CHURN)
    run_jobs_at(running, TUESDAY)
    run_jobs_at(running, utc(6))
    tuesday, wednesday = digests(running)
    assert len(tuesday.blocks or []) > 1
    assert wednesday.text == "Daily digest: nothing new since the previous digest"
    assert sections(wednesday) == [
        ":sunrise: *Daily digest*: nothing new in 1 initiative since <!date^1799136000^{date_short}|2027-01-05>. "
        "`/handoff status` shows where each one stands."
    ]

    running.clock.set(utc(6, 12))
    assert "quiet: nothing is posted on days without news" in private_answer(running, "digest quiet")
    report = run_jobs_at(running, THURSDAY)
    assert report.posted == [] and len(digests(running)) == 2
    skipped = slot_runs(running.engine)[-1]
    assert (skipped.state, skipped.last_error) == ("skipped", "quiet digest: nothing changed")

    # News breaks the silence.
    private_answer(running, 'checkpoint add churn "Model card review" due:2027-01-20')
    run_jobs_at(running, utc(8))
    assert len(digests(running)) == 3 and "Model card review" in sections(digests(running)[-1])[0]


def test_thirty_initiatives_split_into_the_channel_and_its_thread_each_shown_once(running: RunningApp) -> None:
    names = seed_initiatives(running.engine, 30)
    preview = private_answer(running, "digest preview")
    assert "1 more message" in preview and "would follow in its thread" in preview
    assert running.fake.calls_to("chat.postMessage") == []

    assert run_jobs_at(running, TUESDAY).messages == 2
    first, *rest = digests(running)
    assert first.thread_ts is None and rest and all(m.thread_ts == first.ts for m in rest)
    assert first.text == "Daily digest: 30 initiatives"
    assert [m.text for m in rest] == [
        f"Daily digest: 30 initiatives ({i}/{len(rest) + 1})" for i in range(2, 2 + len(rest))
    ]
    assert all(len(m.blocks or []) <= 50 for m in [first, *rest])
    assert len(first.blocks or []) == 50
    shown = [s.split("*")[1] for m in [first, *rest] for s in sections(m)]
    assert sorted(shown) == names
    [run_row] = slot_runs(running.engine)
    assert (run_row.state, run_row.parts_posted, run_row.root_ts) == ("done", len(rest) + 1, first.ts)


def test_the_busiest_channels_digest_is_posted_first(running: RunningApp) -> None:
    """A long digest continues in its thread a second apart: posted first, its seconds pass while the other
    channels' digests go out, instead of after all of them."""
    seed_initiatives(running.engine, 1, channel=CHURN)  # #churn sorts before #general
    seed_initiatives(running.engine, 60)  # three messages in #general
    assert running.app.jobs is not None
    running.app.jobs.outbox.senders = 1  # one post at a time: the first parts go out in the sweep's order

    assert run_jobs_at(running, TUESDAY).messages == 4
    posts = running.fake.calls_to("chat.postMessage")
    assert [c.args["channel"] for c in posts if not c.args.get("thread_ts")] == [GENERAL, CHURN]
    assert [c.args["channel"] for c in posts if c.args.get("thread_ts")] == [GENERAL, GENERAL]


def test_digest_now_posts_in_the_channel_and_preview_only_privately(running: RunningApp) -> None:
    assert "No initiatives call this channel home" in private_answer(running, "digest now", channel=CHURN)
    create(running, NEW_CHURN)
    preview = private_answer(running, "digest preview")
    assert f"*{CHURN_V2}*" in preview and "Only you can see this preview." in preview
    assert digests(running) == []

    answer = private_answer(running, "digest now")
    assert answer.startswith(f":white_check_mark: Posted the digest in <#{GENERAL}>.")
    [posted] = digests(running)
    assert posted.thread_ts is None and f"*{CHURN_V2}*" in section_about(posted, CHURN_V2)
    run_jobs_at(running, TUESDAY)  # the day's scheduled digest still comes
    assert len(digests(running)) == 2


def test_digest_now_says_posted_only_when_it_posted(running: RunningApp) -> None:
    """A quiet channel with nothing new: the preview says nothing would be posted, so `digest now` must either
    post anyway or say it did not; it must not claim a post that never happened."""
    create(running, NEW_CHURN)
    run_jobs_at(running, TUESDAY)
    running.clock.set(utc(5, 12))
    private_answer(running, "digest quiet")
    assert "nothing would be posted" in private_answer(running, "digest preview")
    before = len(digests(running))
    answer = private_answer(running, "digest now")
    assert ("Posted the digest" in answer) == (len(digests(running)) == before + 1), answer


def test_digest_now_twice_in_the_same_second_does_not_fail(running: RunningApp) -> None:
    create(running, NEW_CHURN)
    assert "Posted the digest" in private_answer(running, "digest now")
    second = private_answer(running, "digest now", user=BOB)
    assert "Something went wrong" not in second, second


def test_text_that_looks_like_mentions_is_escaped_in_digests_nudges_and_answers(running: RunningApp) -> None:
    create(running, "new &lt;!channel&gt; &amp; co eng:<@U0CAROL|carol>")
    ref = load(running.engine, "<!channel> & co").ref_key
    private_answer(running, f'checkpoint add {ref} "Model card <@U0BOB>" owner:<@U0CAROL|carol> due:2027-01-06')
    run_jobs_at(running, THURSDAY_NUDGES)
    [digest], [nudge] = digests(running), nudges(running)
    for message in (digest, nudge):
        strings = mrkdwn_strings(payload(message))
        assert any("&lt;!channel&gt; &amp; co" in s for s in strings), strings
        assert any("Model card &lt;@U0BOB&gt;" in s for s in strings), strings
        assert not [s for s in strings if "<!channel>" in s or "<@U0BOB" in s]
    [answer] = click_in_channel(
        running, ids.ACTION_SNOOZE_DAY, button_values(payload(digest), ids.ACTION_SNOOZE_DAY)[0]
    )
    assert '"&lt;!channel&gt; &amp; co"' in answer["text"] and "<!channel>" not in json.dumps(answer)


# --- buttons ----------------------------------------------------------------------------------------------


def test_mark_done_on_the_digest_marks_the_checkpoint_and_answers_privately(running: RunningApp) -> None:
    churn_with_checkpoints(running)
    run_jobs_at(running, THURSDAY)
    [value] = button_values(payload(digests(running)[-1]), ids.ACTION_CHECKPOINT_DONE)
    running.clock.set(utc(7, 10))
    [answer] = click_in_channel(running, ids.ACTION_CHECKPOINT_DONE, value, user=CAROL)
    assert answer["response_type"] == "ephemeral" and answer.get("replace_original") is False
    assert "`churn#1`" in json.dumps(answer)
    assert checkpoint_of(running.engine, 1).status == "done"
    run_jobs_at(running, utc(8))
    assert button_values(payload(digests(running)[-1]), ids.ACTION_CHECKPOINT_DONE) == ["churn#3"]


def test_snooze_on_the_digest_leaves_the_initiative_out_of_the_next_nudges(running: RunningApp) -> None:
    create(running, NEW_CHURN)
    create(running, 'new "Pricing engine" ds:<@U0BOB|bob>')
    run_jobs_at(running, TUESDAY)
    [digest] = digests(running)
    churn_id = load(running.engine, CHURN_V2).id
    [value] = [v for v in button_values(payload(digest), ids.ACTION_SNOOZE_DAY) if json.loads(v)["i"] == churn_id]
    [answer] = click_in_channel(running, ids.ACTION_SNOOZE_DAY, value, user=BOB)
    assert answer["response_type"] == "ephemeral"
    assert answer["text"] == f':zzz: Snoozed all nudges about "{CHURN_V2}" until Wed 6 Jan, 09:00.'
    with Session(running.engine) as session:
        [state] = session.exec(select(NudgeState).where(NudgeState.initiative_id == churn_id)).all()
    assert (state.gap_key, state.snoozed_by, state.snoozed_until) == ("*", BOB, utc(6))

    run_jobs_at(running, TUESDAY_NUDGES)
    [nudge] = nudges(running)
    assert "Pricing engine" in json.dumps(nudge.blocks) and CHURN_V2 not in json.dumps(nudge.blocks)


def test_record_a_mitigation_from_a_nudge_opens_the_form_and_records_the_plan(running: RunningApp) -> None:
    churn_with_checkpoints(running)
    run_jobs_at(running, THURSDAY_NUDGES)
    [nudge] = nudges(running)
    assert button_values(payload(nudge), ids.ACTION_MITIGATE) == ["churn#1", "churn#3"]
    assert click_in_channel(running, ids.ACTION_MITIGATE, "churn#1", user=CAROL) == []
    [opened] = running.fake.calls_to("views.open")
    view = opened.response["view"]
    assert view["callback_id"] == ids.VIEW_MITIGATION
    assert json.loads(view["private_metadata"]) == {"c": GENERAL, "r": "churn#1"}

    def plan(text: str | None) -> dict[str, Any]:
        return {ids.BLOCK_MITIGATION_PLAN: {ids.INPUT_ACTION: {"type": "plain_text_input", "value": text}}}

    refused = running.slack.submit_view(view, plan("  "), user=CAROL)
    assert refused.json == {"response_action": "errors", "errors": {ids.BLOCK_MITIGATION_PLAN: "Say what the plan is."}}
    accepted = running.slack.submit_view(view, plan("Ship with the v1 schema"), user=CAROL)
    assert (accepted.status, accepted.body) == (200, "")
    running.settle()
    assert checkpoint_of(running.engine, 1).mitigation == "Ship with the v1 schema"
    kickoff = load(running.engine, CHURN_V2)
    thread = [m for m in running.fake.messages_in(GENERAL, thread_ts=kickoff.thread_ts) if m.ts != kickoff.thread_ts]
    assert any("Ship with the v1 schema" in json.dumps(m.blocks) for m in thread)
    [told] = running.fake.calls_to("chat.postEphemeral")
    assert (told.args["channel"], told.args["user"]) == (GENERAL, CAROL)
    assert "Recorded the mitigation plan for `churn#1`" in told.args["text"]


def test_open_in_jira_appears_only_with_jira_and_a_key_and_its_click_is_acked(jira_running: RunningApp) -> None:
    with Session(jira_running.engine) as session:
        make_initiative(session, name="With epic", jira_epic_key="DS-12", jira_project_key="DS")
        make_initiative(session, name="Without epic")
        session.commit()
    run_jobs_at(jira_running, TUESDAY)
    [digest] = digests(jira_running)
    links = {
        s.split("*")[1]: [e for e in a["elements"] if e["action_id"] == ids.ACTION_OPEN_JIRA]
        for s, a in zip(sections(digest), [b for b in digest.blocks or [] if b["type"] == "actions"], strict=True)
    }
    assert [b["url"] for b in links["With epic"]] == [f"{JIRA_SITE}/browse/DS-12"]
    assert links["Without epic"] == []
    calls = len(jira_running.fake.calls)
    assert click_in_channel(jira_running, ids.ACTION_OPEN_JIRA, None) == []
    assert jira_running.fake.calls[calls:] == []


def test_a_jira_change_the_sync_logs_after_a_digest_reaches_the_next_digest(running: RunningApp) -> None:
    """The pull sync logs a change minutes after Jira made it, dated when Jira made it. A change made just before
    Tuesday's digest but logged just after it must still reach a digest instead of falling between two."""
    churn_with_checkpoints(running)
    run_jobs_at(running, TUESDAY)
    running.clock.set(utc(5, 8, 5))  # the sync runs and logs what Jira changed at 07:58
    jira_change(running.engine, 1, utc(5, 7, 58), "In Review", logged_at=running.clock.now())
    run_jobs_at(running, utc(6))
    assert any("*In Review*" in s for s in sections(digests(running)[-1])), sections(digests(running)[-1])
