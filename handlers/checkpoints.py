"""The Slack-facing steps of checkpoint changes: call the services (which talk to Jira), then tell the thread.

Each flow runs after the ack and returns the private confirmation to show; domain errors propagate for the
caller to render. Jira is asked with little patience here (a person is waiting): what it cannot take now goes
to the outbox and is retried by the sync job.

The family's entries in the table of subcommands (`handlers.command_table`) close the module.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import date

from slack_sdk import WebClient

from bot import checkpoints as service
from bot.blocks.base import Message
from bot.blocks.capture_forms import from_message
from bot.blocks.checkpoints import (
    render_checkpoint_added,
    render_checkpoint_completion,
    render_checkpoint_edit,
    render_checkpoint_list,
    render_checkpoint_removed,
    render_checkpoint_restored,
    render_mitigation,
)
from bot.blocks.problems import jira_comment_refused, jira_link_refused
from bot.blocks.share import SharedView, ShareRequest, shareable
from bot.blocks.undo import UndoKind, UndoRequest, undo_button
from bot.checkpoints import CheckpointDraft, CheckpointField, Located
from bot.dates import describe_date
from bot.errors import HandoffError, InvalidInput, Problem
from bot.initiatives import CLEAR, Actor, named_exactly, normalize_jira_key, resolve_initiative
from bot.jira_gateway import JiraError, JiraGateway, JiraIssue, JiraIssueNotFound
from bot.jira_push import (
    ACTION_DONE,
    ACTION_REMOTE_LINK,
    ACTION_REOPEN,
    PushRequest,
    attempt_push,
    enqueue,
    link_remote,
    pending_by_checkpoint,
)
from bot.people import PeopleService
from bot.runtime import Runtime
from bot.text import echo, escape
from handlers.grammar import (
    LOCAL_CHECKPOINT,
    Token,
    UsageError,
    local_reference,
    opt_str,
    option_value,
    split_options,
    unknown_action,
)
from handlers.modal_openers import open_add_checkpoint_modal
from handlers.posting import announce
from handlers.slack_people import unit_of_work
from handlers.subcommand import Action, Alias, Answer, Request, Slot, Subcommand

log = logging.getLogger(__name__)
INTERACTIVE_PATIENCE_SECONDS = 10.0
JIRA_NOT_CONFIGURED = "Jira is not configured for Handoff, so {key} was not changed in Jira."


def interactive_jira(runtime: Runtime) -> JiraGateway | None:
    return runtime.jira.with_patience(INTERACTIVE_PATIENCE_SECONDS) if runtime.jira else None


def show_checkpoints(runtime: Runtime, actor: Actor, initiative_ref: str, *, shared_by: str | None = None) -> Message:
    """`checkpoint list`: read-only, answered in the ack; `shared_by` renders the channel's copy."""
    with runtime.session() as session:
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        checkpoints = service.list_for(session=session, initiative=initiative)
        pending = pending_by_checkpoint(session=session, initiative_id=initiative.id or 0)
    listing = render_checkpoint_list(
        initiative, checkpoints, today=runtime.today(), jira_url=runtime.jira_url, pending=pending
    )
    return shareable(listing, ShareRequest(SharedView.CHECKPOINTS, initiative.ref_key), shared_by=shared_by)


def add_and_announce(
    runtime: Runtime,
    client: WebClient,
    actor: Actor,
    initiative_ref: str,
    draft: CheckpointDraft,
    *,
    source: str | None = None,
) -> Message:
    """Validate, find or create the Jira issue, store the checkpoint, link the issue back, tell the thread (linking
    `source`, the permalink of the message it was captured from)."""
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        service.validate_new(
            session=session,
            actor=actor,
            initiative=initiative,
            draft=draft,
            people=people,
            today=runtime.today(),
            jira_configured=runtime.jira is not None,
        )
        initiative_id = initiative.id or 0
        project, epic = initiative.jira_project_key, initiative.jira_epic_key
    issue: JiraIssue | None = None
    created = bool(draft.jira) and (draft.jira or "").lower() == service.JIRA_NEW
    gateway = interactive_jira(runtime)
    if draft.jira and gateway is not None:
        try:
            if created:
                issue = gateway.create_issue(
                    project=project or "",
                    summary=" ".join(draft.title.split()),
                    issue_type=runtime.settings.jira.issue_type if runtime.settings.jira else "Task",
                    epic_key=epic,
                )
            else:
                issue = gateway.issue(normalize_jira_key(draft.jira) or draft.jira)
        except JiraError as error:
            raise _lookup_failure(error, "Nothing was added") from error
    with runtime.session() as session:
        located = service.add_checkpoint(
            session=session, actor=actor, initiative_id=initiative_id, draft=draft, issue=issue, now=runtime.clock.now()
        )
    note = _link_back(runtime, located, actor) if issue is not None else ""
    update = render_checkpoint_added(located, actor.user_id, jira_url=runtime.jira_url, created_issue=created)
    update = from_message(update, source)
    confirmation = f":white_check_mark: Added `{located.ref}` *{escape(located.checkpoint.title)}*."
    if issue is not None:
        confirmation += f" {'Created' if created else 'Linked'} <{issue.url}|{issue.key}>."
    if located.checkpoint.due_date is not None:
        confirmation += f" Due {describe_date(located.checkpoint.due_date)}."
    return announce(client, located.initiative, update, confirmation + note)


