"""Checkpoints: the milestones both teams track to production, referenced as `churn#3`.

Changes are split in two steps where Jira is involved: validate and authorise against the database, talk to
Jira with no transaction open (Jira can be slow, and SQLite would hold its write lock meanwhile), then store.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from sqlmodel import Session

from bot.errors import (
    FieldProblem,
    HandoffError,
    InvalidInput,
    NotAllowed,
    NothingToChange,
    Problem,
    UnknownUser,
    unusable_person,
)
from bot.initiatives import Actor, managers_of, normalize_jira_key, require_active, require_manager, resolve_initiative
from bot.jira_gateway import JiraIssue
from bot.people import PeopleService
from storage import checkpoints as queries
from storage.initiatives import get_initiative
from storage.models import CHECKPOINT_TITLE_MAX, MITIGATION_MAX, Initiative
from storage.models import Checkpoint as Checkpoint
from storage.models import CheckpointStatus as CheckpointStatus
from storage.numbering import next_number

REFERENCE = re.compile(r"^(.+?)#(\d{1,6})$")
JIRA_NEW = "new"


class CheckpointField(StrEnum):
    """What `checkpoint edit` can change, named as typed (`due:2027-03-01`)."""

    TITLE = "title"
    OWNER = "owner"
    DUE = "due"
    JIRA = "jira"


CHECKPOINT_FIELD_LABELS = {
    CheckpointField.TITLE: "Title",
    CheckpointField.OWNER: "Owner",
    CheckpointField.DUE: "Due date",
    CheckpointField.JIRA: "Jira issue",
}


class UnknownCheckpoint(HandoffError):
    """No such checkpoint; with `initiative`, the reference named it but not one of its checkpoints; `removed`, a
    form picked it and it was removed since."""

    def __init__(self, reference: str, initiative: Initiative | None = None, *, removed: bool = False):
        named = {"name": initiative.name, "ref_key": initiative.ref_key} if initiative is not None else {}
        super().__init__(Problem.UNKNOWN_CHECKPOINT, reference=reference, removed=removed, **named)
        self.reference = reference


@dataclass(frozen=True)
class CheckpointDraft:
    """A checkpoint as asked for, before validation; `jira` is an issue key, `new`, or None."""

    title: str
    owner_id: str | None = None
    due_date: date | None = None
    jira: str | None = None


@dataclass(frozen=True)
class Located:
    """A checkpoint with its initiative and its reference."""

    initiative: Initiative
    checkpoint: Checkpoint

    @property
    def ref(self) -> str:
        return reference_of(self.initiative, self.checkpoint)


@dataclass(frozen=True)
class CheckpointChange:
    field: CheckpointField
    old: object
    new: object


@dataclass(frozen=True)
class EditPlan:
    """Validated edits; `jira_key` is the new key to verify with Jira first (None when unchanged or cleared)."""

    located: Located
    values: dict[CheckpointField, object]
    jira_key: str | None = None


@dataclass(frozen=True)
class EditResult:
    located: Located
    changes: list[CheckpointChange] = field(default_factory=list)


def reference_of(initiative: Initiative, checkpoint: Checkpoint) -> str:
    return f"{initiative.ref_key}#{checkpoint.number}"


def effective_status(checkpoint: Checkpoint, today: date) -> CheckpointStatus:
    """Open or in-progress work whose due date has passed is missed."""
    status = CheckpointStatus(checkpoint.status)
    if status is not CheckpointStatus.DONE and checkpoint.due_date is not None and checkpoint.due_date < today:
        return CheckpointStatus.MISSED
    return status


def locate(*, session: Session, team_id: str, reference: str) -> Located:
    """`churn#3`: the initiative's reference key (or a name prefix) and the checkpoint's number."""
    match = REFERENCE.match(reference.strip())
    if match is None:
        raise UnknownCheckpoint(reference)
    initiative = resolve_initiative(session=session, team_id=team_id, reference=match.group(1).strip())
    number = int(match.group(2))
    checkpoint = queries.get_checkpoint(session=session, initiative_id=initiative.id or 0, number=number)
    if checkpoint is None:
        raise UnknownCheckpoint(reference, initiative)
    return Located(initiative, checkpoint)


def locate_by_id(*, session: Session, team_id: str, checkpoint_id: int) -> Located:
    """The checkpoint a form picked, by id; one removed since, or of another workspace, is unknown."""
    checkpoint = queries.get_checkpoint_by_id(session=session, checkpoint_id=checkpoint_id)
    initiative = (
        get_initiative(session=session, team_id=team_id, initiative_id=checkpoint.initiative_id) if checkpoint else None
    )
    if checkpoint is None or initiative is None:
        raise UnknownCheckpoint(f"#{checkpoint_id}", removed=True)
    return Located(initiative, checkpoint)


def linked_checkpoint(*, session: Session, team_id: str, jira_key: str) -> Located | None:
    """The active checkpoint in the workspace linked to this Jira issue, if there is one."""
    linked = queries.find_linked_checkpoint(session=session, team_id=team_id, jira_key=jira_key)
    return Located(linked[1], linked[0]) if linked else None


def list_for(*, session: Session, initiative: Initiative) -> Sequence[Checkpoint]:
    return queries.list_checkpoints(session=session, initiative_id=initiative.id or 0)


# --- validation ------------------------------------------------------------------------------------------


def title_problems(title: str) -> list[FieldProblem]:
    if not title:
        return [FieldProblem(CheckpointField.TITLE, Problem.TITLE_MISSING)]
    if len(title) > CHECKPOINT_TITLE_MAX:
        return [
            FieldProblem(
                CheckpointField.TITLE, Problem.TOO_LONG, what="title", length=len(title), limit=CHECKPOINT_TITLE_MAX
            )
        ]
    return []


def due_problems(due: date | None, today: date) -> list[FieldProblem]:
    if due is not None and due < today:
        return [FieldProblem(CheckpointField.DUE, Problem.DATE_IN_PAST, what="due date", day=due)]
    return []


def jira_problems(raw: str | None, initiative: Initiative, jira_configured: bool) -> list[FieldProblem]:
    if raw is None:
        return []
    if not jira_configured:
        return [FieldProblem(CheckpointField.JIRA, Problem.JIRA_NOT_CONFIGURED)]
    if raw.strip().lower() == JIRA_NEW:
        if not initiative.jira_project_key:
            return [
                FieldProblem(
                    CheckpointField.JIRA,
                    Problem.JIRA_NEW_WITHOUT_PROJECT,
                    name=initiative.name,
                    ref_key=initiative.ref_key,
                )
            ]
        return []
    if normalize_jira_key(raw) is None:
        return [FieldProblem(CheckpointField.JIRA, Problem.NOT_A_CHECKPOINT_JIRA_KEY, raw=raw)]
    return []


def owner_problems(people: PeopleService, owner_id: str | None) -> list[FieldProblem]:
    if owner_id is None:
        return []
    try:
        people.require_person(owner_id)
    except UnknownUser as error:
        return [unusable_person(CheckpointField.OWNER, "Owner", error)]
    return []


def require_checkpoint_actor(*, located: Located, actor: Actor, people: PeopleService, action: str) -> None:
    """Done, reopen and mitigation are also for the checkpoint's owner."""
    if actor.user_id == located.checkpoint.owner_id:
        return
    managers = managers_of(located.initiative)
    if actor.user_id in managers or people.is_workspace_admin(actor.user_id):
        return
    owner = [located.checkpoint.owner_id] if located.checkpoint.owner_id else []
    raise NotAllowed(action, [*managers, *owner])


