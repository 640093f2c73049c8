"""The ideas log: what each initiative tried and how it went, referenced as `churn#i2`, searchable across the
workspace so teams see what was already tried."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.errors import FieldProblem, HandoffError, InvalidInput, Problem
from bot.initiatives import Actor, note_problems, require_active, resolve_initiative
from storage import ideas as queries
from storage.models import IDEA_MAX, Idea, IdeaOutcome, Initiative
from storage.numbering import next_number

REFERENCE = re.compile(r"^(.+?)#[iI](\d{1,6})$")
LISTED = 20
SEARCH_RESULTS = 20
NUMBER_ATTEMPTS = 3


class UnknownIdea(HandoffError):
    """No such idea; with `initiative`, the reference named it but not one of its ideas."""

    def __init__(self, reference: str, initiative: Initiative | None = None):
        named = {"name": initiative.name, "ref_key": initiative.ref_key} if initiative is not None else {}
        super().__init__(Problem.UNKNOWN_IDEA, reference=reference, **named)
        self.reference = reference


@dataclass(frozen=True)
class LocatedIdea:
    initiative: Initiative
    idea: Idea

    @property
    def ref(self) -> str:
        return idea_reference(self.initiative, self.idea)


def idea_reference(initiative: Initiative, idea: Idea) -> str:
    return f"{initiative.ref_key}#i{idea.number}"


def parse_outcome(raw: str) -> IdeaOutcome:
    try:
        return IdeaOutcome(raw.strip().lower())
    except ValueError:
        raise InvalidInput.single(
            "outcome", Problem.NOT_AN_OUTCOME, raw=raw, outcomes=[o.value for o in IdeaOutcome]
        ) from None


def text_problems(text: str) -> list[FieldProblem]:
    """What is wrong with an idea's text (whitespace collapsed), for a command's answer or a form's field."""
    text = " ".join(text.split())
    if not text:
        return [FieldProblem("text", Problem.IDEA_TEXT_MISSING)]
    if len(text) > IDEA_MAX:
        return [FieldProblem("text", Problem.TOO_LONG, what="idea", length=len(text), limit=IDEA_MAX)]
    return []


def log_idea(*, session: Session, actor: Actor, initiative: Initiative, text: str, now: datetime) -> LocatedIdea:
    """Record an idea with its author; anyone may, since the log is everyone's memory."""
    problems = text_problems(text)
    if problems:
        raise InvalidInput(problems)
    text = " ".join(text.split())
    require_active(initiative, frozen="its log is frozen")
    for _attempt in range(NUMBER_ATTEMPTS):
        number = next_number(session=session, model=Idea, initiative_id=initiative.id or 0)
        idea = Idea(initiative_id=initiative.id or 0, number=number, text=text, author_id=actor.user_id, created_at=now)
        try:
            # Two ideas logged at the same moment race for the number; the unique key decides, and the loser
            # takes the next one.
            with session.begin_nested():
                queries.add_idea(session=session, idea=idea)
            return LocatedIdea(initiative, idea)
        except IntegrityError:
            continue
    raise HandoffError(Problem.IDEAS_RACED)


def locate_idea(*, session: Session, team_id: str, reference: str) -> LocatedIdea:
    match = REFERENCE.match(reference.strip())
    if match is None:
        raise UnknownIdea(reference)
    initiative = resolve_initiative(session=session, team_id=team_id, reference=match.group(1))
    idea = queries.get_idea(session=session, initiative_id=initiative.id or 0, number=int(match.group(2)))
    if idea is None:
        raise UnknownIdea(reference, initiative)
    return LocatedIdea(initiative, idea)


def record_outcome(
    *,
    session: Session,
    actor: Actor,
    reference: str,
    outcome: IdeaOutcome,
    note: str | None,
    now: datetime,
) -> LocatedIdea:
    """Say how an idea went; a later outcome replaces an earlier one, with who said it and when."""
    problems = note_problems(note)
    if problems:
        raise InvalidInput(problems)
    located = locate_idea(session=session, team_id=actor.team_id, reference=reference)
    idea = located.idea
    idea.outcome, idea.outcome_note = outcome.value, " ".join(note.split()) if note else None
    idea.outcome_by, idea.outcome_at = actor.user_id, now
    session.add(idea)
    return located


@dataclass(frozen=True)
class IdeaList:
    initiative: Initiative
    ideas: Sequence[Idea]  # newest first, at most LISTED
    total: int


def list_ideas(*, session: Session, initiative: Initiative) -> IdeaList:
    return IdeaList(
        initiative,
        queries.list_ideas(session=session, initiative_id=initiative.id or 0, limit=LISTED),
        queries.count_ideas(session=session, initiative_id=initiative.id or 0),
    )


@dataclass(frozen=True)
class SearchResult:
    words: list[str]
    found: list[LocatedIdea]


def search_ideas(*, session: Session, team_id: str, text: str) -> SearchResult:
    """Ideas across the workspace holding every word, newest first."""
    words = [w for w in text.split() if w]
    if not words or all(len(w) < 2 for w in words):
        raise InvalidInput.single("words", Problem.SEARCH_WORDS_MISSING)
    rows = queries.search_ideas(session=session, team_id=team_id, words=words, limit=SEARCH_RESULTS)
    return SearchResult(words, [LocatedIdea(initiative, idea) for idea, initiative in rows])
