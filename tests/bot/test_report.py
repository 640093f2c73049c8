"""`/handoff report`'s figures against hand-computed expectations on a small history, its window, its rendering,
and the statements it costs: the same few for one initiative or many, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.blocks.report import render_report
from bot.report import (
    Delivery,
    FollowThrough,
    GateEntries,
    ReportScope,
    ReportWindow,
    Spread,
    WindowError,
    compute_report,
    funnel_of,
    parse_window,
    percentile,
)
from storage.models import ClosedGap, Initiative, NudgeState, Phase, PhaseChange, StandupPrompt
from storage.schedules import forget_closed_gaps
from tests.support.blockkit import all_text, assert_valid_message, button_values
from tests.support.databases import statements
from tests.support.factories import checkpoint_row, make_initiative, rows
from tests.support.slack_driver import TEAM_ID
from tests.support.workspace import ALICE, CAROL, CHURN, DAVE, GENERAL, NOW, SECRET

WINDOW = ReportWindow(date(2026, 12, 1), "since Tue 1 Dec 2026", "since:2026-12-01")
HERE = ReportScope(GENERAL, "general")
EVERYWHERE = ReportScope()
D, P, R, S, DEV, PROD, MON = (
    Phase.DISCOVERY,
    Phase.PAUSED,
    Phase.RESEARCH,
    Phase.SUMMARY,
    Phase.DEVELOPMENT,
    Phase.PRODUCTION,
    Phase.MONITORING,
)
CANCELLED = Phase.CANCELLED
HOUR = 1 / 24


def at(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def history(
    session: Session,
    name: str,
    steps: list[tuple[Phase, datetime] | tuple[Phase, datetime, bool]],
    *,
    channel: str = GENERAL,
    archived_at: datetime | None = None,
) -> Initiative:
    """An initiative created in `steps[0]`'s phase at its moment, then moved through the rest (`True`: forced)."""
    first, created = steps[0][0], steps[0][1]
    initiative = make_initiative(session, name=name, phase=first, created_at=created, home_channel_id=channel)
    previous = first
    for step in steps[1:]:
        phase, moment, forced = step[0], step[1], bool(step[2:] and step[2])
        session.add(
            PhaseChange(
                initiative_id=initiative.id or 0,
                from_phase=previous.value,
                to_phase=phase.value,
                changed_by=CAROL,
                changed_at=moment,
                forced=forced,
                forced_items="model-card" if forced else None,
            )
        )
        previous = phase
    initiative.phase = previous.value
    if archived_at is not None:
        initiative.archived, initiative.archived_at = True, archived_at
    session.add(initiative)
    session.flush()
    return initiative


@pytest.fixture
def portfolio(session: Session) -> dict[str, Initiative]:
    """Nine initiatives around the window (1 Dec 2026 to 4 Jan 2027): see each one's comment for what it shows."""
    made = {
        # Created before the window, research at its start; enters summary, development, then production forced.
        "alpha": history(
            session, "Alpha", [(D, at(2026, 10, 1)), (R, at(2026, 11, 1)), (S, at(2026, 12, 5)),
                               (DEV, at(2026, 12, 10)), (PROD, at(2026, 12, 20), True)]
        ),
        # Created in the window, then paused.
        "beta": history(session, "Beta", [(D, at(2026, 12, 2)), (R, at(2026, 12, 12)), (P, at(2026, 12, 22))]),
        # Reached production before the window; enters monitoring in it.
        "gamma": history(
            session, "Gamma", [(D, at(2026, 6, 1)), (R, at(2026, 7, 1)), (S, at(2026, 8, 1)), (DEV, at(2026, 9, 1)),
                               (PROD, at(2026, 10, 1)), (MON, at(2026, 12, 15))]
        ),
        # Cancelled before the window and still cancelled: out of the funnel.
        "delta": history(session, "Delta", [(D, at(2026, 9, 1)), (CANCELLED, at(2026, 10, 15))]),
        # Cancelled in the window.
        "echo": history(session, "Echo", [(D, at(2026, 11, 1)), (CANCELLED, at(2026, 12, 3))]),
        # At home in another channel: only in the workspace's report.
        "foxtrot": history(session, "Foxtrot", [(D, at(2026, 11, 15)), (R, at(2026, 12, 20))], channel=CHURN),
        # Archived before the window: left out everywhere.
        "golf": history(session, "Golf", [(D, at(2026, 8, 1))], archived_at=at(2026, 11, 20)),
        # Paused before the window, resumed straight into development (forced), archived in the window: counted.
        "hotel": history(
            session, "Hotel", [(D, at(2026, 11, 10)), (P, at(2026, 11, 20)), (DEV, at(2026, 12, 8), True)],
            archived_at=at(2026, 12, 28),
        ),
        # Production, back to development (no gate crossed), production again.
        "india": history(
            session, "India", [(DEV, at(2026, 11, 1)), (PROD, at(2026, 12, 1, 10)), (DEV, at(2026, 12, 15)),
                               (PROD, at(2026, 12, 28))]
        ),
    }  # fmt: skip
    session.commit()
    return made