def complete_and_announce(runtime: Runtime, client: WebClient, actor: Actor, reference: str, *, done: bool) -> Message:
    """Mark done or reopen; a linked issue moves in Jira first, and if Jira's workflow has no way there,
    nothing changes. When Jira is unreachable the change is kept and the push waits in the outbox."""
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        located = service.prepare_completion(
            session=session, actor=actor, reference=reference, people=people, done=done
        )
        request = _push_request(located, actor, people, ACTION_DONE if done else ACTION_REOPEN)
    jira_status: tuple[str, str] | None = None
    deferred: JiraError | None = None
    transitioned = False
    note = ""
    gateway = interactive_jira(runtime)
    key = located.checkpoint.jira_key
    if key and gateway is None:
        note = JIRA_NOT_CONFIGURED.format(key=key)
    elif key and gateway is not None:
        outcome = attempt_push(gateway, request)
        jira_status, transitioned, failure = outcome.position, outcome.transitioned, outcome.error
        if failure is not None and failure.transient:
            deferred = failure
            note = f":hourglass_flowing_sand: Jira didn't answer, so {key} will be updated when it does."
        elif failure is not None and not transitioned:
            raise HandoffError(Problem.JIRA_UPDATE_REFUSED, key=key, reason=failure.reason)
        elif failure is not None:
            note = jira_comment_refused(key, failure)
    with runtime.session() as session:
        located = service.set_completion(
            session=session,
            actor=actor,
            checkpoint_id=located.checkpoint.id or 0,
            done=done,
            now=runtime.clock.now(),
            jira_status=jira_status,
        )
        if deferred is not None:
            waiting = enqueue(
                session=session,
                team_id=actor.team_id,
                checkpoint_id=located.checkpoint.id or 0,
                request=request,
                error=deferred,
                now=runtime.clock.now(),
            )
            waiting.transitioned = transitioned
    update = render_checkpoint_completion(located, actor.user_id, done=done, jira_url=runtime.jira_url, note=note)
    verb = "done" if done else "reopened"
    confirmation = f":white_check_mark: `{located.ref}` *{escape(located.checkpoint.title)}* is {verb}."
    return announce(client, located.initiative, update, confirmation + (f"\n{note}" if note else ""))


def edit_and_announce(
    runtime: Runtime, client: WebClient, actor: Actor, reference: str, values: dict[CheckpointField, object]
) -> Message:
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        plan = service.prepare_edit(
            session=session,
            actor=actor,
            reference=reference,
            values=values,
            people=people,
            today=runtime.today(),
            jira_configured=runtime.jira is not None,
            clear=CLEAR,
        )
    issue: JiraIssue | None = None
    gateway = interactive_jira(runtime)
    if plan.jira_key and gateway is not None:
        try:
            issue = gateway.issue(plan.jira_key)
        except JiraError as error:
            raise _lookup_failure(error, "Nothing was changed") from error
    with runtime.session() as session:
        result = service.apply_edit(
            session=session, actor=actor, plan=plan, issue=issue, now=runtime.clock.now(), clear=CLEAR
        )
    note = _link_back(runtime, result.located, actor) if issue is not None else ""
    update = render_checkpoint_edit(result.located, result.changes, actor.user_id, jira_url=runtime.jira_url)
    confirmation = f":white_check_mark: Updated `{result.located.ref}`."
    due = result.located.checkpoint.due_date
    if due is not None and any(c.field is CheckpointField.DUE for c in result.changes):
        confirmation += f" Due {describe_date(due)}."
    confirmation += note
    return announce(client, result.located.initiative, update, confirmation)


