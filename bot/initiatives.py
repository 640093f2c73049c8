"""Initiatives: creating, finding, moving through phases, editing and archiving them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum, StrEnum

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.errors import (
    AmbiguousInitiative,
    DuplicateName,
    FieldProblem,
    InvalidInput,
    NotAllowed,
    NothingToChange,
    Problem,
    UnknownInitiative,
    UnknownUser,
    unusable_person,
)
from bot.people import PeopleService
from storage import initiatives as queries
from storage.models import GOAL_MAX, NAME_MAX, NOTE_MAX, PhaseChange
from storage.models import Initiative as Initiative
from storage.models import Phase as Phase

RESERVED_NAMES = frozenset({"all"})  # `status all` would be ambiguous
JIRA_ISSUE_KEY = re.compile(r"^([A-Z][A-Z0-9_]{0,30})-([1-9][0-9]{0,9})$")


class Clear(Enum):
    """The sentinel "remove this value" in an edit: an enum member, so a copied command still holds the same one."""

    CLEAR = "clear"


CLEAR = Clear.CLEAR
REF_KEY_ATTEMPTS = 3


class Field(StrEnum):
    """The fields a user can set, named as they type them (`ds:@alice`, `due:2027-03-01`)."""

    NAME = "name"
    CHANNEL = "channel"
    DS = "ds"
    ENG = "eng"
    EMBEDDED = "embedded"
    GOAL = "goal"
    JIRA = "jira"
    DUE = "due"


# Changing who runs an initiative, or where and under what name it lives, is for the people accountable.
RESTRICTED_FIELDS = frozenset({Field.NAME, Field.CHANNEL, Field.DS, Field.ENG, Field.EMBEDDED})
CLEARABLE_FIELDS = frozenset({Field.DS, Field.ENG, Field.EMBEDDED, Field.GOAL, Field.JIRA, Field.DUE})
FIELD_LABELS = {
    Field.NAME: "Name",
    Field.CHANNEL: "Home channel",
    Field.DS: "DS lead",
    Field.ENG: "Engineering lead",
    Field.EMBEDDED: "Embedded engineer",
    Field.GOAL: "Goal",
    Field.JIRA: "Jira epic",
    Field.DUE: "Target date",
}


@dataclass(frozen=True)
class Actor:
    team_id: str
    user_id: str


@dataclass(frozen=True)
class InitiativeDraft:
    """What a user asked for when creating an initiative, before validation."""

    name: str
    home_channel_id: str | None = None  # None: the channel it was asked for in, which the caller knows
    ds_lead_id: str | None = None
    eng_lead_id: str | None = None
    embedded_engineer_id: str | None = None
    goal: str | None = None
    jira_epic_key: str | None = None
    target_date: date | None = None


@dataclass(frozen=True)
class FieldChange:
    field: Field
    old: object
    new: object


@dataclass(frozen=True)
class EditResult:
    initiative: Initiative
    changes: list[FieldChange] = field(default_factory=list)


@dataclass(frozen=True)
class PhaseResult:
    initiative: Initiative
    change: PhaseChange


def clean_name(raw: str) -> str:
    return " ".join(raw.split())


def name_problems(name: str) -> list[FieldProblem]:
    if not name:
        return [FieldProblem(Field.NAME, Problem.NAME_MISSING)]
    if len(name) > NAME_MAX:
        return [FieldProblem(Field.NAME, Problem.TOO_LONG, what="name", length=len(name), limit=NAME_MAX)]
    if name.casefold() in RESERVED_NAMES:
        return [FieldProblem(Field.NAME, Problem.NAME_RESERVED, name=name)]
    return []


def goal_problems(goal: str | None) -> list[FieldProblem]:
    if goal is not None and len(goal) > GOAL_MAX:
        return [FieldProblem(Field.GOAL, Problem.TOO_LONG, what="goal", length=len(goal), limit=GOAL_MAX)]
    return []


def normalize_jira_key(raw: str) -> str | None:
    """`ds-12` → `DS-12`; None when it is not an issue key."""
    key = raw.strip().upper()
    return key if JIRA_ISSUE_KEY.match(key) else None


def jira_problems(raw: str | None, *, jira_configured: bool) -> list[FieldProblem]:
    """Without Jira settings an epic is refused: stored silently, it would promise links that never come."""
    if raw is None:
        return []
    if not jira_configured:
        return [FieldProblem(Field.JIRA, Problem.JIRA_NOT_CONFIGURED)]
    if normalize_jira_key(raw) is None:
        return [FieldProblem(Field.JIRA, Problem.NOT_A_JIRA_KEY, raw=raw)]
    return []


def due_problems(target: date | None, today: date) -> list[FieldProblem]:
    if target is not None and target < today:
        return [FieldProblem(Field.DUE, Problem.DATE_IN_PAST, what="target date", day=target)]
    return []


def note_problems(note: str | None) -> list[FieldProblem]:
    if note is not None and len(note) > NOTE_MAX:
        return [FieldProblem("note", Problem.TOO_LONG, what="note", length=len(note), limit=NOTE_MAX)]
    return []


def validate_draft(
    *,
    session: Session,
    team_id: str,
    draft: InitiativeDraft,
    people: PeopleService | None,
    today: date,
    jira_configured: bool,
) -> list[FieldProblem]:
    """Every problem with a draft at once, so a modal can mark each field and a command can list them all.

    Without `people` the named people are not checked (a caller short of time checks them later).
    """
    name = clean_name(draft.name)
    problems = name_problems(name)
    if not problems:
        existing = queries.get_initiative_by_name(session=session, team_id=team_id, name=name)
        if existing is not None:
            problems.append(
                FieldProblem(Field.NAME, Problem.DUPLICATE_NAME, name=existing.name, archived=existing.archived)
            )
    problems += goal_problems(draft.goal)
    problems += jira_problems(draft.jira_epic_key, jira_configured=jira_configured)
    problems += due_problems(draft.target_date, today)
    for role, user_id in (
        (Field.DS, draft.ds_lead_id),
        (Field.ENG, draft.eng_lead_id),
        (Field.EMBEDDED, draft.embedded_engineer_id),
    ):
        if user_id is not None and people is not None:
            problems += _person_problems(people, role, user_id)
    return problems


def _person_problems(people: PeopleService, role: Field, user_id: str) -> list[FieldProblem]:
    try:
        people.require_person(user_id)
    except UnknownUser as error:
        return [unusable_person(role, FIELD_LABELS[role], error)]
    return []


def create_initiative(
    *,
    session: Session,
    actor: Actor,
    draft: InitiativeDraft,
    people: PeopleService,
    now: datetime,
    today: date,
    jira_configured: bool,
) -> Initiative:
    """Validate and store a new initiative in `discovery`, with its first phase-history row."""
    if draft.home_channel_id is None:
        raise ValueError("the caller fills in the home channel of a draft before creating it")
    problems = validate_draft(
        session=session, team_id=actor.team_id, draft=draft, people=people, today=today, jira_configured=jira_configured
    )
    if problems:
        raise InvalidInput(problems)
    epic = normalize_jira_key(draft.jira_epic_key) if draft.jira_epic_key else None
    initiative = Initiative(
        team_id=actor.team_id,
        name=clean_name(draft.name),
        name_key=queries.name_key(draft.name),
        home_channel_id=draft.home_channel_id,
        ds_lead_id=draft.ds_lead_id,
        eng_lead_id=draft.eng_lead_id,
        embedded_engineer_id=draft.embedded_engineer_id,
        phase=Phase.DISCOVERY.value,
        goal=draft.goal or None,
        jira_epic_key=epic,
        jira_project_key=_project_of(epic),
        target_date=draft.target_date,
        created_by=actor.user_id,
        created_at=now,
        updated_by=actor.user_id,
        updated_at=now,
    )
    first = PhaseChange(
        initiative_id=0,
        from_phase=None,
        to_phase=Phase.DISCOVERY.value,
        changed_by=actor.user_id,
        changed_at=now,
    )
    for _attempt in range(REF_KEY_ATTEMPTS):
        try:
            with session.begin_nested():
                return queries.add_initiative(session=session, initiative=initiative, first_change=first)
        except IntegrityError as error:
            # Two people created the same name at the same moment; the database's unique key decided. Otherwise
            # two similar names raced for the same reference key, and picking again settles it.
            if queries.get_initiative_by_name(session=session, team_id=actor.team_id, name=initiative.name):
                raise DuplicateName(initiative.name, archived=False) from error
            initiative.ref_key = ""
    raise DuplicateName(initiative.name, archived=False)


def record_thread(*, session: Session, initiative_id: int, channel_id: str, ts: str, permalink: str | None) -> None:
    """Remember the kickoff message: it is the initiative's thread for every later update."""
    initiative = session.get(Initiative, initiative_id)
    if initiative is None:
        return
    initiative.thread_channel_id = channel_id
    initiative.thread_ts = ts
    initiative.thread_permalink = permalink
    session.add(initiative)