def test_the_funnel_counts_what_happened_in_the_window(session: Session, portfolio: dict[str, Initiative]) -> None:
    report = compute_report(session=session, team_id=TEAM_ID, scope=HERE, window=WINDOW, now=NOW)

    assert report.initiatives == 7  # Golf archived before the window, Foxtrot elsewhere
    entered = {f.phase: f.entered for f in report.funnel.phases}
    # Beta's creation counts as entering discovery; India's move back counts as entering development.
    assert entered == {D: 1, R: 1, S: 1, DEV: 3, PROD: 2, MON: 1}
    # Alpha, Beta, Echo, Hotel, India; not Gamma (in production before) nor Delta (cancelled all along).
    assert report.funnel.in_funnel == 5
    assert report.funnel.reached_production == 2  # Alpha, India (once, though it entered production twice)
    assert report.funnel.production_share == pytest.approx(0.4)
    assert (report.funnel.in_monitoring, report.funnel.paused, report.funnel.cancelled) == (1, 1, 1)


def test_lead_times_are_the_stays_that_ended_in_the_window_with_nearest_rank_percentiles(
    session: Session, portfolio: dict[str, Initiative]
) -> None:
    report = compute_report(session=session, team_id=TEAM_ID, scope=HERE, window=WINDOW, now=NOW)

    stays = {f.phase: f.stays for f in report.funnel.phases}
    assert stays[D] == Spread(2, 10.0, 32.0)  # Beta 10, Echo 32: the median of two is the lower one
    assert stays[R] == Spread(2, 10.0, 34.0)  # Beta 10, Alpha 34 (begun before the window)
    assert stays[S] == Spread(1, 5.0, 5.0)
    # Alpha 10, India 30 d 10 h then 13; Hotel's is still going.
    assert stays[DEV] == Spread(3, 13.0, pytest.approx(30 + 10 * HOUR))
    assert stays[PROD] == Spread(2, pytest.approx(13 + 14 * HOUR), 75.0)  # India 13 d 14 h, Gamma 75
    assert stays[MON] == Spread(0, None, None)
    assert report.to_production == Spread(2, pytest.approx(30 + 10 * HOUR), 80.0)  # India, Alpha


def test_readiness_counts_forward_entries_into_the_gated_phases_and_forced_ones_apart(
    session: Session, portfolio: dict[str, Initiative]
) -> None:
    report = compute_report(session=session, team_id=TEAM_ID, scope=HERE, window=WINDOW, now=NOW)

    # Development: Alpha ready, Hotel forced out of paused; India's move back crosses no gate.
    # Production: India twice, ready both times (counted once); Alpha forced.
    assert report.readiness == (GateEntries(DEV, 1, 1), GateEntries(PROD, 1, 1))
    assert report.ready_share == pytest.approx(0.5)


def test_the_workspace_adds_other_channels_initiatives(session: Session, portfolio: dict[str, Initiative]) -> None:
    report = compute_report(session=session, team_id=TEAM_ID, scope=EVERYWHERE, window=WINDOW, now=NOW)

    assert report.initiatives == 8
    entered = {f.phase: f.entered for f in report.funnel.phases}
    assert entered[R] == 2 and report.funnel.in_funnel == 6
    assert {f.phase: f.stays for f in report.funnel.phases}[D] == Spread(3, 32.0, 35.0)  # Foxtrot's 35 days