def validate_new(
    *,
    session: Session,
    actor: Actor,
    initiative: Initiative,
    draft: CheckpointDraft,
    people: PeopleService,
    today: date,
    jira_configured: bool,
) -> None:
    """Every problem with a new checkpoint at once, then permission; raises, writes nothing."""
    require_active(initiative, frozen="its checkpoints are frozen")
    problems = title_problems(" ".join(draft.title.split()))
    problems += due_problems(draft.due_date, today)
    problems += jira_problems(draft.jira, initiative, jira_configured)
    problems += owner_problems(people, draft.owner_id)
    if problems:
        raise InvalidInput(problems)
    require_manager(initiative=initiative, actor=actor, people=people, action="add checkpoints")
    if draft.jira and draft.jira.lower() != JIRA_NEW:
        _require_unlinked(session, actor.team_id, normalize_jira_key(draft.jira) or "")


def _require_unlinked(session: Session, team_id: str, jira_key: str, except_id: int | None = None) -> None:
    linked = queries.find_linked_checkpoint(session=session, team_id=team_id, jira_key=jira_key)
    if linked is not None and linked[0].id != except_id:
        checkpoint, initiative = linked
        raise InvalidInput.single(
            CheckpointField.JIRA,
            Problem.JIRA_ALREADY_LINKED,
            key=jira_key,
            reference=reference_of(initiative, checkpoint),
            title=checkpoint.title,
        )


