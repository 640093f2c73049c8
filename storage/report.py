"""Queries behind `/handoff report`: compact rows of every initiative in scope, one statement per kind of history,
so a report costs the same few statements for one initiative or two thousand.

The scope is a subquery (the workspace's initiatives, or those at home in one channel, less those archived before
the window started), never a list of ids: the statements stay the same size whatever the scope holds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Executable, Select, and_, func, null, or_, true, union_all
from sqlalchemy import select as core_select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import coercions, roles
from sqlalchemy.sql._typing import _ColumnExpressionArgument
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal
from sqlmodel import Session, col

from storage.models import Checkpoint, ClosedGap, Initiative, NudgeState, PhaseChange, StandupPrompt


@dataclass(frozen=True)
class ScopeFilter:
    """The initiatives a report reads: the workspace's, or those at home in `channel_id`; `started` is the window's
    start, before which an archived initiative is left out, and `until` its end (excluded; None: up to now), from
    which no event is read."""

    team_id: str
    channel_id: str | None
    started: datetime
    until: datetime | None = None

    def before_end(self, column: Any) -> ColumnElement[bool]:
        """`column` is before the window's end (always true for a window up to now)."""
        return true() if self.until is None else column < self.until

    def in_window(self, column: Any) -> ColumnElement[bool]:
        """`column` is from the window's start to its end."""
        return and_(column >= self.started, self.before_end(column))


@dataclass(frozen=True)
class InitiativeRow:
    id: int
    phase: str
    created_at: datetime
    archived: bool


@dataclass(frozen=True)
class PhaseStep:
    initiative_id: int
    from_phase: str | None
    to_phase: str
    changed_at: datetime
    forced: bool


@dataclass(frozen=True)
class CheckpointRow:
    due_date: date
    done_at: datetime | None
    mitigated: bool


@dataclass(frozen=True)
class NudgedGap:
    """A gap that was nudged: still open (`closed_at` None) or closed."""

    first_nudged_at: datetime | None
    last_nudged_at: datetime | None
    escalated_at: datetime | None
    closed_at: datetime | None


@dataclass(frozen=True)
class EngineerPrompts:
    """One engineer's standup prompts in a window: how many, how many answered, and each answer's time from its
    prompt in microseconds (whole numbers, so the medians are exact on every database)."""

    user_id: str
    prompted: int
    answered: int
    answer_microseconds: tuple[int, ...]


class _AnswerMicroseconds(ColumnElement[int]):
    """The time from a prompt to its answer in whole microseconds, computed by the database.

    SQLite stores moments as text (`YYYY-MM-DD HH:MM:SS.ffffff`, SQLAlchemy's format, microseconds always six
    digits): whole seconds from `strftime('%s')`, the microseconds from the text itself, since `julianday` would
    round. PostgreSQL's `extract(epoch ...)` of an interval is exact (numeric)."""

    type = BigInteger()
    inherit_cache = True
    _traverse_internals = [
        ("prompted", InternalTraversal.dp_clauseelement),
        ("answered", InternalTraversal.dp_clauseelement),
    ]

    def __init__(
        self, prompted: _ColumnExpressionArgument[datetime], answered: _ColumnExpressionArgument[datetime | None]
    ):
        self.prompted = coercions.expect(roles.ExpressionElementRole, prompted)
        self.answered = coercions.expect(roles.ExpressionElementRole, answered)


@compiles(_AnswerMicroseconds, "sqlite")
def _answer_microseconds_sqlite(element: _AnswerMicroseconds, compiler: SQLCompiler, **kw: Any) -> str:
    prompted, answered = compiler.process(element.prompted, **kw), compiler.process(element.answered, **kw)
    return (
        f"((CAST(strftime('%s', {answered}) AS INTEGER) - CAST(strftime('%s', {prompted}) AS INTEGER)) * 1000000"
        f" + CAST(substr({answered}, 21, 6) AS INTEGER) - CAST(substr({prompted}, 21, 6) AS INTEGER))"
    )


@compiles(_AnswerMicroseconds)
def _answer_microseconds(element: _AnswerMicroseconds, compiler: SQLCompiler, **kw: Any) -> str:
    prompted, answered = compiler.process(element.prompted, **kw), compiler.process(element.answered, **kw)
    return f"CAST(extract(epoch FROM {answered} - {prompted}) * 1000000 AS BIGINT)"


def _rows(session: Session, statement: Executable) -> Sequence[Any]:
    return session.connection().execute(statement).all()


def _ids(scope: ScopeFilter) -> Select[Any]:
    """The ids of the initiatives in scope: not archived, or archived since the window started."""
    where = [
        col(Initiative.team_id) == scope.team_id,
        or_(col(Initiative.archived).is_(False), col(Initiative.archived_at) >= scope.started),
        scope.before_end(col(Initiative.created_at)),
    ]
    if scope.channel_id is not None:
        where.append(col(Initiative.home_channel_id) == scope.channel_id)
    return core_select(col(Initiative.id)).where(*where)