def test_delivery_judges_checkpoints_due_in_the_window_by_their_latest_completion(
    session: Session, portfolio: dict[str, Initiative]
) -> None:
    alpha, foxtrot = portfolio["alpha"].id or 0, portfolio["foxtrot"].id or 0
    checkpoints = [
        dict(due_date=date(2026, 12, 10), status="done", done_at=at(2026, 12, 9)),  # on time
        dict(due_date=date(2026, 12, 10), status="done", done_at=at(2026, 12, 10, 23)),  # on time, late that day
        dict(due_date=date(2026, 12, 15), status="done", done_at=at(2026, 12, 16), mitigation="ship v1"),  # late
        dict(due_date=date(2026, 12, 20)),  # still open
        dict(due_date=date(2026, 12, 20), mitigation="next sprint"),  # still open, mitigated
        dict(due_date=date(2026, 12, 12)),  # done on 11 Dec, then reopened: done_at cleared, still open
        dict(due_date=date(2027, 1, 4)),  # due today: not judged yet
        dict(due_date=date(2026, 11, 30), status="done", done_at=at(2026, 12, 2)),  # due before the window
        dict(due_date=date(2026, 12, 10), removed_at=at(2026, 12, 1)),  # removed
        dict(),  # no due date
    ]
    for number, values in enumerate(checkpoints, start=1):
        session.add(checkpoint_row(alpha, number, **values))
    session.add(checkpoint_row(foxtrot, 1, due_date=date(2026, 12, 10), status="done", done_at=at(2026, 12, 11)))
    session.commit()

    here = compute_report(session=session, team_id=TEAM_ID, scope=HERE, window=WINDOW, now=NOW)
    everywhere = compute_report(session=session, team_id=TEAM_ID, scope=EVERYWHERE, window=WINDOW, now=NOW)

    assert here.delivery == Delivery(due=6, on_time=2, done_late=1, still_open=3, mitigated=2)
    assert here.delivery.missed == 4
    assert everywhere.delivery == Delivery(due=7, on_time=2, done_late=2, still_open=3, mitigated=2)


def test_delivery_reads_completion_days_in_the_workspace_calendar(
    session: Session, portfolio: dict[str, Initiative]
) -> None:
    """Done at 23:00 UTC on the due date is the next day in Tokyo: late there."""
    session.add(
        checkpoint_row(portfolio["alpha"].id or 0, 1, due_date=date(2026, 12, 10), done_at=at(2026, 12, 10, 23))
    )
    session.commit()
    tokyo = NOW.astimezone(ZoneInfo("Asia/Tokyo"))
    report = compute_report(session=session, team_id=TEAM_ID, scope=HERE, window=WINDOW, now=tokyo)

    assert report.delivery == Delivery(due=1, on_time=0, done_late=1, still_open=0, mitigated=0)


def nudge(initiative_id: int, key: str, **values: object) -> NudgeState:
    return NudgeState(initiative_id=initiative_id, gap_key=key, **values)


def test_follow_through_times_nudged_gaps_from_first_nudge_to_closing(
    session: Session, portfolio: dict[str, Initiative]
) -> None:
    alpha = portfolio["alpha"].id or 0
    session.add_all(
        [
            nudge(alpha, "missing:a", times_nudged=2, first_nudged_at=at(2026, 11, 25), last_nudged_at=at(2026, 12, 5)),
            nudge(
                alpha,
                "missing:b",
                times_nudged=4,
                first_nudged_at=at(2026, 11, 20),
                last_nudged_at=at(2026, 12, 15),
                escalated_at=at(2026, 12, 15),
            ),
            nudge(
                alpha, "missing:c", times_nudged=1, first_nudged_at=at(2026, 11, 10), last_nudged_at=at(2026, 11, 10)
            ),
            nudge(alpha, "*", times_nudged=0, snoozed_until=at(2026, 12, 20), snoozed_by=CAROL),
            ClosedGap(
                initiative_id=alpha,
                gap_key="overdue:1",
                times_nudged=1,
                first_nudged_at=at(2026, 12, 2, 9),
                last_nudged_at=at(2026, 12, 2, 9),
                closed_at=at(2026, 12, 4, 9),
            ),
            ClosedGap(
                initiative_id=alpha,
                gap_key="overdue:2",
                times_nudged=4,
                first_nudged_at=at(2026, 11, 28),
                last_nudged_at=at(2026, 12, 1, 12),
                escalated_at=at(2026, 12, 1, 12),
                closed_at=at(2026, 12, 8),
            ),
            # Nudged before first nudges were recorded: closed in the window, counted but not timed.
            ClosedGap(
                initiative_id=alpha, gap_key="kpi-stale:1", times_nudged=1, last_nudged_at=at(2026, 11, 30),
                closed_at=at(2026, 12, 3),
            ),
            ClosedGap(
                initiative_id=alpha, gap_key="kpi-stale:2", times_nudged=1, first_nudged_at=at(2026, 11, 20),
                last_nudged_at=at(2026, 11, 25), closed_at=at(2026, 11, 29),
            ),
        ]
    )  # fmt: skip
    session.commit()

    report = compute_report(session=session, team_id=TEAM_ID, scope=HERE, window=WINDOW, now=NOW)

    assert report.follow_through == FollowThrough(nudged=4, closed=3, to_close=Spread(2, 2.0, 10.0), escalated=2)


