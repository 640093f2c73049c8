"""Initiatives: create one, see them, move its phase, change, archive or unarchive it."""

from __future__ import annotations

from bot.blocks.base import Message
from bot.blocks.modals import render_new_initiative_modal
from bot.blocks.status import render_detail, render_status_page
from bot.initiatives import EditRequest, InitiativeDraft, resolve_initiative
from bot.status import ScopeKind, StatusScope, initiative_detail, status_page
from handlers.flows import (
    archive_and_announce,
    change_phase_and_announce,
    create_and_announce,
    edit_and_announce,
    unarchive_and_announce,
)
from handlers.parsing import (
    ArchiveCommand,
    EditCommand,
    NewCommand,
    PhaseCommand,
    StatusCommand,
    UnarchiveCommand,
    parse_archive,
    parse_edit,
    parse_list,
    parse_new,
    parse_phase,
    parse_status,
    parse_unarchive,
)
from handlers.subcommand import Action, Answer, Request, Slot, Subcommand, undated
from storage.models import Phase

PHASE_LIST = " → ".join(p.value for p in list(Phase)[:6]) + "; or paused, cancelled"


def _new(request: Request, command: NewCommand) -> Message | None:
    if command.open_modal:
        request.client.views_open(
            trigger_id=request.trigger_id, view=render_new_initiative_modal(channel_id=request.channel_id)
        )
        return None
    draft = InitiativeDraft(
        name=command.name,
        home_channel_id=command.channel_id or request.channel_id,
        ds_lead_id=command.ds_lead_id,
        eng_lead_id=command.eng_lead_id,
        embedded_engineer_id=command.embedded_engineer_id,
        goal=command.goal,
        jira_epic_key=command.jira_epic_key,
        target_date=command.target_date,
    )
    return create_and_announce(request.runtime, request.client, request.actor, draft)


def _status(request: Request, command: StatusCommand) -> Message:
    runtime, actor = request.runtime, request.actor
    now = runtime.clock.now()
    checklist = runtime.settings.checklist.for_team(actor.team_id)
    with runtime.session() as session:
        if command.reference is not None:
            initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=command.reference)
            detail = initiative_detail(
                session=session,
                initiative=initiative,
                now=now,
                today=runtime.today(),
                checklist=checklist,
                stale_days=runtime.settings.kpi_stale_days,
            )
            return render_detail(detail, jira_url=runtime.jira_url)
        everything = StatusScope(ScopeKind.ALL)
        scope = everything if command.everything else StatusScope(ScopeKind.CHANNEL, request.channel_id)
        page = status_page(
            session=session,
            team_id=actor.team_id,
            scope=scope,
            page=1,
            now=now,
            today=runtime.today(),
            checklist=checklist,
            stale_days=runtime.settings.kpi_stale_days,
        )
        return render_status_page(page, jira_url=runtime.jira_url)


def _phase(request: Request, command: PhaseCommand) -> Message:
    return change_phase_and_announce(
        request.runtime,
        request.client,
        request.actor,
        command.reference or "",
        command.phase,
        command.note,
        command.force_reason,
    )


def _edit(request: Request, command: EditCommand) -> Message:
    return edit_and_announce(
        request.runtime, request.client, request.actor, command.reference or "", EditRequest(command.values)
    )


def _archive(request: Request, command: ArchiveCommand) -> Message:
    return archive_and_announce(request.runtime, request.client, request.actor, command.reference)


def _unarchive(request: Request, command: UnarchiveCommand) -> Message:
    return unarchive_and_announce(request.runtime, request.client, request.actor, command.reference)


FAMILY = "initiatives"
STATUS = Action(StatusCommand, _status, "status", Answer.IN_ACK)
SUBCOMMANDS = (
    Subcommand(
        "new",
        summary=(
            "Create an initiative. With no arguments, opens a form. Only the name is required; the home channel "
            "is the one you type in unless you give `channel:#x`. A kickoff message is posted there and becomes the "
            "initiative's thread."
        ),
        usage=(
            '/handoff new "Churn model v2" ds:@alice eng:@bob embedded:@carol jira:DS-12 due:2027-03-01 '
            'goal:"Cut churn by 5%" channel:#churn'
        ),
        parse=parse_new,
        actions=(Action(NewCommand, _new, "new", lambda c: Answer.FORM if c.open_modal else Answer.AFTER_ACK),),
        family=FAMILY,
    ),
    Subcommand(
        "status",
        summary=(
            "With no argument: the initiatives whose home is this channel. With a name: one initiative in "
            "detail. `all`: every active initiative."
        ),
        usage="/handoff status  ·  /handoff status churn  ·  /handoff status all",
        parse=undated(parse_status),
        actions=(STATUS,),
        family=FAMILY,
    ),
    Subcommand(
        "list",
        summary="Every active initiative in the workspace (same as `status all`).",
        usage="/handoff list",
        parse=undated(parse_list),
        actions=(STATUS,),
        family=FAMILY,
    ),
    Subcommand(
        "phase",
        summary=(
            f"Move an initiative to another phase, with an optional note. Phases: {PHASE_LIST}. Entering a phase "
            "needs its readiness checklist; the leads and workspace admins can `--force` past it with a reason."
        ),
        usage=(
            '/handoff phase churn research "kickoff done, data access granted"  ·  '
            '/handoff phase churn development --force "pilot for one customer"'
        ),
        parse=undated(parse_phase),
        actions=(Action(PhaseCommand, _phase, "phase", slot=Slot.REFERENCE),),
        family=FAMILY,
    ),
    Subcommand(
        "edit",
        summary=(
            "Change fields: `name:` `channel:` `ds:` `eng:` `embedded:` `goal:` `jira:` `due:`. "
            "Use `field:none` to clear an optional one."
        ),
        usage='/handoff edit churn due:2027-04-01 goal:"Cut churn by 6%" embedded:@dave',
        parse=parse_edit,
        actions=(Action(EditCommand, _edit, "edit", slot=Slot.REFERENCE),),
        family=FAMILY,
    ),
    Subcommand(
        "archive",
        summary="Hide an initiative from status and lists; its history is kept. The answer has an *Undo* button.",
        usage="/handoff archive churn",
        parse=undated(parse_archive),
        actions=(Action(ArchiveCommand, _archive, "archive"),),
        family=FAMILY,
    ),
    Subcommand(
        "unarchive",
        summary="Bring an archived initiative back into status and lists (for the same people who may archive it).",
        usage="/handoff unarchive churn",
        parse=undated(parse_unarchive),
        actions=(Action(UnarchiveCommand, _unarchive, "unarchive"),),
        family=FAMILY,
    ),
)