# --- changes ---------------------------------------------------------------------------------------------


def add_checkpoint(
    *,
    session: Session,
    actor: Actor,
    initiative_id: int,
    draft: CheckpointDraft,
    issue: JiraIssue | None,
    now: datetime,
) -> Located:
    """Store a validated checkpoint with the next number of its initiative, linked to `issue` if given."""
    initiative = session.get(Initiative, initiative_id)
    if initiative is None:
        raise InvalidInput.single("initiative", Problem.INITIATIVE_DELETED)
    if issue is not None:
        _require_unlinked(session, actor.team_id, issue.key)
    checkpoint = Checkpoint(
        initiative_id=initiative_id,
        number=next_number(session=session, model=Checkpoint, initiative_id=initiative_id),
        title=" ".join(draft.title.split()),
        owner_id=draft.owner_id,
        due_date=draft.due_date,
        status=CheckpointStatus.OPEN.value,
        created_by=actor.user_id,
        created_at=now,
        updated_by=actor.user_id,
        updated_at=now,
    )
    if issue is not None:
        apply_issue_fields(checkpoint, issue)
        checkpoint.status = status_for_category(issue.status_category).value
        if checkpoint.status == CheckpointStatus.DONE.value:
            checkpoint.done_by, checkpoint.done_at = actor.user_id, now
    queries.add_checkpoint(session=session, checkpoint=checkpoint)
    return Located(initiative, checkpoint)


def apply_issue_fields(checkpoint: Checkpoint, issue: JiraIssue) -> None:
    """Copy what Handoff shows of a Jira issue onto its checkpoint."""
    checkpoint.jira_key = issue.key
    checkpoint.jira_summary = issue.summary[:512]
    checkpoint.jira_status = issue.status[:128]
    checkpoint.jira_status_category = issue.status_category[:16]
    checkpoint.jira_assignee = issue.assignee[:255] if issue.assignee else None
    checkpoint.jira_updated_at = issue.updated


def status_for_category(category: str) -> CheckpointStatus:
    """Jira's status categories onto ours: `done` is done, `indeterminate` in progress, `new` open."""
    if category == "done":
        return CheckpointStatus.DONE
    if category == "indeterminate":
        return CheckpointStatus.IN_PROGRESS
    return CheckpointStatus.OPEN


def prepare_completion(*, session: Session, actor: Actor, reference: str, people: PeopleService, done: bool) -> Located:
    """Check that the checkpoint can be marked done (or reopened) by this person; raises otherwise."""
    located = locate(session=session, team_id=actor.team_id, reference=reference)
    require_active(located.initiative, frozen="its checkpoints are frozen")
    is_done = located.checkpoint.status == CheckpointStatus.DONE.value
    if done and is_done:
        raise NothingToChange(Problem.ALREADY_DONE, reference=located.ref)
    if not done and not is_done:
        raise NothingToChange(Problem.NOT_DONE, reference=located.ref)
    require_checkpoint_actor(
        located=located,
        actor=actor,
        people=people,
        action="mark its checkpoints done" if done else "reopen checkpoints",
    )
    return located