def test_a_closed_gap_that_was_nudged_is_kept_with_its_first_nudge(
    session: Session, portfolio: dict[str, Initiative]
) -> None:
    """The nudges run records the first nudge, and forgetting a closed gap keeps it as a `ClosedGap`."""
    alpha = portfolio["alpha"].id or 0
    session.add(nudge(alpha, "missing:model-card", times_nudged=2, first_nudged_at=at(2026, 12, 1)))
    session.add(nudge(alpha, "missing:runbook", times_nudged=0, snoozed_until=at(2026, 12, 2)))
    session.commit()

    forget_closed_gaps(session=session, initiative_ids=[alpha], open_keys=set(), now=at(2026, 12, 3))
    session.commit()

    [closed] = rows(session.get_bind(), ClosedGap)  # type: ignore[arg-type]
    assert (closed.gap_key, closed.times_nudged, closed.first_nudged_at, closed.closed_at) == (
        "missing:model-card",
        2,
        at(2026, 12, 1),
        at(2026, 12, 3),
    )
    assert rows(session.get_bind(), NudgeState) == []  # type: ignore[arg-type]


def prompt(initiative_id: int, user: str, day: date, answered_after: int | None) -> StandupPrompt:
    prompted = datetime(day.year, day.month, day.day, 9, 30, tzinfo=UTC)
    answered = prompted + timedelta(minutes=answered_after) if answered_after is not None else None
    return StandupPrompt(
        initiative_id=initiative_id,
        team_id=TEAM_ID,
        user_id=user,
        day=day,
        timezone="UTC",
        state="answered" if answered else "missed",
        prompted_at=prompted,
        answered_at=answered,
    )


def test_standups_participation_and_answer_time_per_engineer(
    session: Session, portfolio: dict[str, Initiative]
) -> None:
    alpha, india = portfolio["alpha"].id or 0, portfolio["india"].id or 0
    session.add_all(
        [
            prompt(alpha, CAROL, date(2026, 12, 1), 20),
            prompt(alpha, CAROL, date(2026, 12, 2), 60),
            prompt(alpha, CAROL, date(2026, 12, 3), None),
            prompt(alpha, CAROL, date(2027, 1, 4), None),  # today's: it may still be answered
            prompt(alpha, CAROL, date(2026, 11, 30), None),  # before the window
            prompt(india, DAVE, date(2026, 12, 5), 30),
        ]
    )
    session.commit()

    standups = compute_report(session=session, team_id=TEAM_ID, scope=HERE, window=WINDOW, now=NOW).standups

    assert [(e.user_id, e.prompted, e.answered, e.median_answer_minutes) for e in standups.engineers] == [
        (CAROL, 3, 2, 20.0),  # lowest participation first; the median of 20 and 60 is 20
        (DAVE, 1, 1, 30.0),
    ]
    assert (standups.prompted, standups.answered, standups.median_answer_minutes) == (4, 3, 30.0)