def discard_unannounced(*, session: Session, initiative_id: int) -> None:
    """Undo a creation whose kickoff could not be posted, so a failed `new` leaves nothing behind."""
    initiative = session.get(Initiative, initiative_id)
    if initiative is not None:
        queries.delete_initiative(session=session, initiative=initiative)


@dataclass(frozen=True)
class Part:
    """What one person is to one initiative: its DS lead, engineering lead, embedded engineer or creator."""

    initiative: Initiative
    roles: tuple[str, ...]


def parts_of(*, session: Session, team_id: str, user_id: str) -> list[Part]:
    """The active initiatives a person leads, is embedded in or created, with what they are to each."""
    parts = []
    for initiative in queries.list_initiatives_for_user(session=session, team_id=team_id, user_id=user_id):
        roles = (
            ("DS lead", initiative.ds_lead_id),
            ("engineering lead", initiative.eng_lead_id),
            ("embedded engineer", initiative.embedded_engineer_id),
            ("creator", initiative.created_by),
        )
        parts.append(Part(initiative, tuple(role for role, who in roles if who == user_id)))
    return parts


def resolve_initiative(*, session: Session, team_id: str, reference: str) -> Initiative:
    """The one rule for naming an initiative: an exact reference key or exact name (case-insensitive) wins;
    otherwise an unambiguous prefix of an active one's name or key; several matches are refused with the list."""
    name = clean_name(reference)
    if not name:
        raise UnknownInitiative(reference)
    exact = named_exactly(session=session, team_id=team_id, text=name)
    if exact is not None:
        return exact
    matches = queries.find_initiatives_by_prefix(session=session, team_id=team_id, prefix=name, limit=11)
    if not matches:
        raise UnknownInitiative(name)
    if len(matches) > 1:
        raise AmbiguousInitiative(name, [(m.name, m.ref_key) for m in matches])
    return matches[0]