def set_completion(
    *,
    session: Session,
    actor: Actor,
    checkpoint_id: int,
    done: bool,
    now: datetime,
    jira_status: tuple[str, str] | None = None,
) -> Located:
    """Mark done or reopen; `jira_status` is the (status, category) Jira moved to, when it was pushed."""
    checkpoint = session.get(Checkpoint, checkpoint_id)
    initiative = session.get(Initiative, checkpoint.initiative_id) if checkpoint else None
    if checkpoint is None or initiative is None or checkpoint.removed_at is not None:
        raise UnknownCheckpoint(str(checkpoint_id))
    if done:
        checkpoint.status = CheckpointStatus.DONE.value
        checkpoint.done_by, checkpoint.done_at = actor.user_id, now
    else:
        reopened = jira_status[1] if jira_status else "new"
        checkpoint.status = status_for_category(reopened).value
        checkpoint.done_by = checkpoint.done_at = None
    if jira_status is not None:
        checkpoint.jira_status, checkpoint.jira_status_category = jira_status
    _touch(checkpoint, actor, now)
    session.add(checkpoint)
    session.flush()
    return Located(initiative, checkpoint)


def prepare_edit(
    *,
    session: Session,
    actor: Actor,
    reference: str,
    values: dict[CheckpointField, object],
    people: PeopleService,
    today: date,
    jira_configured: bool,
    clear: object,
) -> EditPlan:
    """Validate every edit at once and check permission; `clear` is the parser's "remove this value" marker."""
    located = locate(session=session, team_id=actor.team_id, reference=reference)
    require_active(located.initiative, frozen="its checkpoints are frozen")
    if not values:
        raise InvalidInput.single("field", Problem.CHECKPOINT_EDIT_SAYS_NOTHING)
    problems: list[FieldProblem] = []
    jira_key: str | None = None
    for fld, value in values.items():
        if value is clear:
            if fld is CheckpointField.TITLE:
                problems.append(FieldProblem(fld, Problem.CANNOT_CLEAR, label="The title"))
        elif fld is CheckpointField.TITLE:
            problems += title_problems(" ".join(str(value).split()))
        elif fld is CheckpointField.DUE:
            assert isinstance(value, date)
            problems += due_problems(value, today)
        elif fld is CheckpointField.OWNER:
            problems += owner_problems(people, str(value))
        elif fld is CheckpointField.JIRA:
            if str(value).lower() == JIRA_NEW:
                problems.append(FieldProblem(fld, Problem.JIRA_NEW_ONLY_ON_ADD))
            else:
                problems += jira_problems(str(value), located.initiative, jira_configured)
                jira_key = normalize_jira_key(str(value))
    if problems:
        raise InvalidInput(problems)
    require_manager(initiative=located.initiative, actor=actor, people=people, action="edit checkpoints")
    if jira_key == located.checkpoint.jira_key:
        jira_key = None
    elif jira_key is not None:
        _require_unlinked(session, actor.team_id, jira_key, except_id=located.checkpoint.id)
    return EditPlan(located, values, jira_key)


def apply_edit(
    *, session: Session, actor: Actor, plan: EditPlan, issue: JiraIssue | None, now: datetime, clear: object
) -> EditResult:
    """Store a validated edit; `issue` is the verified Jira issue when the link changed to a new key."""
    checkpoint = session.get(Checkpoint, plan.located.checkpoint.id)
    initiative = session.get(Initiative, plan.located.initiative.id)
    if checkpoint is None or initiative is None or checkpoint.removed_at is not None:
        raise UnknownCheckpoint(plan.located.ref)
    changes: list[CheckpointChange] = []
    for fld, value in plan.values.items():
        if fld is CheckpointField.JIRA:
            old = checkpoint.jira_key
            if value is clear:
                for attr in ("jira_key", "jira_summary", "jira_status", "jira_status_category", "jira_assignee"):
                    setattr(checkpoint, attr, None)
                checkpoint.jira_updated_at = None
            elif issue is not None:
                _require_unlinked(session, actor.team_id, issue.key, except_id=checkpoint.id)
                apply_issue_fields(checkpoint, issue)
            if old != checkpoint.jira_key:
                changes.append(CheckpointChange(fld, old, checkpoint.jira_key))
            continue
        attribute = {"title": "title", "owner": "owner_id", "due": "due_date"}[fld.value]
        old_value = getattr(checkpoint, attribute)
        new_value = (
            None if value is clear else (" ".join(str(value).split()) if fld is CheckpointField.TITLE else value)
        )
        if old_value != new_value:
            setattr(checkpoint, attribute, new_value)
            changes.append(CheckpointChange(fld, old_value, new_value))
    if not changes:
        raise NothingToChange(Problem.ALREADY_SET)
    _touch(checkpoint, actor, now)
    session.add(checkpoint)
    session.flush()
    return EditResult(Located(initiative, checkpoint), changes)