def test_a_window_with_an_end_reads_no_event_from_it_on(session: Session, portfolio: dict[str, Initiative]) -> None:
    """`until` (excluded) bounds every read: checkpoints due and done, nudges and closings, standups."""
    alpha = portfolio["alpha"].id or 0
    until = at(2026, 12, 15)
    session.add_all(
        [
            checkpoint_row(alpha, 1, due_date=date(2026, 12, 10), status="done", done_at=at(2026, 12, 9)),
            checkpoint_row(alpha, 2, due_date=date(2026, 12, 12), status="done", done_at=at(2026, 12, 16)),
            checkpoint_row(alpha, 3, due_date=date(2026, 12, 15)),  # due on the end's own day: after the window
            nudge(alpha, "missing:a", times_nudged=1, first_nudged_at=at(2026, 12, 20),
                last_nudged_at=at(2026, 12, 20)),
            ClosedGap(
                initiative_id=alpha, gap_key="overdue:1", times_nudged=1, first_nudged_at=at(2026, 12, 2),
                last_nudged_at=at(2026, 12, 2), closed_at=at(2026, 12, 14),
            ),
            ClosedGap(
                initiative_id=alpha, gap_key="overdue:2", times_nudged=1, first_nudged_at=at(2026, 12, 5),
                last_nudged_at=at(2026, 12, 5), escalated_at=at(2026, 12, 15), closed_at=at(2026, 12, 18),
            ),
            prompt(alpha, CAROL, date(2026, 12, 14), 20),
            prompt(alpha, CAROL, date(2026, 12, 15), None),
        ]
    )  # fmt: skip
    session.commit()

    report = compute_report(session=session, team_id=TEAM_ID, scope=HERE, window=WINDOW, now=NOW, until=until)

    assert report.delivery == Delivery(due=2, on_time=1, done_late=0, still_open=1, mitigated=0)
    assert report.follow_through == FollowThrough(nudged=2, closed=1, to_close=Spread(1, 12.0, 12.0), escalated=0)
    assert [(e.user_id, e.prompted, e.answered) for e in report.standups.engineers] == [(CAROL, 1, 1)]
    everything = compute_report(session=session, team_id=TEAM_ID, scope=HERE, window=WINDOW, now=NOW)
    assert everything.delivery.due == 3 and everything.follow_through.closed == 2


def test_median_answer_times_are_exact_for_odd_and_even_counts_of_several_engineers(
    session: Session, portfolio: dict[str, Initiative]
) -> None:
    alpha, india = portfolio["alpha"].id or 0, portfolio["india"].id or 0
    odd = [timedelta(seconds=10, microseconds=250_000), timedelta(seconds=90, microseconds=1), timedelta(hours=1)]
    even = [timedelta(seconds=45), timedelta(seconds=15), timedelta(seconds=75), timedelta(seconds=30)]
    answered_after = {CAROL: odd, DAVE: even, ALICE: [timedelta(hours=2)]}
    for user, waits in answered_after.items():
        for offset, wait in enumerate(waits):
            made = prompt(india if user == DAVE else alpha, user, date(2026, 12, 1) + timedelta(days=offset), None)
            made.answered_at, made.state = made.prompted_at + wait, "answered"
            session.add(made)
    session.add(prompt(alpha, ALICE, date(2026, 12, 20), None))
    session.commit()

    standups = compute_report(session=session, team_id=TEAM_ID, scope=HERE, window=WINDOW, now=NOW).standups

    def minutes(wait: timedelta) -> float:
        return wait.total_seconds() / 60

    assert [(e.user_id, e.prompted, e.answered, e.median_answer_minutes) for e in standups.engineers] == [
        (ALICE, 2, 1, 120.0),
        (CAROL, 3, 3, minutes(odd[1])),  # odd: the middle one, to the microsecond
        (DAVE, 4, 4, 0.5),  # even: the lower of the middle two (30 and 45 seconds)
    ]
    # all eight: 10.25 s, 15 s, 30 s, 45 s, 75 s, 90.000001 s, 1 h, 2 h; the median is the 4th
    assert (standups.prompted, standups.answered, standups.median_answer_minutes) == (9, 8, 0.75)


def test_an_empty_scope_reports_zeros_and_says_so(session: Session, portfolio: dict[str, Initiative]) -> None:
    report = compute_report(session=session, team_id=TEAM_ID, scope=ReportScope(SECRET), window=WINDOW, now=NOW)

    assert report.initiatives == 0
    assert report.funnel.in_funnel == 0 and report.funnel.production_share is None
    assert report.ready_share is None and report.standups.share is None
    message = render_report(report)
    assert_valid_message(message.as_kwargs())
    assert "No initiative to report on" in all_text(message.as_kwargs())