def initiative_by_id(*, session: Session, team_id: str, initiative_id: int) -> Initiative:
    """The initiative a button or form carries by id; one deleted, or of another workspace, is unknown."""
    initiative = queries.get_initiative(session=session, team_id=team_id, initiative_id=initiative_id)
    if initiative is None:
        raise UnknownInitiative("(deleted)")
    return initiative


def initiatives_by_ids(*, session: Session, team_id: str, initiative_ids: Sequence[int]) -> list[Initiative]:
    """Those of the initiatives a button carries that are still there, in the button's order."""
    found = (queries.get_initiative(session=session, team_id=team_id, initiative_id=n) for n in initiative_ids)
    return [initiative for initiative in found if initiative is not None]


def named_exactly(*, session: Session, team_id: str, text: str) -> Initiative | None:
    """The initiative whose reference key or whole name (ignoring case) is `text`; prefixes do not count."""
    name = clean_name(text)
    if not name:
        return None
    by_key = queries.get_initiative_by_ref_key(session=session, team_id=team_id, ref_key=name)
    return by_key or queries.get_initiative_by_name(session=session, team_id=team_id, name=name)


def resolve_archived_initiative(*, session: Session, team_id: str, reference: str) -> Initiative:
    """For `unarchive`: an initiative by its key or exact name, or an unambiguous prefix of an archived one's name."""
    by_key = queries.get_initiative_by_ref_key(session=session, team_id=team_id, ref_key=reference.strip())
    name = clean_name(reference)
    exact = by_key or (queries.get_initiative_by_name(session=session, team_id=team_id, name=name) if name else None)
    if exact is not None:
        return exact
    matches = queries.find_initiatives_by_prefix(
        session=session, team_id=team_id, prefix=name, only_archived=True, limit=11
    )
    if not name or not matches:
        raise UnknownInitiative(name or reference)
    if len(matches) > 1:
        raise AmbiguousInitiative(name, [(m.name, m.ref_key) for m in matches])
    return matches[0]


def require_active(initiative: Initiative, *, frozen: str) -> None:
    """Refuse changes to an archived initiative; `frozen` says what stays as it was ("its KPIs are frozen")."""
    if initiative.archived:
        raise InvalidInput.single("initiative", Problem.ARCHIVED, name=initiative.name, frozen=frozen)


def managers_of(initiative: Initiative) -> list[str]:
    """The people who may change an initiative, besides workspace admins and owners."""
    candidates = [
        initiative.ds_lead_id,
        initiative.eng_lead_id,
        initiative.embedded_engineer_id,
        initiative.created_by,
    ]
    return list(dict.fromkeys(c for c in candidates if c))