def scope_initiatives(*, session: Session, scope: ScopeFilter) -> list[InitiativeRow]:
    """Every initiative in scope, with its phase now and when it was created."""
    statement = core_select(
        col(Initiative.id), col(Initiative.phase), col(Initiative.created_at), col(Initiative.archived)
    ).where(col(Initiative.id).in_(_ids(scope)))
    return [InitiativeRow(int(i or 0), p, c, bool(a)) for i, p, c, a in _rows(session, statement)]


def phase_history(*, session: Session, scope: ScopeFilter) -> list[PhaseStep]:
    """Every phase change of the initiatives in scope (creation included), in order for each initiative.

    All of it, not only the window's: a stay that ends in the window began before it, and whether an initiative
    had reached production before the window decides whether it reaches it in the window."""
    statement = (
        core_select(
            col(PhaseChange.initiative_id),
            col(PhaseChange.from_phase),
            col(PhaseChange.to_phase),
            col(PhaseChange.changed_at),
            col(PhaseChange.forced),
        )
        .where(col(PhaseChange.initiative_id).in_(_ids(scope)), scope.before_end(col(PhaseChange.changed_at)))
        .order_by(col(PhaseChange.initiative_id), col(PhaseChange.changed_at), col(PhaseChange.id))
    )
    return [PhaseStep(i, f, t, at, bool(forced)) for i, f, t, at, forced in _rows(session, statement)]


def checkpoints_due(*, session: Session, scope: ScopeFilter, first: date, last: date) -> list[CheckpointRow]:
    """The checkpoints (not removed) of the initiatives in scope due from `first` to `last`, both included."""
    statement = core_select(
        col(Checkpoint.due_date), col(Checkpoint.done_at), col(Checkpoint.mitigation).is_not(None)
    ).where(
        col(Checkpoint.initiative_id).in_(_ids(scope)),
        col(Checkpoint.removed_at).is_(None),
        col(Checkpoint.due_date) >= first,
        col(Checkpoint.due_date) <= last,
    )
    return [CheckpointRow(due, done, bool(mitigated)) for due, done, mitigated in _rows(session, statement)]


def nudged_gaps(*, session: Session, scope: ScopeFilter) -> list[NudgedGap]:
    """The gaps of the initiatives in scope nudged, escalated or closed in the window: open ones, then closed."""
    ids = _ids(scope)
    open_gaps = core_select(
        col(NudgeState.first_nudged_at), col(NudgeState.last_nudged_at), col(NudgeState.escalated_at)
    ).where(
        col(NudgeState.initiative_id).in_(ids),
        col(NudgeState.times_nudged) > 0,
        or_(scope.in_window(col(NudgeState.last_nudged_at)), scope.in_window(col(NudgeState.escalated_at))),
    )
    closed = core_select(
        col(ClosedGap.first_nudged_at),
        col(ClosedGap.last_nudged_at),
        col(ClosedGap.escalated_at),
        col(ClosedGap.closed_at),
    ).where(
        col(ClosedGap.initiative_id).in_(ids),
        or_(
            scope.in_window(col(ClosedGap.closed_at)),
            scope.in_window(col(ClosedGap.last_nudged_at)),
            scope.in_window(col(ClosedGap.escalated_at)),
        ),
    )
    return [NudgedGap(f, last, e, None) for f, last, e in _rows(session, open_gaps)] + [
        NudgedGap(f, last, e, c) for f, last, e, c in _rows(session, closed)
    ]


def standup_prompts(*, session: Session, scope: ScopeFilter, first: date, last: date) -> list[EngineerPrompts]:
    """Each engineer's standup prompts about the initiatives in scope for the days from `first` to `last`, both
    included: counted by the database, with only the answered ones' answer times read.

    One statement: a row of counts an engineer (its time NULL), then a row an answered prompt (its counts NULL)."""
    in_window = (
        col(StandupPrompt.initiative_id).in_(_ids(scope)),
        col(StandupPrompt.day) >= first,
        col(StandupPrompt.day) <= last,
    )
    user = col(StandupPrompt.user_id)
    counts = (
        core_select(
            user,
            func.count().label("prompted"),
            func.count(col(StandupPrompt.answered_at)).label("answered"),
            null().label("answer_microseconds"),
        )
        .where(*in_window)
        .group_by(user)
    )
    times = core_select(
        user,
        null(),
        null(),
        _AnswerMicroseconds(col(StandupPrompt.prompted_at), col(StandupPrompt.answered_at)),
    ).where(*in_window, col(StandupPrompt.answered_at).is_not(None))
    tallies: dict[str, tuple[int, int]] = {}
    answer_times: dict[str, list[int]] = defaultdict(list)
    for user_id, prompted, answered, microseconds in _rows(session, union_all(counts, times)):
        if microseconds is None:
            tallies[user_id] = (int(prompted), int(answered))
        else:
            answer_times[user_id].append(int(microseconds))
    return [
        EngineerPrompts(user_id, prompted, answered, tuple(answer_times.get(user_id, ())))
        for user_id, (prompted, answered) in tallies.items()
    ]
