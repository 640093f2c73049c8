"""The `/handoff` slash command.

Read-only answers (help, status, list, and every usage error) go back in the ack itself: they need only the
database, which answers in milliseconds. Anything that writes or calls Slack acks first and reports through
`respond`, because Slack gives a command 3 seconds and a users.info or chat.postMessage can take longer.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot import ids
from bot.blocks.base import Message
from bot.blocks.help import (
    render_channel_initiative_note,
    render_choose_initiative,
    render_error,
    render_help,
    render_problem,
)
from bot.blocks.modals import render_new_initiative_modal
from bot.blocks.status import render_detail, render_status_page
from bot.channel_initiative import (
    NoInitiativeInChannel,
    SeveralInitiativesInChannel,
    resolve_in_channel,
)
from bot.checkpoints import CheckpointDraft
from bot.errors import HandoffError
from bot.initiatives import Actor, EditRequest, InitiativeDraft, named_exactly, resolve_initiative
from bot.runtime import Runtime
from bot.status import ScopeKind, StatusScope, initiative_detail, status_page
from bot.text import escape
from handlers.blocker_flows import report_and_announce, resolve_and_announce, show_blockers
from handlers.checkpoint_flows import (
    add_and_announce,
    complete_and_announce,
    mitigate_and_announce,
    remove_and_announce,
    show_checkpoints,
)
from handlers.checkpoint_flows import edit_and_announce as edit_checkpoint_and_announce
from handlers.digest_flows import change_digest_settings, change_nudges, run_digest, show_digest_settings
from handlers.errors import after_ack
from handlers.flows import (
    archive_and_announce,
    change_phase_and_announce,
    create_and_announce,
    edit_and_announce,
    unarchive_and_announce,
)
from handlers.modal_openers import open_add_checkpoint_modal, open_add_doc_modal
from handlers.parsing import (
    ArchiveCommand,
    AwayCommand,
    BlockerReportCommand,
    BlockerResolveCommand,
    BlockersCommand,
    ChecklistChangeCommand,
    CheckpointAddCommand,
    CheckpointCompletionCommand,
    CheckpointEditCommand,
    CheckpointListCommand,
    CheckpointMitigateCommand,
    CheckpointRemoveCommand,
    Command,
    DigestRunCommand,
    DigestScheduleCommand,
    DigestShowCommand,
    DigestSwitchCommand,
    DocAddCommand,
    DocRemoveCommand,
    DocsCommand,
    EditCommand,
    HelpCommand,
    IdeaAddCommand,
    IdeaOutcomeCommand,
    IdeasCommand,
    IdeasSearchCommand,
    KpiAddCommand,
    KpiEditCommand,
    KpiListCommand,
    KpiReadingRemoveCommand,
    KpiRecordCommand,
    KpiRemoveCommand,
    NewCommand,
    NudgesCommand,
    PhaseCommand,
    StandupCommand,
    StatusCommand,
    UnarchiveCommand,
    UsageError,
    initiative_left_out,
    parse_command,
    typed_name,
    typed_with_initiative,
    with_initiative,
)
from handlers.readiness_flows import (
    add_doc_and_announce,
    add_kpi_and_announce,
    change_checklist_and_announce,
    edit_kpi_and_announce,
    log_idea_and_announce,
    record_kpi_and_announce,
    record_outcome_and_announce,
    remove_doc_and_announce,
    remove_kpi_and_announce,
    remove_reading_and_announce,
    search_ideas,
    show_checklist,
    show_ideas,
    show_kpis,
)
from handlers.standup_flows import change_away, change_standup, open_questions_modal, show_standup
from handlers.tenancy import actor_of, tenant_of


def register(app: App, runtime: Runtime) -> None:
    def is_answered_in_the_ack(command: dict[str, Any]) -> bool:
        try:
            parsed = parse_command(command.get("text") or "", today=runtime.today())
        except UsageError:
            return True
        if isinstance(parsed, StandupCommand):
            return parsed.action == "show"
        if isinstance(parsed, AwayCommand):
            return not parsed.words
        return isinstance(parsed, READ_ONLY)

    def answer(ack: Ack, command: dict[str, Any], context: BoltContext) -> None:
        """Help, status and usage errors need only the database: the answer is the ack itself."""
        try:
            parsed = parse_command(command.get("text") or "", today=runtime.today())
        except UsageError as error:
            ack(**render_problem(error.message, usage_of=error.usage_of).as_kwargs())
            return
        actor = actor_of(context, command["user_id"])
        if isinstance(parsed, StatusCommand):
            ack(**_status(runtime, actor, command["channel_id"], parsed).as_kwargs())
        elif isinstance(parsed, DigestShowCommand):
            ack(**show_digest_settings(runtime, actor, command["channel_id"]).as_kwargs())
        elif isinstance(parsed, HelpCommand):
            doc_kinds = runtime.settings.checklist.for_team(actor.team_id).doc_kinds
            ack(**render_help(doc_kinds, topic=parsed.topic).as_kwargs())
        else:
            resolved = _in_channel(runtime, actor, command["channel_id"], parsed, command.get("text") or "")
            if isinstance(resolved, Message):
                ack(**resolved.as_kwargs())
                return
            parsed, home = resolved
            ack(**_noted(_read_only(runtime, actor, parsed), home).as_kwargs())

    def ack_now(ack: Ack) -> None:
        ack()

    @after_ack
    def carry_out(
        body: dict[str, Any], command: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond
    ) -> None:
        """After the ack: open the form, or make the change and answer privately."""
        parsed = parse_command(command.get("text") or "", today=runtime.today())
        channel_id = command["channel_id"]
        actor = actor_of(context, command["user_id"])
        resolved = _in_channel(runtime, actor, channel_id, parsed, command.get("text") or "")
        if isinstance(resolved, Message):
            respond(response_type="ephemeral", **resolved.as_kwargs())
            return
        parsed, home = resolved
        if isinstance(parsed, NewCommand) and parsed.open_modal:
            client.views_open(trigger_id=command["trigger_id"], view=render_new_initiative_modal(channel_id=channel_id))
            return
        if isinstance(parsed, CheckpointAddCommand) and parsed.open_modal:
            problem = open_add_checkpoint_modal(
                runtime,
                client,
                team_id=tenant_of(context),
                trigger_id=command["trigger_id"],
                channel_id=channel_id,
                initiative_ref=parsed.initiative_ref,
            )
            if problem is not None:
                respond(response_type="ephemeral", **problem.as_kwargs())
            return
        if isinstance(parsed, StandupCommand) and parsed.action == "questions":
            try:
                open_questions_modal(
                    runtime,
                    client,
                    actor,
                    trigger_id=command["trigger_id"],
                    channel_id=channel_id,
                    initiative_ref=parsed.initiative_ref or "",
                )
            except HandoffError as error:
                respond(response_type="ephemeral", **render_error(error, usage_of="standup").as_kwargs())
            return
        if isinstance(parsed, DocAddCommand) and parsed.open_modal:
            problem = open_add_doc_modal(
                runtime,
                client,
                team_id=tenant_of(context),
                trigger_id=command["trigger_id"],
                channel_id=channel_id,
                initiative_ref=parsed.initiative_ref,
                kind=parsed.kind,
            )
            if problem is not None:
                respond(response_type="ephemeral", **problem.as_kwargs())
            return
        answer = _noted(_change(runtime, client, actor, channel_id, parsed), home)
        respond(response_type="ephemeral", **answer.as_kwargs())

    # Bolt tries listeners in order: read-only answers first, so they skip the lazy hand-off entirely.
    app.command(ids.COMMAND, matchers=[is_answered_in_the_ack])(answer)
    app.command(ids.COMMAND)(ack=ack_now, lazy=[carry_out])


READ_ONLY = (
    HelpCommand,
    StatusCommand,
    CheckpointListCommand,
    DocsCommand,
    KpiListCommand,
    IdeasCommand,
    IdeasSearchCommand,
    DigestShowCommand,
    BlockersCommand,
)


def _in_channel(
    runtime: Runtime, actor: Actor, channel_id: str, parsed: Command, text: str
) -> tuple[Command, tuple[str, str] | None] | Message:
    """The command with this channel's initiative filled in, and its (name, key); or the answer when it has not one."""
    with runtime.session() as session:
        if isinstance(parsed, CheckpointAddCommand) and parsed.lone_title:
            named = named_exactly(session=session, team_id=actor.team_id, text=parsed.title)
            if named is not None:  # `checkpoint add "Churn model v2"` opens that initiative's form
                return CheckpointAddCommand(open_modal=True, initiative_ref=named.ref_key), None
        if not initiative_left_out(parsed):
            return parsed, None
        try:
            home = resolve_in_channel(session=session, team_id=actor.team_id, channel_id=channel_id, reference=None)
        except SeveralInitiativesInChannel as several:
            choices = [(i.name, i.ref_key, typed_with_initiative(text, i.ref_key)) for i in several.initiatives]
            return render_choose_initiative(choices, more=several.more)
        except NoInitiativeInChannel:
            problem = f"`{escape(typed_name(text))}` needs the initiative: no initiative has this channel as its home."
            return render_problem(problem, usage_of=_usage_of(parsed))
        return with_initiative(parsed, home.ref_key), (home.name, home.ref_key)