def require_manager(*, initiative: Initiative, actor: Actor, people: PeopleService, action: str) -> None:
    """Raise `NotAllowed` unless the actor manages the initiative or administers the workspace.

    The admin check may call Slack, so it runs only when the cheap membership check fails.
    """
    managers = managers_of(initiative)
    if actor.user_id in managers or people.is_workspace_admin(actor.user_id):
        return
    raise NotAllowed(action, managers)


def parse_phase(raw: str) -> Phase:
    try:
        return Phase(raw.strip().lower())
    except ValueError:
        raise InvalidInput.single("phase", Problem.NOT_A_PHASE, raw=raw, phases=[p.value for p in Phase]) from None


def change_phase(
    *,
    session: Session,
    actor: Actor,
    initiative: Initiative,
    phase: Phase,
    note: str | None,
    people: PeopleService,
    now: datetime,
    forced_items: Sequence[str] | None = None,
) -> PhaseResult:
    """Move an initiative to `phase` and record it in the phase history; `forced_items` are the checklist items
    it was moved past without."""
    problems = note_problems(note)
    if problems:
        raise InvalidInput(problems)
    if initiative.archived:
        raise InvalidInput.single("phase", Problem.ARCHIVED, name=initiative.name, frozen="its phase is frozen")
    if initiative.phase == phase.value:
        raise NothingToChange(Problem.ALREADY_IN_PHASE, name=initiative.name, phase=phase.value)
    require_manager(initiative=initiative, actor=actor, people=people, action="change its phase")
    change = PhaseChange(
        initiative_id=_id(initiative),
        from_phase=initiative.phase,
        to_phase=phase.value,
        changed_by=actor.user_id,
        changed_at=now,
        note=note or None,
        forced=bool(forced_items),
        forced_items=", ".join(forced_items)[:1000] if forced_items else None,
    )
    initiative.phase = phase.value
    _touch(initiative, actor, now)
    session.add(initiative)
    queries.add_phase_change(session=session, change=change)
    return PhaseResult(initiative=initiative, change=change)


@dataclass(frozen=True)
class EditRequest:
    """Requested values by field; `CLEAR` removes an optional value. Parsed, not yet validated."""

    values: dict[Field, object]


def edit_initiative(
    *,
    session: Session,
    actor: Actor,
    initiative: Initiative,
    request: EditRequest,
    people: PeopleService,
    now: datetime,
    today: date,
    jira_configured: bool,
) -> EditResult:
    """Apply field edits after validating all of them; nothing changes if any is wrong or not allowed."""
    if not request.values:
        raise InvalidInput.single("field", Problem.EDIT_SAYS_NOTHING)
    if initiative.archived:
        raise InvalidInput.single("field", Problem.ARCHIVED_EDIT, name=initiative.name, ref_key=initiative.ref_key)
    problems = edit_problems(
        session=session,
        team_id=actor.team_id,
        initiative=initiative,
        request=request,
        people=people,
        today=today,
        jira_configured=jira_configured,
    )
    if problems:
        raise InvalidInput(problems)
    if RESTRICTED_FIELDS & request.values.keys():
        require_manager(initiative=initiative, actor=actor, people=people, action="change its name, channel or people")

    changes: list[FieldChange] = []
    for fld, value in request.values.items():
        old = _get_field(initiative, fld)
        new = None if value is CLEAR else _normalized(fld, value)
        if old != new:
            _set_field(initiative, fld, new)
            changes.append(FieldChange(fld, old, new))
    if not changes:
        raise NothingToChange(Problem.ALREADY_SET)
    _touch(initiative, actor, now)
    session.add(initiative)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as error:
        raise DuplicateName(initiative.name, archived=False) from error
    return EditResult(initiative=initiative, changes=changes)


def edit_problems(
    *,
    session: Session,
    team_id: str,
    initiative: Initiative,
    request: EditRequest,
    people: PeopleService | None,
    today: date,
    jira_configured: bool,
) -> list[FieldProblem]:
    """Every problem with the values of an edit, so a form can mark each field; without `people` the people named
    are not checked (a caller short of time leaves that to the edit itself)."""
    problems: list[FieldProblem] = []
    for fld, value in request.values.items():
        if value is CLEAR and fld not in CLEARABLE_FIELDS:
            problems.append(FieldProblem(fld, Problem.CANNOT_CLEAR, label=FIELD_LABELS[fld]))
        elif fld is Field.NAME:
            name = clean_name(str(value))
            invalid_name = name_problems(name)
            problems += invalid_name
            other = queries.get_initiative_by_name(session=session, team_id=team_id, name=name)
            if not invalid_name and other is not None and other.id != initiative.id:
                problems.append(FieldProblem(fld, Problem.DUPLICATE_NAME, name=other.name, archived=other.archived))
        elif fld is Field.GOAL and value is not CLEAR:
            problems += goal_problems(str(value))
        elif fld is Field.JIRA and value is not CLEAR:
            problems += jira_problems(str(value), jira_configured=jira_configured)
        elif fld is Field.DUE and value is not CLEAR:
            assert isinstance(value, date)
            problems += due_problems(value, today)
        elif fld in (Field.DS, Field.ENG, Field.EMBEDDED) and value is not CLEAR and people is not None:
            problems += _person_problems(people, fld, str(value))
    return problems


