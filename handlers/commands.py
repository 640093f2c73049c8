"""The `/handoff` slash command.

Read-only answers (help, status, list, and every usage error) go back in the ack itself: they need only the
database, which answers in milliseconds. Anything that writes or calls Slack acks first and reports through
`respond`, because Slack gives a command 3 seconds and a users.info or chat.postMessage can take longer.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot import ids
from bot.blocks.base import Message
from bot.blocks.help import render_error, render_help, render_problem
from bot.blocks.modals import render_new_initiative_modal
from bot.blocks.status import render_detail, render_status_page
from bot.checkpoints import CheckpointDraft
from bot.errors import HandoffError
from bot.initiatives import Actor, EditRequest, InitiativeDraft, resolve_initiative
from bot.runtime import Runtime
from bot.status import ScopeKind, StatusScope, initiative_detail, status_page
from handlers.checkpoint_flows import (
    add_and_announce,
    complete_and_announce,
    mitigate_and_announce,
    remove_and_announce,
    show_checkpoints,
)
from handlers.checkpoint_flows import edit_and_announce as edit_checkpoint_and_announce
from handlers.errors import after_ack
from handlers.flows import (
    archive_and_announce,
    change_phase_and_announce,
    create_and_announce,
    edit_and_announce,
)
from handlers.modal_openers import open_add_checkpoint_modal
from handlers.parsing import (
    ArchiveCommand,
    CheckpointAddCommand,
    CheckpointCompletionCommand,
    CheckpointEditCommand,
    CheckpointListCommand,
    CheckpointMitigateCommand,
    CheckpointRemoveCommand,
    Command,
    EditCommand,
    HelpCommand,
    NewCommand,
    PhaseCommand,
    StatusCommand,
    UsageError,
    parse_command,
)


def register(app: App, runtime: Runtime) -> None:
    def is_answered_in_the_ack(command: dict[str, Any]) -> bool:
        try:
            parsed = parse_command(command.get("text") or "")
            return isinstance(parsed, HelpCommand | StatusCommand | CheckpointListCommand)
        except UsageError:
            return True

    def answer(ack: Ack, command: dict[str, Any]) -> None:
        """Help, status and usage errors need only the database: the answer is the ack itself."""
        try:
            parsed = parse_command(command.get("text") or "")
        except UsageError as error:
            ack(**render_problem(error.message, usage_of=error.usage_of).as_kwargs())
            return
        actor = Actor(team_id=command["team_id"], user_id=command["user_id"])
        if isinstance(parsed, StatusCommand):
            ack(**_status(runtime, actor, command["channel_id"], parsed).as_kwargs())
        elif isinstance(parsed, CheckpointListCommand):
            try:
                ack(**show_checkpoints(runtime, actor, parsed.initiative_ref).as_kwargs())
            except HandoffError as error:
                ack(**render_error(error, usage_of="checkpoint list").as_kwargs())
        else:
            ack(**render_help().as_kwargs())

    def ack_now(ack: Ack) -> None:
        ack()

    @after_ack
    def carry_out(body: dict[str, Any], command: dict[str, Any], client: WebClient, respond: Respond) -> None:
        """After the ack: open the form, or make the change and answer privately."""
        parsed = parse_command(command.get("text") or "")
        channel_id = command["channel_id"]
        if isinstance(parsed, NewCommand) and parsed.open_modal:
            client.views_open(trigger_id=command["trigger_id"], view=render_new_initiative_modal(channel_id=channel_id))
            return
        if isinstance(parsed, CheckpointAddCommand) and parsed.open_modal:
            problem = open_add_checkpoint_modal(
                runtime,
                client,
                team_id=command["team_id"],
                trigger_id=command["trigger_id"],
                channel_id=channel_id,
                initiative_ref=parsed.initiative_ref,
            )
            if problem is not None:
                respond(response_type="ephemeral", **problem.as_kwargs())
            return
        actor = Actor(team_id=command["team_id"], user_id=command["user_id"])
        respond(response_type="ephemeral", **_change(runtime, client, actor, channel_id, parsed).as_kwargs())

    # Bolt tries listeners in order: read-only answers first, so they skip the lazy hand-off entirely.
    app.command(ids.COMMAND, matchers=[is_answered_in_the_ack])(answer)
    app.command(ids.COMMAND)(ack=ack_now, lazy=[carry_out])


def _status(runtime: Runtime, actor: Actor, channel_id: str, parsed: StatusCommand) -> Message:
    now = runtime.clock.now()
    try:
        with runtime.session() as session:
            if parsed.reference is not None:
                initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=parsed.reference)
                detail = initiative_detail(session=session, initiative=initiative, now=now, today=runtime.today())
                return render_detail(detail, jira_url=runtime.jira_url)
            scope = StatusScope(ScopeKind.ALL) if parsed.everything else StatusScope(ScopeKind.CHANNEL, channel_id)
            page = status_page(
                session=session, team_id=actor.team_id, scope=scope, page=1, now=now, today=runtime.today()
            )
            return render_status_page(page, jira_url=runtime.jira_url)
    except HandoffError as error:
        return render_error(error, usage_of="status")


def _change(runtime: Runtime, client: WebClient, actor: Actor, channel_id: str, parsed: Command) -> Message:
    """Run a change after the ack; domain errors become the private answer."""
    try:
        match parsed:
            case NewCommand():
                return create_and_announce(runtime, client, actor, _draft(parsed, channel_id))
            case PhaseCommand():
                return change_phase_and_announce(runtime, client, actor, parsed.reference, parsed.phase, parsed.note)
            case EditCommand():
                return edit_and_announce(runtime, client, actor, parsed.reference, EditRequest(parsed.values))
            case ArchiveCommand():
                return archive_and_announce(runtime, client, actor, parsed.reference)
            case CheckpointAddCommand():
                return add_and_announce(runtime, client, actor, parsed.initiative_ref or "", _checkpoint_draft(parsed))
            case CheckpointCompletionCommand():
                return complete_and_announce(runtime, client, actor, parsed.reference, done=parsed.done)
            case CheckpointEditCommand():
                return edit_checkpoint_and_announce(runtime, client, actor, parsed.reference, parsed.values)
            case CheckpointRemoveCommand():
                return remove_and_announce(runtime, client, actor, parsed.reference)
            case CheckpointMitigateCommand():
                return mitigate_and_announce(runtime, client, actor, parsed.reference, parsed.plan)
    except HandoffError as error:
        return render_error(error, usage_of=_usage_of(parsed))
    raise AssertionError(f"unhandled command {parsed!r}")


def _usage_of(parsed: Command) -> str:
    if isinstance(parsed, CheckpointCompletionCommand):
        return "checkpoint done" if parsed.done else "checkpoint reopen"
    return {
        NewCommand: "new",
        PhaseCommand: "phase",
        EditCommand: "edit",
        ArchiveCommand: "archive",
        CheckpointAddCommand: "checkpoint add",
        CheckpointEditCommand: "checkpoint edit",
        CheckpointRemoveCommand: "checkpoint remove",
        CheckpointMitigateCommand: "checkpoint mitigate",
    }[type(parsed)]


def _checkpoint_draft(parsed: CheckpointAddCommand) -> CheckpointDraft:
    return CheckpointDraft(title=parsed.title, owner_id=parsed.owner_id, due_date=parsed.due_date, jira=parsed.jira)


def _draft(parsed: NewCommand, channel_id: str) -> InitiativeDraft:
    return InitiativeDraft(
        name=parsed.name,
        home_channel_id=parsed.channel_id or channel_id,
        ds_lead_id=parsed.ds_lead_id,
        eng_lead_id=parsed.eng_lead_id,
        embedded_engineer_id=parsed.embedded_engineer_id,
        goal=parsed.goal,
        jira_epic_key=parsed.jira_epic_key,
        target_date=parsed.target_date,
    )
