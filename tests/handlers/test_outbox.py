"""A holder that died after Slack took its post but before the database heard of it: the next holder asks Slack
(message metadata names the run and part) and posts only what is missing, so nothing is posted twice."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session, select

from bot.slot_ledger import LEASE
from handlers.outbox import SLOT_POST_EVENT
from storage import schedules as queries
from storage import standups as standup_queries
from storage.models import JobRun, JobRunState, StandupPrompt
from tests.conftest import RunningApp
from tests.support.e2e import create, load
from tests.support.factories import seed_initiatives
from tests.support.workspace import CAROL, GENERAL

TARGET = f"T0001:{GENERAL}"  # TEAM_ID of the Slack driver
SLOT_DAY = "2027-01-05"


def claim_for_tomorrow(running: RunningApp) -> JobRun:
    """Tuesday's digest slot (09:00 Berlin), claimed at its due time by a holder that then dies."""
    running.clock.advance(timedelta(hours=22, minutes=30))  # Tuesday 08:00 UTC = 09:00 in Berlin
    now = running.clock.now()
    running.fake.anchor_timestamps(now.timestamp())
    with Session(running.engine, expire_on_commit=False) as session:
        run = queries.claim_slot(
            session=session, job="digest", target=TARGET, slot=SLOT_DAY, due_at=now, now=now, lease_until=now + LEASE
        )
        session.commit()
    assert run is not None
    return run


def post_as_dead_holder(running: RunningApp, run: JobRun, part: int, thread_ts: str | None = None) -> str:
    response = running.app.bolt.client.chat_postMessage(
        channel=GENERAL,
        text=f"part {part}",
        thread_ts=thread_ts,
        metadata={"event_type": SLOT_POST_EVENT, "event_payload": {"run": run.id, "part": part}},
    )
    return str(response["ts"])


def digest_posts(running: RunningApp) -> list[dict]:
    return [c.args for c in running.fake.calls_to("chat.postMessage") if c.args.get("channel") == GENERAL]


def test_a_root_posted_before_the_crash_is_not_posted_again(running: RunningApp) -> None:
    seed_initiatives(running.engine, 2)
    run = claim_for_tomorrow(running)
    post_as_dead_holder(running, run, 0)
    before = len(digest_posts(running))
    assert running.app.jobs is not None

    running.clock.advance(LEASE - timedelta(seconds=1))
    running.app.jobs.run_due()
    assert len(digest_posts(running)) == before, "the lease had not lapsed: the holder may still be alive"

    running.clock.advance(timedelta(seconds=2))
    running.app.jobs.run_due()
    assert len(digest_posts(running)) == before
    with Session(running.engine) as session:
        stored = session.get(JobRun, run.id)
        assert stored is not None and stored.state == JobRunState.DONE.value
    assert running.fake.calls_to("conversations.history"), "the new holder asked Slack what was already posted"


def test_a_long_digest_resumes_after_the_parts_already_in_its_thread(running: RunningApp) -> None:
    seed_initiatives(running.engine, 60)  # two blocks an initiative: three messages
    run = claim_for_tomorrow(running)
    root = post_as_dead_holder(running, run, 0)
    post_as_dead_holder(running, run, 1, thread_ts=root)
    assert running.app.jobs is not None
    running.clock.advance(LEASE + timedelta(seconds=1))
    running.app.jobs.run_due()

    in_thread = [p for p in digest_posts(running) if p.get("thread_ts") == root]
    parts = [p["metadata"]["event_payload"]["part"] for p in in_thread if isinstance(p.get("metadata"), dict)]
    assert parts == [1, 2], "the dead holder's part 1, then only the part it never posted"
    roots = [p for p in digest_posts(running) if not p.get("thread_ts") and p["text"].startswith("Daily digest")]
    assert roots == [], "the root is not posted again"
    assert "Model 59" in str(in_thread[-1].get("blocks"))


def test_without_any_earlier_post_the_new_holder_posts_everything_once(running: RunningApp) -> None:
    seed_initiatives(running.engine, 1)
    run = claim_for_tomorrow(running)
    assert running.app.jobs is not None
    running.clock.advance(LEASE + timedelta(seconds=1))
    running.app.jobs.run_due()
    running.app.jobs.run_due()
    roots = [p for p in digest_posts(running) if p["text"].startswith("Daily digest")]
    assert len(roots) == 1
    with Session(running.engine) as session:
        stored = session.get(JobRun, run.id)
        assert stored is not None and stored.state == JobRunState.DONE.value and stored.root_ts is not None