def edit_request_between(initiative: Initiative, draft: InitiativeDraft) -> EditRequest:
    """The fields a form filled in with an initiative's values now differ in: emptied optional ones are cleared."""
    values: dict[Field, object] = {}
    for fld in Field:
        new = _draft_value(draft, fld)
        if new is None and fld not in CLEARABLE_FIELDS:
            continue  # a required field left empty is the form's to refuse
        if new is not None and fld is Field.JIRA:
            new = normalize_jira_key(str(new)) or new
        if new != _get_field(initiative, fld):
            values[fld] = CLEAR if new is None else new
    return EditRequest(values)


def _draft_value(draft: InitiativeDraft, fld: Field) -> object:
    value = getattr(draft, _ATTRIBUTES[fld])
    if isinstance(value, str):
        value = clean_name(value) if fld is Field.NAME else value.strip()
    return value if value not in ("", None) else None


def archive_initiative(
    *, session: Session, actor: Actor, initiative: Initiative, people: PeopleService, now: datetime
) -> Initiative:
    """Hide an initiative from status and lists; its history stays."""
    if initiative.archived:
        raise NothingToChange(Problem.ALREADY_ARCHIVED, name=initiative.name)
    return _set_archived(session=session, actor=actor, initiative=initiative, people=people, now=now, archived=True)


def unarchive_initiative(
    *, session: Session, actor: Actor, initiative: Initiative, people: PeopleService, now: datetime
) -> Initiative:
    """Bring an archived initiative back into status and lists; the same people who may archive it may."""
    if not initiative.archived:
        raise NothingToChange(Problem.NOT_ARCHIVED, name=initiative.name)
    return _set_archived(session=session, actor=actor, initiative=initiative, people=people, now=now, archived=False)


def _set_archived(
    *, session: Session, actor: Actor, initiative: Initiative, people: PeopleService, now: datetime, archived: bool
) -> Initiative:
    require_manager(
        initiative=initiative, actor=actor, people=people, action="archive it" if archived else "unarchive it"
    )
    initiative.archived = archived
    initiative.archived_at = now if archived else None
    _touch(initiative, actor, now)
    session.add(initiative)
    session.flush()
    return initiative


def phase_history(*, session: Session, initiative: Initiative) -> Sequence[PhaseChange]:
    return queries.list_phase_history(session=session, initiative_id=_id(initiative))


_ATTRIBUTES = {
    Field.NAME: "name",
    Field.CHANNEL: "home_channel_id",
    Field.DS: "ds_lead_id",
    Field.ENG: "eng_lead_id",
    Field.EMBEDDED: "embedded_engineer_id",
    Field.GOAL: "goal",
    Field.JIRA: "jira_epic_key",
    Field.DUE: "target_date",
}


def _get_field(initiative: Initiative, fld: Field) -> object:
    return getattr(initiative, _ATTRIBUTES[fld])


def _set_field(initiative: Initiative, fld: Field, value: object) -> None:
    setattr(initiative, _ATTRIBUTES[fld], value)
    if fld is Field.NAME:
        initiative.name_key = queries.name_key(str(value))
    elif fld is Field.JIRA:
        initiative.jira_project_key = _project_of(value if isinstance(value, str) else None)


def _normalized(fld: Field, value: object) -> object:
    if fld is Field.NAME:
        return clean_name(str(value))
    if fld is Field.JIRA:
        return normalize_jira_key(str(value))
    return value


def _project_of(epic_key: str | None) -> str | None:
    return epic_key.rsplit("-", 1)[0] if epic_key else None


def _touch(initiative: Initiative, actor: Actor, now: datetime) -> None:
    initiative.updated_by = actor.user_id
    initiative.updated_at = now


def _id(initiative: Initiative) -> int:
    assert initiative.id is not None, "initiative must be stored first"
    return initiative.id