def test_render_shows_every_section_with_share_and_a_chart_note(
    session: Session, portfolio: dict[str, Initiative]
) -> None:
    report = compute_report(session=session, team_id=TEAM_ID, scope=HERE, window=WINDOW, now=NOW)

    private = render_report(report, chart_note="The chart could not be uploaded.").as_kwargs()
    shared = render_report(report, shared_by=CAROL).as_kwargs()

    assert_valid_message(private)
    text = all_text(private)
    for heading in ("*Funnel*", "*Lead times*", "*Delivery*", "*Readiness*", "*Follow-through*", "*Standups*"):
        assert heading in text
    assert "Reached production: *2* of 5 in the funnel (40%)" in text
    assert "• development: 13.0 / 30.4 d (3 stays)" in text
    assert "The chart could not be uploaded." in text
    assert private["blocks"][0]["text"]["text"] == "Report: #general, since Tue 1 Dec 2026"
    assert button_values(private, "share_answer") == ['{"v":"report","s":"C0GENERAL:general since:2026-12-01"}']
    assert f"Shared by <@{CAROL}>" in all_text(shared) and not button_values(shared, "share_answer")


def test_funnel_of_gives_the_charts_bars(session: Session, portfolio: dict[str, Initiative]) -> None:
    data = funnel_of(compute_report(session=session, team_id=TEAM_ID, scope=HERE, window=WINDOW, now=NOW))

    assert data.title == "Phase funnel: #general, since Tue 1 Dec 2026"
    assert [(b.phase, b.entered, b.median_days) for b in data.bars][:3] == [
        ("discovery", 1, 10.0),
        ("research", 1, 10.0),
        ("summary", 1, 5.0),
    ]
    assert (data.reached_production, data.total) == (2, 5)


def grow(session: Session, count: int) -> None:
    """`count` initiatives with every kind of history the report reads."""
    for number in range(count):
        made = history(
            session,
            f"Model {count}-{number:03d}",
            [(D, at(2026, 11, 1)), (DEV, at(2026, 12, 2), True), (PROD, at(2026, 12, 20))],
        )
        session.add(checkpoint_row(made.id or 0, 1, due_date=date(2026, 12, 10)))
        session.add(nudge(made.id or 0, "missing:a", times_nudged=1, last_nudged_at=at(2026, 12, 5)))
        session.add(
            ClosedGap(initiative_id=made.id or 0, gap_key="overdue:1", times_nudged=1, closed_at=at(2026, 12, 6))
        )
        session.add(prompt(made.id or 0, CAROL, date(2026, 12, 3 + number % 20), 15))
    session.commit()


REPORT_STATEMENTS = 6  # initiatives, phase history, checkpoints, open gaps, closed gaps, standup prompts


def test_a_report_costs_the_same_statements_for_any_number_of_initiatives(engine: Engine) -> None:
    counts = []
    for count in (1, 40):
        with Session(engine) as session:
            grow(session, count)
        with Session(engine) as session, statements(engine) as sent:
            report = compute_report(session=session, team_id=TEAM_ID, scope=EVERYWHERE, window=WINDOW, now=NOW)
        counts.append(len(sent))
        assert report.funnel.reached_production == report.initiatives  # every one read, none left out
    assert counts == [REPORT_STATEMENTS, REPORT_STATEMENTS]


@pytest.mark.parametrize(
    ("raw", "since", "label"),
    [
        (None, date(2026, 10, 6), "the last 90 days"),
        ("30d", date(2026, 12, 5), "the last 30 days"),
        ("90D", date(2026, 10, 6), "the last 90 days"),
        ("quarter", date(2027, 1, 1), "this quarter (since Fri 1 Jan 2027)"),
        ("since:2026-10-01", date(2026, 10, 1), "since Thu 1 Oct 2026"),
        ("since: 2026-10-01", date(2026, 10, 1), "since Thu 1 Oct 2026"),
        ("since:2027-01-04", date(2027, 1, 4), "since Mon 4 Jan 2027"),
    ],
)
def test_parse_window(raw: str | None, since: date, label: str) -> None:
    window = parse_window(raw, today=NOW.date())
    assert (window.since, window.label) == (since, label)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("since:2027-13-01", "month 13"),
        ("since:2027-02-01", "in the future"),
        ("since:", "missing its date"),
        ("45d", "not a window"),
        ("since:01/10/2026", "2026-10-01"),
    ],
)
def test_parse_window_refuses(raw: str, reason: str) -> None:
    with pytest.raises(WindowError) as refused:
        parse_window(raw, today=NOW.date())
    assert reason in refused.value.reason


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 90) == 7.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.0
    assert percentile([float(n) for n in range(1, 11)], 90) == 9.0
    assert percentile([float(n) for n in range(1, 12)], 90) == 10.0