def test_a_holder_that_lost_its_claim_stops_posting(running: RunningApp) -> None:
    """A post that outlasted the lease (a long 429 wait, say): another replica took the claim over meanwhile, so
    this holder stops instead of posting the rest beside it."""
    seed_initiatives(running.engine, 60)  # three messages
    running.clock.advance(timedelta(hours=22, minutes=30))
    running.fake.anchor_timestamps(running.clock.now().timestamp())
    budget = running.app.runtime.posting_budget
    assert running.app.jobs is not None
    sent = budget.sent

    def slow_then_taken_over(workspace: str, destination: str, *, session: Session | None = None) -> None:
        # The post came back, and before it is recorded (in `session`) the claim has lapsed and changed hands.
        if destination == GENERAL:
            running.clock.advance(LEASE + timedelta(seconds=1))
            with Session(running.engine) as other:
                [run] = other.exec(select(JobRun).where(JobRun.job == "digest")).all()
                assert queries.take_over_slot(
                    session=other,
                    run_id=run.id or 0,
                    now=running.clock.now(),
                    lease_until=running.clock.now() + LEASE,
                    holder="another-replica",
                )
                other.commit()
        sent(workspace, destination, session=session)

    budget.sent = slow_then_taken_over  # type: ignore[method-assign]
    running.app.jobs.run_due()

    assert len(digest_posts(running)) == 1, "only the root went out before the claim was lost"
    with Session(running.engine) as session:
        [run] = session.exec(select(JobRun).where(JobRun.job == "digest")).all()
        assert (run.state, run.holder) == (JobRunState.CLAIMED.value, "another-replica")


def test_a_standup_prompt_its_crashed_sender_already_posted_is_not_sent_again(running: RunningApp) -> None:
    """The DM went out, the sender died before recording it: the next sender reads the person's DM (known from
    an earlier prompt) and records the prompt already there instead of sending another."""
    create(running, 'new "Churn model v2" ds:<@U0BOB|bob> eng:<@U0ALICE|alice> embedded:<@U0CAROL|carol>')
    standups = running.app.standups
    assert standups is not None
    running.clock.set(datetime(2027, 1, 5, 9, 31, tzinfo=UTC))  # Tuesday 09:31 in London: the first prompt
    standups.run_due()
    running.clock.set(datetime(2027, 1, 6, 9, 31, tzinfo=UTC))
    running.fake.anchor_timestamps(running.clock.now().timestamp())
    now = running.clock.now()
    target = f"T0001:{load(running.engine, 'Churn model v2').id}:{CAROL}"
    with Session(running.engine, expire_on_commit=False) as session:
        run = queries.claim_slot(
            session=session,
            job="standup",
            target=target,
            slot="2027-01-06",
            due_at=now,
            now=now,
            lease_until=now + LEASE,
        )
        assert run is not None
        prompt = standup_queries.add_prompt(
            session=session,
            prompt=StandupPrompt(
                initiative_id=load(running.engine, "Churn model v2").id or 0,
                team_id="T0001",
                user_id=CAROL,
                day=date(2027, 1, 6),
                timezone="Europe/London",
                prompted_at=now,
            ),
        )
        session.commit()
    posted = running.app.bolt.client.chat_postMessage(
        channel=CAROL,
        text="Standup",
        metadata={"event_type": SLOT_POST_EVENT, "event_payload": {"run": run.id, "part": 0}},
    )

    running.clock.advance(LEASE + timedelta(seconds=1))
    standups.run_due()

    # Tuesday's prompt (missed by now, and updated to say so) and the one the crashed sender posted: no third.
    assert [m.text for m in running.fake.messages_in(CAROL)] == ["Standup for Churn model v2: missed", "Standup"]
    with Session(running.engine) as session:
        stored = session.get(StandupPrompt, prompt.id)
        assert stored is not None and (stored.prompt_channel, stored.prompt_ts) == (posted["channel"], posted["ts"])


def test_a_prompt_answered_meanwhile_is_not_marked_missed(running: RunningApp) -> None:
    """The sweep read the prompt as unanswered; the answer came before it marked the day missed."""
    create(running, 'new "Churn model v2" ds:<@U0BOB|bob> eng:<@U0ALICE|alice> embedded:<@U0CAROL|carol>')
    initiative_id = load(running.engine, "Churn model v2").id or 0
    with Session(running.engine, expire_on_commit=False) as session:
        prompt = standup_queries.add_prompt(
            session=session,
            prompt=StandupPrompt(
                initiative_id=initiative_id,
                team_id="T0001",
                user_id=CAROL,
                day=date(2027, 1, 4),
                timezone="Europe/London",
                prompted_at=running.clock.now(),
                state="answered",
            ),
        )
        assert not standup_queries.mark_missed(session=session, prompt_id=prompt.id or 0)
        session.commit()
        assert session.get(StandupPrompt, prompt.id).state == "answered"  # type: ignore[union-attr]
