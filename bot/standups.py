"""Standups for the embedded engineer: who is asked, when (in their own time zone), which questions, and what
their answers and blockers become.

The engineer who sits in the DS team's dailies is prompted every working day; the answers are posted where both
teams see them, and blockers are tracked until someone resolves them.
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Row
from sqlmodel import Session

from bot.blockers import LocatedBlocker, report_blocker
from bot.dates import DateError, group_date_words, parse_date
from bot.errors import HandoffError, InvalidInput, Problem, UnknownInitiative
from bot.initiatives import Actor, initiative_by_id, require_active, require_manager
from bot.people import PeopleService
from bot.recurrence import WEEKDAYS, WORKING_DAYS, Schedule
from bot.slot_ledger import OnDone
from storage import blockers as blocker_queries
from storage import standups as queries
from storage.initiatives import get_initiative
from storage.models import (
    Away,
    Blocker,
    BlockerDirection,
    Initiative,
    StandupSettings,
    StandupState,
)
from storage.models import StandupPrompt as StandupPrompt

DEFAULT_TIME = time(9, 30)
DEFAULT_QUESTIONS = (
    "What did the DS team work on?",
    "Engineering support they needed or got (data access, pipelines, internal APIs)?",
    "Risks to the production plan?",
)
MAX_QUESTIONS = 6
QUESTION_MAX = 150
ANSWER_MAX = 2000
BLOCKERS_IN_FORM = 3
PARTICIPATION_DAYS = 20
AWAY_SPAN = re.compile(r"^(\d{1,3})([dw])$")
MAX_AWAY_DAYS = 366


class NoEmbeddedEngineer(HandoffError):
    def __init__(self, initiative: Initiative):
        super().__init__(Problem.NO_EMBEDDED_ENGINEER, name=initiative.name, ref_key=initiative.ref_key)


@dataclass(frozen=True)
class StandupPlan:
    """Who is asked about which initiative, when, and what."""

    initiative_id: int
    team_id: str
    name: str
    ref_key: str
    home_channel_id: str
    user_id: str
    schedule: Schedule
    questions: tuple[str, ...]
    enabled: bool = True
    since: datetime | None = None  # no slot before this is "missed"
    profile_fetched_at: datetime | None = None  # when the engineer's Slack profile (their time zone) was read

    @property
    def target(self) -> str:
        return f"{self.team_id}:{self.initiative_id}:{self.user_id}"


@dataclass(frozen=True)
class Answer:
    """What the engineer wrote: one answer per question, and blockers with who waits on whom."""

    answers: tuple[str, ...]
    blockers: tuple[tuple[str, BlockerDirection | None], ...] = ()

    def to_json(self) -> str:
        return json.dumps(
            {"answers": list(self.answers), "blockers": [[t, d.value if d else None] for t, d in self.blockers]}
        )

    @classmethod
    def from_json(cls, raw: str | None) -> Answer:
        data = json.loads(raw or "{}")
        blockers = tuple((str(t), BlockerDirection(d) if d else None) for t, d in data.get("blockers", []))
        return cls(tuple(str(a) for a in data.get("answers", [])), blockers)


@dataclass(frozen=True)
class RecordedAnswer:
    prompt: StandupPrompt
    initiative: Initiative
    answer: Answer
    questions: tuple[str, ...]
    blockers: tuple[LocatedBlocker, ...]
    edited: bool = False


@dataclass(frozen=True)
class Participation:
    """How the standups of the last working days went."""

    due: int
    answered: int
    median_minutes: float | None = None

    @property
    def rate(self) -> float | None:
        return None if not self.due else self.answered / self.due


# --- who is asked, when -------------------------------------------------------------------------------------------


def standup_plans(*, session: Session, default_timezone: str, initiative_id: int | None = None) -> list[StandupPlan]:
    """Every standup that should run (or just `initiative_id`'s): active initiatives with an embedded engineer, in
    the engineer's own time zone (from their Slack profile), else the home channel's digest zone, else the
    workspace's."""
    rows = queries.standup_targets(session=session, initiative_id=initiative_id)
    return [plan_of(row, default_timezone=default_timezone) for row in rows]


def plan_of(row: Row, *, default_timezone: str) -> StandupPlan:
    at = DEFAULT_TIME
    if row.time:
        hour, minute = (int(p) for p in row.time.split(":"))
        at = time(hour, minute)
    days = tuple(d for d in WEEKDAYS if d in row.days.split(",")) if row.days else WORKING_DAYS
    zone = row.timezone or _known_zone(row.user_tz) or row.channel_tz or default_timezone
    return StandupPlan(
        initiative_id=row.id,
        team_id=row.team_id,
        name=row.name,
        ref_key=row.ref_key,
        home_channel_id=row.home_channel_id,
        user_id=row.embedded_engineer_id,
        schedule=Schedule(at, zone, days),
        questions=questions_of(row.questions),
        enabled=row.enabled is not False,
        since=max(row.created_at, row.updated_at) if row.updated_at else row.created_at,
        profile_fetched_at=row.profile_fetched_at,
    )


def questions_of(raw: str | None) -> tuple[str, ...]:
    if not raw:
        return DEFAULT_QUESTIONS
    return tuple(str(q) for q in json.loads(raw)) or DEFAULT_QUESTIONS


def _known_zone(name: str | None) -> str | None:
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


# --- prompts on a schedule ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PromptToSend:
    """A recorded prompt, ready to post."""

    prompt: StandupPrompt
    has_previous: bool  # an earlier answer exists, so "no change since yesterday" is offered
    dm_channel: str | None = None  # the engineer's DM channel, from an earlier prompt, where a resumed post looks


class Landing(Protocol):
    """Where a posted message landed, known once Slack took it: the channel (a person's DM) and its ts."""

    @property
    def posted_channel(self) -> str | None: ...

    @property
    def root_ts(self) -> str | None: ...


def unanswered_prompts(*, session: Session) -> list[StandupPrompt]:
    """Prompts still waiting for an answer: some are due a reminder, some have seen their day end."""
    return list(queries.unanswered_prompts(session=session))


def is_away(*, session: Session, team_id: str, user_id: str, day: date) -> bool:
    """Whether the person set time away that covers `day`."""
    return bool(queries.away_on(session=session, team_id=team_id, user_ids=[user_id], day=day))


def record_prompt(*, session: Session, plan: StandupPlan, day: date, now: datetime) -> PromptToSend:
    """Record the prompt of `plan` for `day`, in the caller's transaction (the one that claims its slot)."""
    prompt = queries.add_prompt(
        session=session,
        prompt=StandupPrompt(
            initiative_id=plan.initiative_id,
            team_id=plan.team_id,
            user_id=plan.user_id,
            day=day,
            timezone=plan.schedule.timezone,
            prompted_at=now,
        ),
    )
    return PromptToSend(prompt, _has_previous(session, prompt))


def recorded_prompt(*, session: Session, target: str, slot_key: str) -> PromptToSend | None:
    """The prompt that the standup slot `slot_key` of `target` (a `StandupPlan.target`) recorded; None if none."""
    team_id, initiative_id, user_id = target.split(":", 2)
    day = date.fromisoformat(slot_key.split("+", 1)[0])
    prompt = queries.find_prompt(session=session, initiative_id=int(initiative_id), user_id=user_id, day=day)
    if prompt is None:
        return None
    dm_channel = queries.dm_channel_of(session=session, team_id=team_id, user_id=user_id)
    return PromptToSend(prompt, _has_previous(session, prompt), dm_channel)


def _has_previous(session: Session, prompt: StandupPrompt) -> bool:
    previous = queries.previous_answer(
        session=session, initiative_id=prompt.initiative_id, user_id=prompt.user_id, before=prompt.day
    )
    return previous is not None


def prompt_posted(prompt_id: int, landing: Landing) -> OnDone:
    """What the slot records once the prompt is posted: where it landed (read from `landing` then)."""

    def record(session: Session, _at: datetime) -> None:
        queries.mark_prompt(
            session=session, prompt_id=prompt_id, prompt_channel=landing.posted_channel, prompt_ts=landing.root_ts
        )

    return record


def reminders_due(prompts: Sequence[StandupPrompt], *, now: datetime, after: timedelta) -> list[StandupPrompt]:
    """Prompts posted at least `after` ago, not yet reminded, whose local day is still today."""
    return [
        p
        for p in prompts
        if p.reminded_at is None
        and p.prompt_ts is not None
        and now - p.prompted_at >= after
        and _local_day(now, p) == p.day
    ]


def prompt_reminded(prompt_id: int) -> OnDone:
    """What the slot records once the reminder is posted: when, so the prompt is reminded once."""

    def record(session: Session, at: datetime) -> None:
        queries.mark_prompt(session=session, prompt_id=prompt_id, reminded_at=at)

    return record


def missed_prompts(prompts: Sequence[StandupPrompt], *, now: datetime) -> list[StandupPrompt]:
    """Prompts whose local day has ended."""
    return [p for p in prompts if _local_day(now, p) > p.day]


def mark_missed(*, session: Session, prompt_id: int) -> bool:
    """Mark a prompt missed unless it was answered meanwhile; True if this call marked it."""
    return queries.mark_missed(session=session, prompt_id=prompt_id)


def initiative_name(*, session: Session, prompt: StandupPrompt) -> str | None:
    """The name of the prompt's initiative; None if it was deleted."""
    initiative = get_initiative(session=session, team_id=prompt.team_id, initiative_id=prompt.initiative_id)
    return initiative.name if initiative is not None else None


def _local_day(now: datetime, prompt: StandupPrompt) -> date:
    """The date at `now` where the prompt's engineer is."""
    return now.astimezone(ZoneInfo(prompt.timezone)).date()


# --- settings -----------------------------------------------------------------------------------------------------


def set_standup(
    *,
    session: Session,
    actor: Actor,
    initiative: Initiative,
    people: PeopleService,
    now: datetime,
    at: time | None = None,
    timezone: str | None = None,
    days: Sequence[str] | None = None,
    enabled: bool | None = None,
    questions: Sequence[str] | None = None,
) -> StandupSettings:
    """Change an initiative's standup: its managers may (the leads, the embedded engineer, its creator, admins)."""
    require_active(initiative, frozen="its standup stays as it is")
    if initiative.embedded_engineer_id is None:
        raise NoEmbeddedEngineer(initiative)
    require_manager(initiative=initiative, actor=actor, people=people, action="change its standup")
    row = queries.get_settings(session=session, initiative_id=initiative.id or 0) or StandupSettings(
        initiative_id=initiative.id or 0, updated_at=now
    )
    if at is not None:
        row.time, row.enabled = at.strftime("%H:%M"), True
    if timezone is not None:
        row.timezone = timezone
    if days is not None:
        row.days = ",".join(days)
    if enabled is not None:
        row.enabled = enabled
    if questions is not None:
        row.questions = json.dumps(validate_questions(questions))
    row.configured_by, row.updated_at = actor.user_id, now
    return queries.save_settings(session=session, settings=row)


def engineer_changed(*, session: Session, initiative_id: int, now: datetime) -> None:
    """The new engineer's standups start now: a morning that passed before they took over is not theirs to answer."""
    row = queries.get_settings(session=session, initiative_id=initiative_id) or StandupSettings(
        initiative_id=initiative_id, updated_at=now
    )
    row.updated_at = now
    queries.save_settings(session=session, settings=row)


def validate_questions(questions: Sequence[str]) -> list[str]:
    kept = [" ".join(q.split()) for q in questions if q and q.strip()]
    if not kept:
        raise InvalidInput.single("questions", Problem.NO_QUESTIONS)
    if len(kept) > MAX_QUESTIONS:
        raise InvalidInput.single("questions", Problem.TOO_MANY_QUESTIONS, limit=MAX_QUESTIONS)
    long = next((q for q in kept if len(q) > QUESTION_MAX), None)
    if long is not None:
        raise InvalidInput.single("questions", Problem.QUESTION_TOO_LONG, limit=QUESTION_MAX)
    return kept


def questions_for(*, session: Session, initiative_id: int) -> tuple[str, ...]:
    """The questions the initiative's engineer is asked: its own, or the defaults."""
    row = queries.get_settings(session=session, initiative_id=initiative_id)
    return questions_of(row.questions if row else None)


def standup_initiative(*, session: Session, team_id: str, initiative_id: int) -> Initiative:
    """The initiative a standup form or prompt was for; one gone since makes the form out of date."""
    try:
        return initiative_by_id(session=session, team_id=team_id, initiative_id=initiative_id)
    except UnknownInitiative:
        raise InvalidInput.single("standup", Problem.STANDUP_GONE) from None


def settings_plan(*, session: Session, initiative: Initiative, default_timezone: str) -> StandupPlan | None:
    """The initiative's standup as it stands, or None without an embedded engineer."""
    plans = standup_plans(session=session, default_timezone=default_timezone, initiative_id=initiative.id or 0)
    return plans[0] if plans else None


# --- answers ------------------------------------------------------------------------------------------------------


def prompt_to_answer(*, session: Session, actor: Actor, prompt_id: int) -> tuple[StandupPrompt, Initiative]:
    """The prompt a button or form is about, with its initiative; only the engineer who was asked may answer it."""
    prompt = queries.get_prompt(session=session, prompt_id=prompt_id)
    if prompt is None or prompt.team_id != actor.team_id:
        raise InvalidInput.single("standup", Problem.STANDUP_GONE)
    initiative = standup_initiative(session=session, team_id=actor.team_id, initiative_id=prompt.initiative_id)
    if prompt.user_id != actor.user_id:
        raise InvalidInput.single("standup", Problem.NOT_YOUR_STANDUP, user_id=prompt.user_id)
    return prompt, initiative


def record_answer(
    *, session: Session, prompt: StandupPrompt, answer: Answer, actor_id: str, now: datetime
) -> RecordedAnswer:
    """Save the answer; its blockers become tracked blockers (editing the answer changes or resolves them)."""
    if actor_id != prompt.user_id:
        raise InvalidInput.single("standup", Problem.NOT_THE_ASKED_ENGINEER)
    initiative = session.get(Initiative, prompt.initiative_id)
    if initiative is None:
        raise InvalidInput.single("standup", Problem.INITIATIVE_GONE)
    require_active(initiative, frozen="its standups are closed")
    edited = prompt.state == StandupState.ANSWERED.value
    answers = tuple(a.strip()[:ANSWER_MAX] for a in answer.answers)
    located = _sync_blockers(session, initiative, prompt, answer.blockers, actor_id, now)
    prompt.answers = Answer(answers, answer.blockers).to_json()
    prompt.state = StandupState.ANSWERED.value
    prompt.answered_at = prompt.answered_at if edited else now
    session.add(prompt)
    session.flush()
    row = queries.get_settings(session=session, initiative_id=initiative.id or 0)
    return RecordedAnswer(
        prompt,
        initiative,
        Answer(answers, answer.blockers),
        questions_of(row.questions if row else None),
        located,
        edited,
    )


def same_as_before(*, session: Session, prompt: StandupPrompt, actor_id: str, now: datetime) -> RecordedAnswer:
    """ "No change since yesterday": the previous answer again; its blockers that are still open stay as they are."""
    previous = queries.previous_answer(
        session=session, initiative_id=prompt.initiative_id, user_id=prompt.user_id, before=prompt.day
    )
    if previous is None:
        raise InvalidInput.single("standup", Problem.NO_EARLIER_ANSWER)
    earlier = Answer.from_json(previous.answers)
    # By text, not by the answer that first named them: a blocker repeated day after day keeps its first answer.
    open_now = {
        b.text: b for b in blocker_queries.open_blockers(session=session, initiative_ids=[prompt.initiative_id])
    }
    named = (" ".join(text.split()) for text, _direction in earlier.blockers)
    still_open = tuple((t, _direction_of(open_now[t])) for t in named if t in open_now)
    return record_answer(
        session=session, prompt=prompt, answer=Answer(earlier.answers, still_open), actor_id=actor_id, now=now
    )


def record_post(*, session: Session, prompt_id: int, channel_id: str, ts: str) -> None:
    """Where the answer was posted in the thread, so that editing the answer updates that post."""
    queries.mark_prompt(session=session, prompt_id=prompt_id, post_channel=channel_id, post_ts=ts)


def _direction_of(blocker: Blocker) -> BlockerDirection | None:
    return BlockerDirection(blocker.direction) if blocker.direction else None


def _blockers_of(session: Session, prompt: StandupPrompt) -> Sequence[Blocker]:
    return blocker_queries.blockers_of_prompt(session=session, prompt_id=prompt.id or 0)


def _sync_blockers(
    session: Session,
    initiative: Initiative,
    prompt: StandupPrompt,
    wanted: Sequence[tuple[str, BlockerDirection | None]],
    actor_id: str,
    now: datetime,
) -> tuple[LocatedBlocker, ...]:
    """Blockers named in the answer: kept if already tracked (from this answer, or still open from an earlier
    one), new ones reported; one this answer named before and no longer does is resolved."""
    mine = _blockers_of(session, prompt)
    open_earlier = [
        b
        for b in blocker_queries.open_blockers(session=session, initiative_ids=[initiative.id or 0])
        if b.standup_prompt_id is not None and b.standup_prompt_id != prompt.id
    ]
    kept: list[LocatedBlocker] = []
    for text, direction in wanted:
        text = " ".join(text.split())
        if not text:
            continue
        same = next((b for b in [*mine, *open_earlier] if b.text == text and b.resolved_at is None), None)
        if same is not None:
            same.direction = direction.value if direction else same.direction
            session.add(same)
            kept.append(LocatedBlocker(initiative, same))
            continue
        located = report_blocker(
            session=session,
            actor=Actor(initiative.team_id, actor_id),
            initiative=initiative,
            text=text,
            direction=direction,
            now=now,
        )
        located.blocker.standup_prompt_id = prompt.id
        session.add(located.blocker)
        kept.append(located)
    kept_ids = {k.blocker.id for k in kept}
    for blocker in mine:
        if blocker.id not in kept_ids and blocker.resolved_at is None:
            blocker.resolved_by, blocker.resolved_at = actor_id, now
            session.add(blocker)
    session.flush()
    return tuple(kept)


# --- participation ------------------------------------------------------------------------------------------------


def participation(*, session: Session, initiative_id: int, today: date) -> Participation:
    """Over the last 20 days a standup was due: how many were answered, and the median time to answer."""
    since = today - timedelta(days=PARTICIPATION_DAYS * 3)  # generous: weekends, holidays and time away
    prompts = [
        p for p in queries.prompts_since(session=session, initiative_id=initiative_id, since=since) if p.day < today
    ]
    recent = prompts[-PARTICIPATION_DAYS:]
    answered = [p for p in recent if p.state == StandupState.ANSWERED.value and p.answered_at]
    minutes = [((p.answered_at or p.prompted_at) - p.prompted_at).total_seconds() / 60 for p in answered]
    return Participation(
        due=len(recent), answered=len(answered), median_minutes=statistics.median(minutes) if minutes else None
    )


# --- time away ----------------------------------------------------------------------------------------------------


def parse_away(words: Sequence[str], *, today: date) -> tuple[date, date]:
    """`3d`, `2w`, or one or two dates (`2027-01-10 2027-01-14`, `tomorrow`, `next fri`): from and to, both included."""
    if len(words) == 1 and (span := AWAY_SPAN.match(words[0].lower())):
        count = int(span.group(1)) * (7 if span.group(2) == "w" else 1)
        if not 1 <= count <= MAX_AWAY_DAYS:
            raise InvalidInput.single("away", Problem.AWAY_SPAN, limit=MAX_AWAY_DAYS)
        return today, today + timedelta(days=count - 1)
    days = group_date_words(words)
    if len(days) in (1, 2):
        try:
            starts = parse_date(days[0], today=today)
            ends = parse_date(days[-1], today=today)
        except DateError as error:
            raise InvalidInput.single("away", Problem.NOT_A_DATE, text=error.text, reason=error.reason) from None
        if ends < starts:
            raise InvalidInput.single("away", Problem.AWAY_BACKWARDS)
        if ends < today:
            raise InvalidInput.single("away", Problem.AWAY_OVER)
        if (ends - starts).days >= MAX_AWAY_DAYS:
            raise InvalidInput.single("away", Problem.AWAY_TOO_LONG, limit=MAX_AWAY_DAYS)
        return starts, ends
    raise InvalidInput.single("away", Problem.AWAY_WORDS)


def time_away(*, session: Session, actor: Actor, from_day: date) -> Sequence[Away]:
    """The person's time away that has not ended before `from_day`, soonest first."""
    return queries.away_periods(session=session, team_id=actor.team_id, user_id=actor.user_id, from_day=from_day)


def set_away(*, session: Session, actor: Actor, starts: date, ends: date, now: datetime) -> Away:
    """Time away for the person who asked: no standup prompts for them from `starts` to `ends`."""
    return queries.add_away(
        session=session,
        away=Away(team_id=actor.team_id, user_id=actor.user_id, starts=starts, ends=ends, created_at=now),
    )


def end_away(*, session: Session, actor: Actor, today: date) -> int:
    """`away off`: time away that started ends yesterday, and later time away is dropped."""
    changed = queries.end_away(session=session, team_id=actor.team_id, user_id=actor.user_id, today=today)
    if not changed:
        raise InvalidInput.single("away", Problem.NO_AWAY)
    return changed