def remove_checkpoint(
    *, session: Session, actor: Actor, reference: str, people: PeopleService, now: datetime
) -> Located:
    """Take a checkpoint off the list; its number is never given again, and its row stays for the record."""
    located = locate(session=session, team_id=actor.team_id, reference=reference)
    require_active(located.initiative, frozen="its checkpoints are frozen")
    require_manager(initiative=located.initiative, actor=actor, people=people, action="remove checkpoints")
    checkpoint = located.checkpoint
    checkpoint.removed_by, checkpoint.removed_at = actor.user_id, now
    _touch(checkpoint, actor, now)
    session.add(checkpoint)
    session.flush()
    return located


def restore_checkpoint(
    *, session: Session, actor: Actor, checkpoint_id: int, people: PeopleService, now: datetime
) -> Located:
    """Put a removed checkpoint back on the list with its number, for the people who may remove it."""
    checkpoint = queries.get_removed_checkpoint(session=session, checkpoint_id=checkpoint_id)
    initiative = (
        get_initiative(session=session, team_id=actor.team_id, initiative_id=checkpoint.initiative_id)
        if checkpoint is not None
        else None
    )
    if checkpoint is None or initiative is None:
        raise NothingToChange(Problem.CHECKPOINT_NOT_RESTORABLE)
    located = Located(initiative, checkpoint)
    require_active(initiative, frozen="its checkpoints are frozen")
    require_manager(initiative=initiative, actor=actor, people=people, action="restore checkpoints")
    if checkpoint.jira_key:
        _require_unlinked(session, actor.team_id, checkpoint.jira_key, except_id=checkpoint.id)
    checkpoint.removed_by, checkpoint.removed_at = None, None
    _touch(checkpoint, actor, now)
    session.add(checkpoint)
    session.flush()
    return located


def mitigate(
    *,
    session: Session,
    actor: Actor,
    reference: str,
    plan: str,
    people: PeopleService,
    now: datetime,
    today: date,
) -> Located:
    """Record how the team recovers from a missed checkpoint: who, when, what."""
    plan = plan.strip()
    if not plan:
        raise InvalidInput.single("plan", Problem.PLAN_MISSING)
    if len(plan) > MITIGATION_MAX:
        raise InvalidInput.single("plan", Problem.TOO_LONG, what="plan", length=len(plan), limit=MITIGATION_MAX)
    located = locate(session=session, team_id=actor.team_id, reference=reference)
    require_active(located.initiative, frozen="its checkpoints are frozen")
    checkpoint = located.checkpoint
    if effective_status(checkpoint, today) is not CheckpointStatus.MISSED:
        raise InvalidInput.single(
            "plan",
            Problem.NOT_MISSED,
            reference=located.ref,
            done=checkpoint.status == CheckpointStatus.DONE.value,
            due=checkpoint.due_date,
        )
    require_checkpoint_actor(located=located, actor=actor, people=people, action="record a mitigation plan")
    checkpoint.mitigation, checkpoint.mitigated_by, checkpoint.mitigated_at = plan, actor.user_id, now
    _touch(checkpoint, actor, now)
    session.add(checkpoint)
    session.flush()
    return located


def _touch(checkpoint: Checkpoint, actor: Actor, now: datetime) -> None:
    checkpoint.updated_by = actor.user_id
    checkpoint.updated_at = now