def remove_and_announce(runtime: Runtime, client: WebClient, actor: Actor, reference: str) -> Message:
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        located = service.remove_checkpoint(
            session=session, actor=actor, reference=reference, people=people, now=runtime.clock.now()
        )
    confirmation = f":white_check_mark: Removed `{located.ref}`. Its number is not reused. *Undo* puts it back."
    undo = undo_button(UndoRequest(UndoKind.RESTORE_CHECKPOINT, str(located.checkpoint.id)))
    return announce(
        client, located.initiative, render_checkpoint_removed(located, actor.user_id), confirmation, undo=undo
    )


def restore_and_announce(runtime: Runtime, client: WebClient, actor: Actor, checkpoint_id: int) -> Message:
    """The Undo of `checkpoint remove`: the checkpoint is back with its number, and the thread is told."""
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        located = service.restore_checkpoint(
            session=session, actor=actor, checkpoint_id=checkpoint_id, people=people, now=runtime.clock.now()
        )
    confirmation = f":white_check_mark: `{located.ref}` *{escape(located.checkpoint.title)}* is back on the list."
    return announce(client, located.initiative, render_checkpoint_restored(located, actor.user_id), confirmation)


def mitigate_and_announce(runtime: Runtime, client: WebClient, actor: Actor, reference: str, plan: str) -> Message:
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        located = service.mitigate(
            session=session,
            actor=actor,
            reference=reference,
            plan=plan,
            people=people,
            now=runtime.clock.now(),
            today=runtime.today(),
        )
    confirmation = f":white_check_mark: Recorded the mitigation plan for `{located.ref}`."
    return announce(client, located.initiative, render_mitigation(located, actor.user_id), confirmation)


def _lookup_failure(error: JiraError, nothing_done: str) -> HandoffError:
    """A missing issue is the user's input to fix; any other Jira failure is worth trying again."""
    if isinstance(error, JiraIssueNotFound):
        return InvalidInput.single(
            CheckpointField.JIRA,
            Problem.JIRA_LOOKUP_FAILED,
            reason=error.reason,
            nothing_done=nothing_done,
            retry=False,
        )
    return HandoffError(Problem.JIRA_LOOKUP_FAILED, reason=error.reason, nothing_done=nothing_done, retry=True)


def _push_request(located: Located, actor: Actor, people: PeopleService, action: str) -> PushRequest:
    try:
        profile = people.profile(actor.user_id)
        name = profile.real_name or profile.name
    except HandoffError:
        name = actor.user_id
    return PushRequest(
        issue_key=located.checkpoint.jira_key or "",
        action=action,
        actor_id=actor.user_id,
        actor_name=name,
        thread_url=located.initiative.thread_permalink,
        initiative_name=located.initiative.name,
    )


def _link_back(runtime: Runtime, located: Located, actor: Actor) -> str:
    """Add the Jira issue's link to the thread; a transient failure is retried from the outbox."""
    gateway = interactive_jira(runtime)
    key = located.checkpoint.jira_key
    if gateway is None or not key or not located.initiative.thread_permalink:
        return ""
    request = PushRequest(
        issue_key=key,
        action=ACTION_REMOTE_LINK,
        actor_id=actor.user_id,
        actor_name=actor.user_id,
        thread_url=located.initiative.thread_permalink,
        initiative_name=located.initiative.name,
    )
    try:
        link_remote(gateway, request)
    except JiraError as error:
        if not error.transient:
            log.warning("remote link refused", extra={"issue": key, "error": error.reason})
            return jira_link_refused(error)
        with runtime.session() as session:
            enqueue(
                session=session,
                team_id=actor.team_id,
                checkpoint_id=located.checkpoint.id or 0,
                request=request,
                error=error,
                now=runtime.clock.now(),
            )
        return f"\n:hourglass_flowing_sand: Jira didn't answer; {key} will be linked to this thread when it does."
    return ""


@dataclass(frozen=True)
class CheckpointAddCommand:
    """`checkpoint add`: the service's own draft, or `open_modal` when the title is missing (the initiative, if
    given, is preselected)."""

    open_modal: bool
    initiative_ref: str | None = None
    draft: CheckpointDraft | None = None
    # A quoted text typed alone: an initiative's exact name opens its form, anything else is a title for this
    # channel's initiative.
    lone_title: bool = False


@dataclass(frozen=True)
class CheckpointCompletionCommand:
    reference: str  # `churn#3`; `#3` when the initiative was left out (ideas' and blockers' references alike)
    done: bool