def _noted(message: Message, home: tuple[str, str] | None) -> Message:
    """Open the answer with which initiative it took, when the text left it out."""
    return message if home is None else render_channel_initiative_note(message, *home)


def _read_only(runtime: Runtime, actor: Actor, parsed: Command) -> Message:
    """The views that only read the database, answered in the ack; domain errors become the answer."""
    try:
        match parsed:
            case CheckpointListCommand():
                return show_checkpoints(runtime, actor, parsed.initiative_ref or "")
            case DocsCommand():
                return show_checklist(runtime, actor, parsed.initiative_ref or "")
            case KpiListCommand():
                return show_kpis(runtime, actor, parsed.initiative_ref or "")
            case IdeasCommand():
                return show_ideas(runtime, actor, parsed.initiative_ref or "")
            case IdeasSearchCommand():
                return search_ideas(runtime, actor, parsed.text)
            case BlockersCommand():
                return show_blockers(runtime, actor, parsed.initiative_ref or "")
            case StandupCommand():
                return show_standup(runtime, actor, parsed.initiative_ref or "")
            case AwayCommand():
                return change_away(runtime, actor, parsed)
    except HandoffError as error:
        return render_error(error, usage_of=_usage_of(parsed))
    raise AssertionError(f"unhandled command {parsed!r}")


