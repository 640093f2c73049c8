"""Blockers: what stops an initiative's work and who waits on whom, referenced as `churn#b2`, open until someone
marks them resolved, so engineering hears of them the day they appear instead of weeks later."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.errors import FieldProblem, HandoffError, InvalidInput, Problem
from bot.initiatives import Actor, require_active, resolve_initiative
from storage import blockers as queries
from storage.models import BLOCKER_MAX, Blocker, Initiative
from storage.models import BlockerDirection as BlockerDirection
from storage.numbering import next_number

REFERENCE = re.compile(r"^(.+?)#[bB](\d{1,6})$")
NUMBER_ATTEMPTS = 3
DIRECTION_WORDS = {
    "eng": BlockerDirection.ON_ENG,
    "engineering": BlockerDirection.ON_ENG,
    "ds": BlockerDirection.ON_DS,
    "data-science": BlockerDirection.ON_DS,
    "platform": BlockerDirection.ON_PLATFORM,
    "data": BlockerDirection.ON_PLATFORM,
}
DIRECTION_LABELS = {
    BlockerDirection.ON_ENG: "DS waiting on engineering",
    BlockerDirection.ON_DS: "engineering waiting on DS",
    BlockerDirection.ON_PLATFORM: "both waiting on data/platform",
}
# What a form offers for "who waits on whom": the word `on:` takes for each direction, and its label.
DIRECTION_CHOICES = (
    ("eng", DIRECTION_LABELS[BlockerDirection.ON_ENG]),
    ("ds", DIRECTION_LABELS[BlockerDirection.ON_DS]),
    ("platform", DIRECTION_LABELS[BlockerDirection.ON_PLATFORM]),
)


class UnknownBlocker(HandoffError):
    """No such blocker; with `initiative`, the reference named it but not one of its blockers."""

    def __init__(self, reference: str, initiative: Initiative | None = None):
        named = {"ref_key": initiative.ref_key} if initiative is not None else {}
        super().__init__(Problem.UNKNOWN_BLOCKER, reference=reference, **named)
        self.reference = reference


@dataclass(frozen=True)
class LocatedBlocker:
    initiative: Initiative
    blocker: Blocker

    @property
    def ref(self) -> str:
        return f"{self.initiative.ref_key}#b{self.blocker.number}"


def parse_direction(raw: str) -> BlockerDirection:
    direction = DIRECTION_WORDS.get(raw.strip().lower())
    if direction is None:
        raise InvalidInput.single("on", Problem.NOT_A_BLOCKER_DIRECTION, raw=raw)
    return direction


def direction_label(direction: str | None) -> str | None:
    return DIRECTION_LABELS.get(BlockerDirection(direction)) if direction else None


def text_problems(text: str) -> list[FieldProblem]:
    """What is wrong with a blocker's text (whitespace collapsed), for a command's answer or a form's field."""
    text = " ".join(text.split())
    if not text:
        return [FieldProblem("text", Problem.BLOCKER_TEXT_MISSING)]
    if len(text) > BLOCKER_MAX:
        return [FieldProblem("text", Problem.TOO_LONG, what="blocker", length=len(text), limit=BLOCKER_MAX)]
    return []


def report_blocker(
    *,
    session: Session,
    actor: Actor,
    initiative: Initiative,
    text: str,
    direction: BlockerDirection | None,
    now: datetime,
    reporter: str | None = None,
) -> LocatedBlocker:
    """Record a blocker with who reported it (`reporter`, else the actor); anyone may, since the point is to hear
    of it early."""
    problems = text_problems(text)
    if problems:
        raise InvalidInput(problems)
    text = " ".join(text.split())
    require_active(initiative, frozen="its blockers are frozen")
    for _attempt in range(NUMBER_ATTEMPTS):
        number = next_number(session=session, model=Blocker, initiative_id=initiative.id or 0)
        blocker = Blocker(
            initiative_id=initiative.id or 0,
            number=number,
            text=text,
            direction=direction.value if direction else None,
            reported_by=reporter or actor.user_id,
            reported_at=now,
        )
        try:
            # Two blockers reported at once race for the number; the unique key decides and the loser takes the next.
            with session.begin_nested():
                queries.add_blocker(session=session, blocker=blocker)
            return LocatedBlocker(initiative, blocker)
        except IntegrityError:
            continue
    raise HandoffError(Problem.BLOCKERS_RACED)


def resolve_blocker(*, session: Session, actor: Actor, reference: str, now: datetime) -> LocatedBlocker:
    """Mark a blocker resolved, with who and when; anyone may, and the thread hears of it."""
    located = locate_blocker(session=session, team_id=actor.team_id, reference=reference)
    blocker = located.blocker
    if blocker.resolved_at is not None:
        raise InvalidInput.single(
            "blocker", Problem.ALREADY_RESOLVED, reference=located.ref, resolved_by=blocker.resolved_by
        )
    blocker.resolved_by, blocker.resolved_at = actor.user_id, now
    session.add(blocker)
    session.flush()
    return located


def locate_blocker(*, session: Session, team_id: str, reference: str) -> LocatedBlocker:
    match = REFERENCE.match(reference.strip())
    if match is None:
        raise UnknownBlocker(reference)
    initiative = resolve_initiative(session=session, team_id=team_id, reference=match.group(1))
    blocker = queries.get_blocker(session=session, initiative_id=initiative.id or 0, number=int(match.group(2)))
    if blocker is None:
        raise UnknownBlocker(reference, initiative)
    return LocatedBlocker(initiative, blocker)


def open_blockers_of(*, session: Session, initiative: Initiative) -> Sequence[Blocker]:
    return queries.open_blockers(session=session, initiative_ids=[initiative.id or 0])