@dataclass(frozen=True)
class CheckpointListCommand:
    initiative_ref: str | None


@dataclass(frozen=True)
class CheckpointEditCommand:
    reference: str
    values: dict[CheckpointField, object] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckpointRemoveCommand:
    reference: str


@dataclass(frozen=True)
class CheckpointMitigateCommand:
    reference: str
    plan: str


CHECKPOINT_ACTIONS = ("add", "done", "reopen", "list", "edit", "remove", "mitigate")
CHECKPOINT_OPTIONS = frozenset({CheckpointField.OWNER, CheckpointField.DUE, CheckpointField.JIRA})


def parse_checkpoint(
    rest: list[Token], today: date
) -> (
    CheckpointAddCommand
    | CheckpointCompletionCommand
    | CheckpointListCommand
    | CheckpointEditCommand
    | CheckpointRemoveCommand
    | CheckpointMitigateCommand
):
    if not rest:
        return CheckpointAddCommand(open_modal=True)
    action, args = rest[0].text.lower(), rest[1:]
    if rest[0].quoted or action not in CHECKPOINT_ACTIONS:
        raise unknown_action(rest[0], CHECKPOINT_ACTIONS, "checkpoint", "checkpoint")
    usage = f"checkpoint {action}"
    if action == "add":
        return _parse_checkpoint_add(args, today)
    if action == "list":
        return CheckpointListCommand(" ".join(t.text for t in args) or None)
    if not args:
        raise UsageError(f"`checkpoint {action}` needs the checkpoint reference (e.g. `churn#3`).", usage)
    reference = local_reference(args[0], LOCAL_CHECKPOINT)
    if action in ("done", "reopen", "remove"):
        if len(args) > 1:
            raise UsageError(f"`checkpoint {action}` takes one checkpoint reference, like `churn#3`.", usage)
        if action == "remove":
            return CheckpointRemoveCommand(reference)
        return CheckpointCompletionCommand(reference, done=action == "done")
    if action == "mitigate":
        plan = " ".join(t.text for t in args[1:]).strip()
        if not plan:
            raise UsageError("Say what the mitigation plan is, in quotes after the reference.", usage)
        return CheckpointMitigateCommand(reference, plan)
    words, options = split_options(args[1:], frozenset(CheckpointField), usage)
    if words:
        raise UsageError(f'"{echo(words[0])}" is not a `field:value` pair.', usage)
    if not options:
        fields = " ".join(f"`{f.value}:`" for f in CheckpointField)
        raise UsageError(f"Say which fields to change: {fields}.", usage)
    values = {CheckpointField(o): option_value(o, raw, usage, today) for o, raw in options.items()}
    return CheckpointEditCommand(reference, values)


def _parse_checkpoint_add(args: list[Token], today: date) -> CheckpointAddCommand:
    if not args:
        return CheckpointAddCommand(open_modal=True)
    initiative_ref: str | None = args[0].text
    words, options = split_options(args[1:], CHECKPOINT_OPTIONS, "checkpoint add")
    if args[0].quoted and not words:  # `checkpoint add "Model card" due:…`: a quoted title, then only options
        initiative_ref, words = None, [args[0].text]
    title = " ".join(words)
    if not title:
        if options:
            raise UsageError("The checkpoint needs a title, in quotes after the initiative.", "checkpoint add")
        return CheckpointAddCommand(open_modal=True, initiative_ref=initiative_ref)
    values = {o: option_value(o, raw, "checkpoint add", today) for o, raw in options.items()}
    for option, value in values.items():
        if value is CLEAR:
            raise UsageError(f"`{option}:` needs a value when adding a checkpoint.", "checkpoint add")
    draft = CheckpointDraft(
        title=title,
        owner_id=opt_str(values, CheckpointField.OWNER),
        due_date=values.get(CheckpointField.DUE),  # type: ignore[arg-type]
        jira=opt_str(values, CheckpointField.JIRA),
    )
    return CheckpointAddCommand(
        open_modal=False,
        initiative_ref=initiative_ref,
        draft=draft,
        lone_title=initiative_ref is None and len(args) == 1,
    )


def _add(request: Request, command: CheckpointAddCommand) -> Message | None:
    if command.open_modal:
        return open_add_checkpoint_modal(
            request.runtime,
            request.client,
            team_id=request.team_id,
            trigger_id=request.trigger_id,
            channel_id=request.channel_id,
            initiative_ref=command.initiative_ref,
        )
    assert command.draft is not None  # the parser gives a draft whenever it does not open the form
    return add_and_announce(request.runtime, request.client, request.actor, command.initiative_ref or "", command.draft)