def _status(runtime: Runtime, actor: Actor, channel_id: str, parsed: StatusCommand) -> Message:
    now = runtime.clock.now()
    try:
        with runtime.session() as session:
            if parsed.reference is not None:
                initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=parsed.reference)
                detail = initiative_detail(
                    session=session,
                    initiative=initiative,
                    now=now,
                    today=runtime.today(),
                    checklist=runtime.settings.checklist.for_team(actor.team_id),
                    stale_days=runtime.settings.kpi_stale_days,
                )
                return render_detail(detail, jira_url=runtime.jira_url)
            scope = StatusScope(ScopeKind.ALL) if parsed.everything else StatusScope(ScopeKind.CHANNEL, channel_id)
            page = status_page(
                session=session,
                team_id=actor.team_id,
                scope=scope,
                page=1,
                now=now,
                today=runtime.today(),
                checklist=runtime.settings.checklist.for_team(actor.team_id),
                stale_days=runtime.settings.kpi_stale_days,
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
                return change_phase_and_announce(
                    runtime, client, actor, parsed.reference or "", parsed.phase, parsed.note, parsed.force_reason
                )
            case EditCommand():
                return edit_and_announce(runtime, client, actor, parsed.reference or "", EditRequest(parsed.values))
            case ArchiveCommand():
                return archive_and_announce(runtime, client, actor, parsed.reference)
            case UnarchiveCommand():
                return unarchive_and_announce(runtime, client, actor, parsed.reference)
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
            case DocAddCommand():
                return add_doc_and_announce(
                    runtime, client, actor, parsed.initiative_ref or "", parsed.kind or "", parsed.url, parsed.note
                )
            case DocRemoveCommand():
                return remove_doc_and_announce(
                    runtime, client, actor, parsed.initiative_ref or "", parsed.kind, parsed.url
                )
            case ChecklistChangeCommand():
                return change_checklist_and_announce(runtime, client, actor, parsed)
            case KpiAddCommand():
                return add_kpi_and_announce(runtime, client, actor, parsed)
            case KpiRecordCommand():
                return record_kpi_and_announce(
                    runtime, client, actor, parsed.initiative_ref or "", parsed.name, parsed.value, parsed.note
                )
            case KpiEditCommand():
                return edit_kpi_and_announce(runtime, client, actor, parsed)
            case KpiRemoveCommand():
                return remove_kpi_and_announce(runtime, client, actor, parsed.initiative_ref or "", parsed.name)
            case KpiReadingRemoveCommand():
                return remove_reading_and_announce(
                    runtime, client, actor, parsed.initiative_ref or "", parsed.name, parsed.position
                )
            case IdeaAddCommand():
                return log_idea_and_announce(runtime, client, actor, parsed.initiative_ref or "", parsed.text)
            case IdeaOutcomeCommand():
                return record_outcome_and_announce(
                    runtime, client, actor, parsed.reference, parsed.outcome, parsed.note
                )
            case DigestScheduleCommand() | DigestSwitchCommand():
                return change_digest_settings(runtime, actor, channel_id, parsed)
            case DigestRunCommand():
                return run_digest(runtime, client, actor, channel_id, parsed)
            case NudgesCommand():
                return change_nudges(runtime, client, actor, channel_id, parsed)
            case BlockerReportCommand():
                return report_and_announce(
                    runtime, client, actor, parsed.initiative_ref or "", parsed.text, parsed.direction
                )
            case BlockerResolveCommand():
                return resolve_and_announce(runtime, client, actor, parsed.reference)
            case StandupCommand():
                return change_standup(runtime, client, actor, channel_id, parsed)
            case AwayCommand():
                return change_away(runtime, actor, parsed)
    except HandoffError as error:
        return render_error(error, usage_of=_usage_of(parsed))
    raise AssertionError(f"unhandled command {parsed!r}")


def _usage_of(parsed: Command) -> str:
    if isinstance(parsed, CheckpointCompletionCommand):
        return "checkpoint done" if parsed.done else "checkpoint reopen"
    if isinstance(parsed, KpiAddCommand | KpiRecordCommand | KpiListCommand | KpiEditCommand | KpiRemoveCommand):
        return {
            KpiAddCommand: "kpi add",
            KpiRecordCommand: "kpi record",
            KpiListCommand: "kpi list",
            KpiEditCommand: "kpi edit",
            KpiRemoveCommand: "kpi remove",
        }[type(parsed)]
    if isinstance(parsed, KpiReadingRemoveCommand):
        return "kpi reading remove"
    return {
        CheckpointListCommand: "checkpoint list",
        DocAddCommand: "doc",
        DocRemoveCommand: "doc",
        DocsCommand: "docs",
        ChecklistChangeCommand: "checklist",
        IdeaAddCommand: "idea",
        IdeaOutcomeCommand: "idea",
        IdeasCommand: "ideas",
        IdeasSearchCommand: "ideas",
        DigestScheduleCommand: "digest",
        DigestSwitchCommand: "digest",
        DigestRunCommand: "digest",
        NudgesCommand: "nudges",
        BlockerReportCommand: "blocker",
        BlockerResolveCommand: "blocker",
        BlockersCommand: "blockers",
        StandupCommand: "standup",
        AwayCommand: "away",
        NewCommand: "new",
        PhaseCommand: "phase",
        EditCommand: "edit",
        ArchiveCommand: "archive",
        UnarchiveCommand: "unarchive",
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
