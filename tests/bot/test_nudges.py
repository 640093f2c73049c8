"""Nudges: which gaps are raised, with whom, how often, and when the leads hear of them directly.

Service level on a real SQLite database (one short session per run, as the job uses), then end to end through
the served app and its `JobRunner`, moving the fixed clock one day at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot import ids
from bot.blocks.nudges import render_escalation, render_nudges
from bot.blocks.problems import describe
from bot.checklist import Checklist
from bot.errors import InvalidInput
from bot.fake_slack import FakeMessage
from bot.nudges import (
    ESCALATE_AFTER,
    WHOLE_INITIATIVE,
    NudgePlan,
    plan_nudges,
    record_channel_nudges,
    record_escalation,
    snooze,
)
from storage.db import session_scope
from storage.models import Checkpoint, ClosedGap, HandoffDoc, Initiative, Kpi, KpiReading, NudgeState, Phase
from tests.conftest import RunningApp, ServeApp
from tests.support.blockkit import all_text, button_values
from tests.support.e2e import create, load, private_answer
from tests.support.factories import make_initiative, rows
from tests.support.slack_driver import TEAM_ID
from tests.support.workspace import ALICE, BOB, CAROL, DAVE, GENERAL, NOW

BERLIN = ZoneInfo("Europe/Berlin")
DISCOVERY_GAPS = {"missing:ds-summary", "kpi-missing:kpi", "missing:api-contract"}
NEW_CHURN = 'new "Churn model v2" ds:<@U0BOB|bob> eng:<@U0CAROL|carol>'


# --- helpers ----------------------------------------------------------------------------------------------


def plan(engine: Engine, now: datetime = NOW) -> NudgePlan:
    with session_scope(engine) as session:
        return plan_nudges(
            session=session,
            team_id=TEAM_ID,
            channel_id=GENERAL,
            now=now,
            today=now.astimezone(BERLIN).date(),
            tz=BERLIN,
            checklist=Checklist(),
            stale_days=14,
            cooldown_days=3,
        )


def run(engine: Engine, now: datetime = NOW) -> NudgePlan:
    """One nudges run as the job records it: the leads' direct messages, then the channel's post."""
    planned = plan(engine, now)
    for escalation in planned.escalations:
        with session_scope(engine) as session:
            record_escalation(session=session, escalation=escalation, now=now)
    with session_scope(engine) as session:
        record_channel_nudges(session=session, plan=planned, now=now)
    return planned


def posted(planned: NudgePlan) -> dict[str, set[str]]:
    return {entry.initiative.name: {gap.key for gap in entry.gaps} for entry in planned.post}


def owners(planned: NudgePlan) -> dict[str, tuple[str, ...]]:
    return {gap.key: gap.owners for entry in planned.post for gap in entry.gaps}


def states(engine: Engine, initiative_id: int) -> dict[str, NudgeState]:
    with Session(engine) as session:
        rows = session.exec(select(NudgeState).where(NudgeState.initiative_id == initiative_id)).all()
        return {row.gap_key: row for row in rows}


def initiative(engine: Engine, **overrides: Any) -> Initiative:
    with session_scope(engine) as session:
        values: dict[str, Any] = {"ds_lead_id": BOB, "eng_lead_id": CAROL, "created_at": NOW - timedelta(days=30)}
        return make_initiative(session, **(values | overrides))


def add_doc(engine: Engine, initiative_id: int, kind: str) -> int:
    with session_scope(engine) as session:
        doc = HandoffDoc(initiative_id=initiative_id, kind=kind, url="https://docs/x", added_by=ALICE, added_at=NOW)
        session.add(doc)
        session.flush()
        return doc.id or 0


def remove_doc(engine: Engine, doc_id: int) -> None:
    with session_scope(engine) as session:
        doc = session.get(HandoffDoc, doc_id)
        assert doc is not None
        doc.removed_by, doc.removed_at = ALICE, NOW
        session.add(doc)


def add_kpi(
    engine: Engine, initiative_id: int, *, owner: str | None, reading: float | None, read_at: datetime = NOW
) -> None:
    with session_scope(engine) as session:
        kpi = Kpi(
            initiative_id=initiative_id,
            name="Retention",
            name_key="retention",
            direction=">=",
            target=0.8,
            owner_id=owner,
            created_by=ALICE,
            created_at=NOW - timedelta(days=60),
        )
        session.add(kpi)
        session.flush()
        if reading is not None:
            session.add(KpiReading(kpi_id=kpi.id or 0, value=reading, recorded_by=ALICE, recorded_at=read_at))


def add_checkpoint(engine: Engine, initiative_id: int, *, due: date, mitigation: str | None = None) -> None:
    with session_scope(engine) as session:
        session.add(
            Checkpoint(
                initiative_id=initiative_id,
                number=1,
                title="Offline evaluation",
                owner_id=DAVE,
                due_date=due,
                mitigation=mitigation,
                created_by=ALICE,
                created_at=NOW - timedelta(days=20),
                updated_by=ALICE,
                updated_at=NOW - timedelta(days=20),
            )
        )


def days(n: int) -> datetime:
    return NOW + timedelta(days=n)


# --- which gaps, and whom they name -----------------------------------------------------------------------


def test_a_discovery_initiative_is_nudged_about_the_development_gate_naming_its_leads(engine: Engine) -> None:
    churn = initiative(engine, name="Churn")

    planned = plan(engine)

    assert posted(planned) == {"Churn": DISCOVERY_GAPS}
    assert planned.post[0].gate is Phase.DEVELOPMENT
    assert set(owners(planned).values()) == {(BOB, CAROL)}
    assert not planned.escalations and planned.held == 0
    [message] = render_nudges(planned)
    text = all_text(message.blocks)
    assert "<@U0BOB> <@U0CAROL>" in text and "*Churn*" in text and "before *development*" in text
    assert f"/handoff doc add {churn.ref_key} ds-summary" in text
    assert len(button_values(message.blocks, ids.ACTION_ADD_DOC)) == 2  # the two docs, not the KPI
    assert len(button_values(message.blocks, ids.ACTION_SNOOZE_WEEK)) == 3


def test_overdue_checkpoint_without_mitigation_names_its_owner_and_offers_a_mitigation(engine: Engine) -> None:
    late = initiative(engine, name="Late", phase=Phase.MONITORING.value)
    add_checkpoint(engine, late.id or 0, due=date(2027, 1, 1))

    planned = plan(engine)

    [gap] = planned.post[0].gaps
    assert (gap.kind.value, gap.owners, gap.checkpoint_ref) == ("overdue", (DAVE,), f"{late.ref_key}#1")
    [message] = render_nudges(planned)
    assert button_values(message.blocks, ids.ACTION_MITIGATE) == [f"{late.ref_key}#1"]
    assert "<@U0DAVE>" in all_text(message.blocks) and "Offline evaluation" in all_text(message.blocks)


def test_mitigated_or_not_yet_due_checkpoints_are_not_nudged(engine: Engine) -> None:
    mitigated = initiative(engine, name="Mitigated", phase=Phase.MONITORING.value)
    add_checkpoint(engine, mitigated.id or 0, due=date(2027, 1, 1), mitigation="Ship the baseline first")
    due_today = initiative(engine, name="Due today", phase=Phase.MONITORING.value)
    add_checkpoint(engine, due_today.id or 0, due=date(2027, 1, 4))

    assert plan(engine).empty


@pytest.mark.parametrize(
    ("reading", "read_at", "kind"),
    [
        (None, NOW, "kpi-stale"),
        (0.9, NOW - timedelta(days=20), "kpi-stale"),
        (0.5, NOW - timedelta(days=1), "kpi-below"),
    ],
)
def test_stale_or_below_target_kpi_names_the_kpi_owner(
    engine: Engine, reading: float | None, read_at: datetime, kind: str
) -> None:
    watched = initiative(engine, name="Watched", phase=Phase.MONITORING.value)
    add_kpi(engine, watched.id or 0, owner=ALICE, reading=reading, read_at=read_at)

    [gap] = plan(engine).post[0].gaps

    assert (gap.kind.value, gap.label, gap.owners) == (kind, "Retention", (ALICE,))


def test_a_kpi_without_owner_falls_back_to_the_leads_and_a_healthy_one_is_quiet(engine: Engine) -> None:
    watched = initiative(engine, name="Watched", phase=Phase.MONITORING.value)
    add_kpi(engine, watched.id or 0, owner=None, reading=0.5, read_at=NOW - timedelta(days=1))
    healthy = initiative(engine, name="Healthy", phase=Phase.MONITORING.value)
    add_kpi(engine, healthy.id or 0, owner=ALICE, reading=0.95, read_at=NOW - timedelta(days=1))

    assert list(owners(plan(engine)).values()) == [(BOB, CAROL)]


@pytest.mark.parametrize(
    "overrides", [{"phase": Phase.PAUSED.value}, {"phase": Phase.CANCELLED.value}, {"nudges_enabled": False}]
)
def test_paused_cancelled_and_silenced_initiatives_are_left_out(engine: Engine, overrides: dict[str, Any]) -> None:
    quiet = initiative(engine, name="Quiet", **overrides)
    add_checkpoint(engine, quiet.id or 0, due=date(2027, 1, 1))
    initiative(engine, name="Loud")

    planned = plan(engine)

    assert set(posted(planned)) == {"Loud"}
    assert quiet.id not in {i for i, _ in planned.open_keys}


# --- cooldown and snoozes ---------------------------------------------------------------------------------


def test_a_gap_nudged_on_monday_waits_three_local_days(engine: Engine) -> None:
    churn = initiative(engine, name="Churn")
    assert posted(run(engine)) == {"Churn": DISCOVERY_GAPS}

    for day in (1, 2):
        held = run(engine, days(day))
        assert held.post == () and held.held == 3, day
    assert posted(run(engine, days(3))) == {"Churn": DISCOVERY_GAPS}
    assert {s.times_nudged for s in states(engine, churn.id or 0).values()} == {2}


def test_the_cooldown_counts_the_channels_calendar_days_not_hours(engine: Engine) -> None:
    initiative(engine, name="Churn")
    late_monday = datetime(2027, 1, 4, 23, 30, tzinfo=UTC)  # already Tuesday 00:30 in Berlin
    run(engine, late_monday)

    thursday_morning = datetime(2027, 1, 7, 8, 31, tzinfo=UTC)  # 81 hours later, but only two Berlin days
    assert plan(engine, thursday_morning).post == ()
    assert posted(plan(engine, thursday_morning + timedelta(days=1))) == {"Churn": DISCOVERY_GAPS}


def snooze_gap(engine: Engine, initiative_id: int, gap_key: str, n: int) -> datetime:
    with session_scope(engine) as session:
        return snooze(session=session, initiative_id=initiative_id, gap_key=gap_key, days=n, actor_id=BOB, now=NOW)


def test_snoozing_one_gap_for_a_day_or_a_week_holds_only_that_gap(engine: Engine) -> None:
    churn = initiative(engine, name="Churn")
    assert snooze_gap(engine, churn.id or 0, "missing:ds-summary", 1) == days(1)
    assert snooze_gap(engine, churn.id or 0, "missing:api-contract", 7) == days(7)

    today = plan(engine)
    assert posted(today) == {"Churn": {"kpi-missing:kpi"}} and today.held == 2
    assert posted(plan(engine, days(1) - timedelta(minutes=1))) == {"Churn": {"kpi-missing:kpi"}}
    assert posted(plan(engine, days(1))) == {"Churn": {"kpi-missing:kpi", "missing:ds-summary"}}
    assert "missing:api-contract" not in posted(plan(engine, days(7) - timedelta(minutes=1)))["Churn"]
    assert posted(plan(engine, days(7))) == {"Churn": DISCOVERY_GAPS}


def test_snoozing_the_whole_initiative_holds_every_gap_of_it_only(engine: Engine) -> None:
    churn = initiative(engine, name="Churn")
    initiative(engine, name="Other")
    snooze_gap(engine, churn.id or 0, WHOLE_INITIATIVE, 7)

    held = run(engine, days(3))

    assert posted(held) == {"Other": DISCOVERY_GAPS} and held.held == 3
    assert set(states(engine, churn.id or 0)) == {WHOLE_INITIATIVE}, "the snooze outlives the run"
    assert "Churn" in posted(plan(engine, days(7)))


def test_snooze_accepts_only_a_day_or_a_week(engine: Engine) -> None:
    churn = initiative(engine, name="Churn")
    with pytest.raises(InvalidInput) as refused:
        snooze_gap(engine, churn.id or 0, "missing:ds-summary", 3)
    assert "1 day or 1 week" in describe(refused.value)
    assert states(engine, churn.id or 0) == {}


# --- escalation and forgetting ----------------------------------------------------------------------------


def test_the_fourth_nudge_goes_to_each_lead_directly_once_and_not_to_the_channel(engine: Engine) -> None:
    churn = initiative(engine, name="Churn")
    other = initiative(engine, name="Other", eng_lead_id=DAVE)  # shares Bob as DS lead
    for n in range(ESCALATE_AFTER):
        assert set(posted(run(engine, days(3 * n)))) == {"Churn", "Other"}, n

    fourth = run(engine, days(9))

    assert fourth.post == ()
    by_lead = {e.lead_id: {(entry.initiative.name, gap.key) for entry, gap in e.items} for e in fourth.escalations}
    assert set(by_lead) == {BOB, CAROL, DAVE}
    assert by_lead[BOB] == {(n, k) for n in ("Churn", "Other") for k in DISCOVERY_GAPS}
    assert by_lead[CAROL] == {("Churn", k) for k in DISCOVERY_GAPS}
    for state in [*states(engine, churn.id or 0).values(), *states(engine, other.id or 0).values()]:
        assert state.times_nudged == ESCALATE_AFTER + 1, "two leads told in one run count once"
        assert state.escalated_at == days(9) and state.last_nudged_at == days(9)
    [dm] = render_escalation(fourth.escalations[0], channel_id=GENERAL)
    assert f"<#{GENERAL}>" in all_text(dm.blocks) and "three times" in all_text(dm.blocks)
    assert plan(engine, days(10)).empty, "the cooldown starts again after the direct message"


def test_a_closed_gap_is_forgotten_and_counts_from_zero_when_it_reopens(engine: Engine) -> None:
    churn = initiative(engine, name="Churn")
    run(engine)
    run(engine, days(3))
    doc = add_doc(engine, churn.id or 0, "ds-summary")

    run(engine, days(6))
    assert "missing:ds-summary" not in states(engine, churn.id or 0)
    # Kept for the report's follow-through: nudged twice from the first run, found closed by the third.
    [closed] = rows(engine, ClosedGap)
    assert (closed.gap_key, closed.times_nudged, closed.first_nudged_at, closed.closed_at) == (
        "missing:ds-summary",
        2,
        days(0),
        days(6),
    )
    assert states(engine, churn.id or 0)["missing:api-contract"].first_nudged_at == days(0)

    remove_doc(engine, doc)
    reopened = run(engine, days(7))  # no cooldown for a gap with no history
    assert posted(reopened) == {"Churn": {"missing:ds-summary"}}
    assert states(engine, churn.id or 0)["missing:ds-summary"].times_nudged == 1
    assert states(engine, churn.id or 0)["missing:api-contract"].times_nudged == 3


def test_closing_every_gap_of_an_initiative_forgets_them_all(engine: Engine) -> None:
    """An initiative with no gap left is not in `open_keys`; its history must be dropped all the same."""
    churn = initiative(engine, name="Churn")
    run(engine)
    run(engine, days(3))
    doc = add_doc(engine, churn.id or 0, "ds-summary")
    add_doc(engine, churn.id or 0, "api-contract")
    add_kpi(engine, churn.id or 0, owner=ALICE, reading=0.9, read_at=days(5))

    assert run(engine, days(6)).empty
    assert states(engine, churn.id or 0) == {}, "closed gaps of a gap-free initiative are kept"
    remove_doc(engine, doc)
    run(engine, days(7))

    assert states(engine, churn.id or 0)["missing:ds-summary"].times_nudged == 1


# --- end to end: the scheduled job in the served app ------------------------------------------------------

MONDAY_EARLY = datetime(2027, 1, 4, 7, 0, tzinfo=UTC)  # 08:00 in Berlin: before the day's digest and nudges


def at_0931_berlin(day: int) -> datetime:
    return datetime(2027, 1, 4 + day, 8, 31, tzinfo=UTC)  # Monday + `day`, 09:31 in Berlin (CET, UTC+1)


def nudge_posts(running: RunningApp, channel: str = GENERAL) -> list[FakeMessage]:
    return [m for m in running.fake.messages_in(channel) if m.text.startswith("Nudges:")]


def start_churn(running: RunningApp) -> Initiative:
    running.clock.set(MONDAY_EARLY)
    create(running, NEW_CHURN)
    return load(running.engine, "Churn model v2")


def run_day(running: RunningApp, day: int) -> None:
    running.clock.set(at_0931_berlin(day))
    running.app.jobs.run_due()


@pytest.fixture
def daily_nudges(serve_app: ServeApp) -> Iterator[RunningApp]:
    """The app with a one-day cooldown (HANDOFF_NUDGE_COOLDOWN_DAYS=1), so escalation comes on day four."""
    with serve_app(nudge_cooldown_days=1) as running_app:
        yield running_app


def test_nudges_follow_the_digest_at_0930_berlin_and_keep_the_cooldown(running: RunningApp) -> None:
    churn = start_churn(running)
    running.clock.set(datetime(2027, 1, 4, 8, 29, tzinfo=UTC))  # 09:29 in Berlin: the digest is out, nudges not
    running.app.jobs.run_due()
    assert nudge_posts(running) == []
    assert any(m.text.startswith("Daily digest") for m in running.fake.messages_in(GENERAL))

    run_day(running, 0)
    [first] = nudge_posts(running)
    text = all_text({"blocks": first.blocks})
    assert "<@U0BOB> <@U0CAROL>" in text and f"`{churn.ref_key}`" in text
    assert len(button_values({"blocks": first.blocks}, ids.ACTION_ADD_DOC)) == 2

    running.app.jobs.run_due()  # the day's slot is claimed: a second sweep posts nothing
    for day in (1, 2):
        run_day(running, day)
        assert len(nudge_posts(running)) == 1, f"day {day} is within the cooldown"
    run_day(running, 3)
    assert len(nudge_posts(running)) == 2
    assert running.fake.messages_in(BOB) == [] and running.fake.messages_in(CAROL) == []


def test_after_three_channel_nudges_the_leads_each_get_one_direct_message(daily_nudges: RunningApp) -> None:
    running = daily_nudges
    churn = start_churn(running)
    for day in range(ESCALATE_AFTER):
        run_day(running, day)
    assert len(nudge_posts(running)) == ESCALATE_AFTER

    run_day(running, 3)

    assert len(nudge_posts(running)) == ESCALATE_AFTER, "the fourth time is not posted in the channel"
    for lead in (BOB, CAROL):
        [dm] = running.fake.messages_in(lead)
        text = all_text({"blocks": dm.blocks})
        assert "raised there three times" in text and "Churn model v2" in text
    assert {s.times_nudged for s in states(running.engine, churn.id or 0).values()} == {ESCALATE_AFTER + 1}


def test_channel_nudges_off_stops_the_job_but_not_the_digest(running: RunningApp) -> None:
    start_churn(running)
    assert "Nudges in <#C0GENERAL> are off" in private_answer(running, "nudges off")

    run_day(running, 0)

    assert nudge_posts(running) == []
    assert any(m.text.startswith("Daily digest") for m in running.fake.messages_in(GENERAL))


def test_initiative_nudges_off_is_for_its_leads(running: RunningApp) -> None:
    churn = start_churn(running)

    refused = private_answer(running, "nudges off Churn model v2", user=DAVE)
    assert "Only the initiative's leads" in refused
    unchanged = load(running.engine, "Churn model v2")
    assert (unchanged.nudges_enabled, unchanged.updated_by, unchanged.updated_at) == (True, ALICE, churn.updated_at)

    assert 'Nudges about "Churn model v2" are off' in private_answer(running, "nudges off Churn model v2", user=BOB)
    assert load(running.engine, "Churn model v2").nudges_enabled is False
    run_day(running, 0)
    assert nudge_posts(running) == []