def _named_initiative_opens_its_form(request: Request, command: CheckpointAddCommand) -> CheckpointAddCommand:
    """`checkpoint add "Churn model v2"` opens that initiative's form; any other lone title is a title."""
    if not command.lone_title or command.draft is None:
        return command
    with request.runtime.session() as session:
        named = named_exactly(session=session, team_id=request.actor.team_id, text=command.draft.title)
    return command if named is None else CheckpointAddCommand(open_modal=True, initiative_ref=named.ref_key)


def _complete(request: Request, command: CheckpointCompletionCommand) -> Message:
    return complete_and_announce(request.runtime, request.client, request.actor, command.reference, done=command.done)


def _list(request: Request, command: CheckpointListCommand) -> Message:
    return show_checkpoints(request.runtime, request.actor, command.initiative_ref or "")


def _edit(request: Request, command: CheckpointEditCommand) -> Message:
    return edit_and_announce(request.runtime, request.client, request.actor, command.reference, command.values)


def _remove(request: Request, command: CheckpointRemoveCommand) -> Message:
    return remove_and_announce(request.runtime, request.client, request.actor, command.reference)


def _mitigate(request: Request, command: CheckpointMitigateCommand) -> Message:
    return mitigate_and_announce(request.runtime, request.client, request.actor, command.reference, command.plan)


# Usage of each checkpoint action, shown with an error about it; help shows them all under `checkpoint`.
ACTION_USAGE = (
    (
        "checkpoint add",
        (
            '/handoff checkpoint add churn "Model card reviewed" owner:@carol due:2027-02-15 jira:DS-42'
            "  ·  jira:new creates the issue  ·  no arguments: a form"
        ),
    ),
    ("checkpoint done", "/handoff checkpoint done churn#3"),
    ("checkpoint reopen", "/handoff checkpoint reopen churn#3"),
    ("checkpoint list", "/handoff checkpoint list churn"),
    ("checkpoint edit", '/handoff checkpoint edit churn#3 due:2027-03-01 owner:@dave title:"Model card v2" jira:DS-43'),
    ("checkpoint remove", "/handoff checkpoint remove churn#3"),
    ("checkpoint mitigate", '/handoff checkpoint mitigate churn#3 "Ship with the v1 schema; v2 in March"'),
)
SUBCOMMANDS = (
    Subcommand(
        "checkpoint",
        summary=(
            "Milestones to production, referenced like `churn#3`: `add` (no arguments: a form; `jira:KEY` links an "
            "issue, `jira:new` creates one), `done`, `reopen`, `list`, `edit` (`title:` `owner:` `due:` `jira:`), "
            "`remove`, `mitigate` (a plan for a missed one). Linked Jira issues stay in sync both ways."
        ),
        usage='/handoff checkpoint add churn "Model card reviewed" owner:@carol due:2027-02-15 jira:DS-42',
        parse=parse_checkpoint,
        actions=(
            Action(
                CheckpointAddCommand,
                _add,
                "checkpoint add",
                lambda c: Answer.FORM if c.open_modal else Answer.AFTER_ACK,
                slot=lambda c: Slot.NONE if c.open_modal else Slot.INITIATIVE_REF,
                prepare=_named_initiative_opens_its_form,
                fill=lambda c, ref_key: replace(c, initiative_ref=ref_key, lone_title=False),
            ),
            Action(
                CheckpointCompletionCommand,
                _complete,
                lambda c: "checkpoint done" if c.done else "checkpoint reopen",
                slot=Slot.ITEM,
            ),
            Action(CheckpointListCommand, _list, "checkpoint list", Answer.IN_ACK, Slot.INITIATIVE_REF),
            Action(CheckpointEditCommand, _edit, "checkpoint edit", slot=Slot.ITEM),
            Action(CheckpointRemoveCommand, _remove, "checkpoint remove", slot=Slot.ITEM),
            Action(CheckpointMitigateCommand, _mitigate, "checkpoint mitigate", slot=Slot.ITEM),
        ),
        family="checkpoints",
        aliases=(Alias("checkpoints", "list"),),
        action_usage=ACTION_USAGE,
        error_usage="  ·  ".join(usage.split("  ·  ")[0] for _, usage in ACTION_USAGE),
        takes_action=True,
        local_reference_actions=("done", "reopen", "edit", "remove", "mitigate"),
    ),
)
