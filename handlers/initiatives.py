"""The table entries of the initiatives' subcommands, and their Slack-facing steps: create one, see them, move
its phase, change, archive or unarchive it. Each change tells the initiative's thread."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import initiatives as service
from bot.blocks.base import Message
from bot.blocks.help import render_notice
from bot.blocks.modals import render_new_initiative_modal
from bot.blocks.status import render_detail, render_parts, render_status_page
from bot.blocks.undo import UndoKind, UndoRequest, undo_button
from bot.blocks.updates import (
    render_archive_update,
    render_edit_update,
    render_kickoff,
    render_phase_update,
    render_unarchive_update,
)
from bot.chart_series import burn_up
from bot.dates import describe_date
from bot.errors import SlackChannelUnavailable
from bot.initiatives import CLEAR, Actor, EditRequest, Field, InitiativeDraft, Phase, parts_of, resolve_initiative
from bot.readiness import move_phase
from bot.runtime import Runtime
from bot.standups import engineer_changed
from bot.status import ScopeKind, StatusPage, StatusScope, initiative_detail, status_page
from bot.text import echo, escape
from handlers.grammar import Token, UsageError, is_word, opt_str, option_value, split_options
from handlers.posting import announce, permalink, post_message
from handlers.slack_people import unit_of_work
from handlers.subcommand import Action, Answer, Request, Slot, Subcommand, undated
from handlers.uploads import chart_answer

PHASE_LIST = " → ".join(p.value for p in list(Phase)[:6]) + "; or paused, cancelled"


def create_and_announce(runtime: Runtime, client: WebClient, actor: Actor, draft: InitiativeDraft) -> Message:
    """Create the initiative, post its kickoff in the home channel and remember that thread.

    If the kickoff cannot be posted the initiative is removed again, so a failed `new` leaves nothing behind.
    """
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        initiative = service.create_initiative(
            session=session,
            actor=actor,
            draft=draft,
            people=people,
            now=runtime.clock.now(),
            today=runtime.today(),
            jira_configured=runtime.jira is not None,
        )
    try:
        posted = post_message(
            client,
            channel_id=initiative.home_channel_id,
            message=render_kickoff(initiative, jira_url=runtime.jira_url),
        )
    except (SlackChannelUnavailable, SlackApiError):
        with runtime.session() as session:
            service.discard_unannounced(session=session, initiative_id=initiative.id or 0)
        raise
    link = permalink(client, channel_id=posted.channel_id, ts=posted.ts)
    with runtime.session() as session:
        service.record_thread(
            session=session,
            initiative_id=initiative.id or 0,
            channel_id=posted.channel_id,
            ts=posted.ts,
            permalink=link,
        )
    where = f"<{link}|kickoff message>" if link else "kickoff message"
    target = f" Target date: {describe_date(initiative.target_date)}." if initiative.target_date else ""
    return render_notice(
        f":white_check_mark: Created *{escape(initiative.name)}* in <#{initiative.home_channel_id}>. "
        f"Its {where} is the thread for every update.{target}"
    )


def change_phase_and_announce(
    runtime: Runtime,
    client: WebClient,
    actor: Actor,
    reference: str,
    phase: Phase,
    note: str | None,
    force_reason: str | None = None,
) -> Message:
    """Move through the phase gates: refused with what is missing, unless a lead forces it with a reason."""
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=reference)
        gated = move_phase(
            session=session,
            actor=actor,
            initiative=initiative,
            phase=phase,
            note=note,
            force_reason=force_reason,
            checklist=runtime.settings.checklist.for_team(actor.team_id),
            people=people,
            now=runtime.clock.now(),
        )
    result = gated.result
    confirmation = f":white_check_mark: *{escape(result.initiative.name)}* is now in *{phase.value}*."
    if gated.forced_past:
        names = ", ".join(escape(s.item.label) for s in gated.forced_past)
        confirmation += f" Forced past: {names}; `status` shows them until they are done."
    return announce(client, result.initiative, render_phase_update(result.initiative, result.change), confirmation)


def edit_and_announce(
    runtime: Runtime, client: WebClient, actor: Actor, reference: str, request: EditRequest
) -> Message:
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        initiative = service.resolve_initiative(session=session, team_id=actor.team_id, reference=reference)
        result = service.edit_initiative(
            session=session,
            actor=actor,
            initiative=initiative,
            request=request,
            people=people,
            now=runtime.clock.now(),
            today=runtime.today(),
            jira_configured=runtime.jira is not None,
        )
        new_engineer = any(c.field is Field.EMBEDDED for c in result.changes)
        if new_engineer:
            engineer_changed(session=session, initiative_id=result.initiative.id or 0, now=runtime.clock.now())
    if new_engineer:
        runtime.schedule_changed()
    update = render_edit_update(result.initiative, result.changes, actor.user_id, jira_url=runtime.jira_url)
    labels = ", ".join(service.FIELD_LABELS[c.field].lower() for c in result.changes)
    confirmation = f":white_check_mark: Updated {labels} of *{escape(result.initiative.name)}*."
    target = result.initiative.target_date
    if target is not None and any(c.field is Field.DUE for c in result.changes):
        confirmation += f" Target date: {describe_date(target)}."
    return announce(client, result.initiative, update, confirmation)


def archive_and_announce(runtime: Runtime, client: WebClient, actor: Actor, reference: str) -> Message:
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        initiative = service.resolve_initiative(session=session, team_id=actor.team_id, reference=reference)
        archived = service.archive_initiative(
            session=session, actor=actor, initiative=initiative, people=people, now=runtime.clock.now()
        )
    confirmation = (
        f":white_check_mark: Archived *{escape(archived.name)}*. It is hidden from status and lists; its history is "
        f"kept. *Undo* or `/handoff unarchive {archived.ref_key}` brings it back."
    )
    undo = undo_button(UndoRequest(UndoKind.UNARCHIVE, archived.ref_key))
    return announce(client, archived, render_archive_update(archived, actor.user_id), confirmation, undo=undo)


def unarchive_and_announce(runtime: Runtime, client: WebClient, actor: Actor, reference: str) -> Message:
    """Bring an archived initiative back, found by key or name among the archived ones, and tell its thread."""
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        initiative = service.resolve_archived_initiative(session=session, team_id=actor.team_id, reference=reference)
        unarchived = service.unarchive_initiative(
            session=session, actor=actor, initiative=initiative, people=people, now=runtime.clock.now()
        )
    runtime.schedule_changed()  # its channel's digest, nudges and standups include it again
    confirmation = f":white_check_mark: Unarchived *{escape(unarchived.name)}*; it is back in status and lists."
    return announce(client, unarchived, render_unarchive_update(unarchived, actor.user_id), confirmation)


NEW_OPTIONS = frozenset({Field.CHANNEL, Field.DS, Field.ENG, Field.EMBEDDED, Field.GOAL, Field.JIRA, Field.DUE})


@dataclass(frozen=True)
class NewCommand:
    """`new` with arguments: the service's own draft (its home channel None for this one); `open_modal` when there
    were none."""

    open_modal: bool
    draft: InitiativeDraft | None = None


@dataclass(frozen=True)
class StatusCommand:
    """`status` (this channel), `status all` / `list` (workspace) or `status <name>` (one initiative)."""

    everything: bool = False
    reference: str | None = None
    chart: bool = False  # `status <name> chart`: the initiative's checkpoint burn-up as an image in this channel


@dataclass(frozen=True)
class PhaseCommand:
    """`phase <initiative> <phase> ["note"]`, or `--force "<reason>"` past an incomplete checklist."""

    reference: str | None  # None when the initiative was left out: `phase research`
    phase: Phase
    note: str | None
    force_reason: str | None = None


@dataclass(frozen=True)
class EditCommand:
    reference: str | None  # None when the options come first: `edit due:2027-03-01`
    values: dict[Field, object] = field(default_factory=dict)


@dataclass(frozen=True)
class ArchiveCommand:
    reference: str


@dataclass(frozen=True)
class UnarchiveCommand:
    """`unarchive <initiative>`: found by key or name among archived initiatives too."""

    reference: str


FORCE_FLAGS = frozenset({"--force", "—force", "–force", "-force"})  # macOS turns a typed -- into a dash


@dataclass(frozen=True)
class WhoamiCommand:
    """`whoami`: your part in the active initiatives."""


def parse_whoami(rest: list[Token]) -> WhoamiCommand:
    if rest:
        raise UsageError("`whoami` takes no arguments.", "whoami")
    return WhoamiCommand()


def parse_new(rest: list[Token], today: date) -> NewCommand:
    if not rest:
        return NewCommand(open_modal=True)
    words, options = split_options(rest, NEW_OPTIONS, "new")
    name = " ".join(words)
    if not name:
        raise UsageError('The initiative needs a name, e.g. `new "Churn model v2"`.', "new")
    values: dict[str, object] = {}
    for option, raw in options.items():
        value = option_value(option, raw, "new", today)
        if value is CLEAR:
            raise UsageError(f"`{option}:` needs a value when creating an initiative.", "new")
        values[option] = value
    draft = InitiativeDraft(
        name=name,
        home_channel_id=opt_str(values, Field.CHANNEL),
        ds_lead_id=opt_str(values, Field.DS),
        eng_lead_id=opt_str(values, Field.ENG),
        embedded_engineer_id=opt_str(values, Field.EMBEDDED),
        goal=opt_str(values, Field.GOAL),
        jira_epic_key=opt_str(values, Field.JIRA),
        target_date=values.get(Field.DUE),  # type: ignore[arg-type]
    )
    return NewCommand(open_modal=False, draft=draft)


def parse_status(rest: list[Token]) -> StatusCommand:
    if not rest:
        return StatusCommand()
    if len(rest) == 1 and not rest[0].quoted and rest[0].text.lower() == "all":
        return StatusCommand(everything=True)
    last = rest[-1]
    if len(rest) > 1 and not last.quoted and last.text.lower() == "chart":
        return StatusCommand(reference=" ".join(t.text for t in rest[:-1]), chart=True)
    return StatusCommand(reference=" ".join(t.text for t in rest))


def parse_list(rest: list[Token]) -> StatusCommand:
    if rest:
        raise UsageError("`list` takes no arguments; to see one initiative use `status &lt;name&gt;`.", "list")
    return StatusCommand(everything=True)


def parse_phase(rest: list[Token]) -> PhaseCommand:
    # A phase first leaves the initiative out (`phase research "note"`), unless a phase follows it too: then the
    # first is an initiative's name (`phase production development`).
    starts = 0 if rest and _is_phase(rest[0]) and not (len(rest) > 1 and _is_phase(rest[1])) else 1
    if len(rest) < 2 and starts:
        raise UsageError("`phase` needs an initiative and the phase to move it to.", "phase")
    # Unquoted names may have several words: the first word that names a phase ends the name.
    for index in range(starts, len(rest)):
        token = rest[index]
        if not token.quoted and token.text.lower() in Phase.__members__.values():
            reference = " ".join(t.text for t in rest[:index]) or None
            after = rest[index + 1 :]
            if after and not after[0].quoted and after[0].text.lower() in FORCE_FLAGS:
                reason = " ".join(t.text for t in after[1:]).strip()
                if not reason:
                    raise UsageError(
                        '`--force` needs the reason, in quotes: `--force "pilot for one customer"`.', "phase"
                    )
                return PhaseCommand(
                    reference=reference, phase=Phase(token.text.lower()), note=None, force_reason=reason
                )
            if any(not t.quoted and t.text.lower() in FORCE_FLAGS for t in after):
                raise UsageError("Put `--force` right after the phase, then the reason in quotes.", "phase")
            note = " ".join(t.text for t in after) or None
            return PhaseCommand(reference=reference, phase=Phase(token.text.lower()), note=note)
    phases = ", ".join(p.value for p in Phase)
    raise UsageError(f'"{echo(rest[1].text)}" is not a phase. Phases: {phases}.', "phase")


def parse_edit(rest: list[Token], today: date) -> EditCommand:
    words, options = split_options(rest, frozenset(Field), "edit")
    if not words and not options:
        raise UsageError("`edit` needs the initiative to change.", "edit")
    if not options:
        fields = " ".join(f"`{f.value}:`" for f in Field)
        raise UsageError(f"Say which fields to change: {fields}.", "edit")
    values = {Field(option): option_value(option, raw, "edit", today) for option, raw in options.items()}
    return EditCommand(reference=" ".join(words) or None, values=values)  # options first: this channel's


def parse_archive(rest: list[Token]) -> ArchiveCommand:
    if not rest:
        raise UsageError("`archive` needs the initiative to archive.", "archive")
    return ArchiveCommand(reference=" ".join(t.text for t in rest))


def parse_unarchive(rest: list[Token]) -> UnarchiveCommand:
    if not rest:
        raise UsageError("`unarchive` needs the archived initiative to bring back.", "unarchive")
    return UnarchiveCommand(reference=" ".join(t.text for t in rest))


def _is_phase(token: Token) -> bool:
    return is_word(token, tuple(p.value for p in Phase))


def _new(request: Request, command: NewCommand) -> Message | None:
    if command.open_modal:
        request.client.views_open(
            trigger_id=request.trigger_id, view=render_new_initiative_modal(channel_id=request.channel_id)
        )
        return None
    assert command.draft is not None  # the parser gives a draft whenever it does not open the form
    draft = command.draft
    if draft.home_channel_id is None:
        draft = replace(draft, home_channel_id=request.channel_id)
    return create_and_announce(request.runtime, request.client, request.actor, draft)


def _status(request: Request, command: StatusCommand) -> Message:
    runtime, actor = request.runtime, request.actor
    if command.chart and command.reference is not None:
        return chart_burn_up(runtime, request.client, actor, request.channel_id, command.reference)
    now = runtime.clock.now()
    checklist = runtime.settings.checklist.for_team(actor.team_id)
    if command.reference is not None:
        with runtime.session() as session:
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
    return render_status_page(first_status_page(runtime, actor.team_id, scope), jira_url=runtime.jira_url)


def chart_burn_up(runtime: Runtime, client: WebClient, actor: Actor, channel_id: str, reference: str) -> Message:
    """Share an initiative's checkpoints done over time against its target date where the command was typed."""
    from bot.charts import burnup_chart

    with runtime.session() as session:
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=reference)
        data = burn_up(session=session, initiative=initiative, today=runtime.today(), zone=runtime.settings.tz)
    posted = f":chart_with_upwards_trend: Shared the checkpoint burn-up of *{escape(initiative.name)}* here."
    return chart_answer(client, burnup_chart(data), channel_id=channel_id, posted=posted)


def first_status_page(runtime: Runtime, team_id: str, scope: StatusScope) -> StatusPage:
    """The first page of the initiatives in `scope`, as `status` and `/handoff` alone show it."""
    with runtime.engine.connect() as connection:  # a page reads one statement and needs no ORM session
        return status_page(
            db=connection,
            team_id=team_id,
            scope=scope,
            page=1,
            now=runtime.clock.now(),
            today=runtime.today(),
            checklist=runtime.settings.checklist.for_team(team_id),
            stale_days=runtime.settings.kpi_stale_days,
        )


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


def _whoami(request: Request, command: WhoamiCommand) -> Message:
    with request.runtime.session() as session:
        parts = parts_of(session=session, team_id=request.actor.team_id, user_id=request.actor.user_id)
    return render_parts(request.actor.user_id, parts)


def _unarchive(request: Request, command: UnarchiveCommand) -> Message:
    return unarchive_and_announce(request.runtime, request.client, request.actor, command.reference)


FAMILY = "initiatives"
# A chart is rendered and uploaded after the ack; the rest needs only the database.
STATUS = Action(StatusCommand, _status, "status", lambda c: Answer.AFTER_ACK if c.chart else Answer.IN_ACK)
SUBCOMMANDS = (
    Subcommand(
        "new",
        summary=(
            "Create an initiative. With no arguments, opens a form. Only the name is required; the home channel is the "
            "one you type in unless you give `channel:#x`. A kickoff message is posted there and becomes the "
            "initiative's thread."
        ),
        usage=(
            '/handoff new "Churn model v2" ds:@alice eng:@bob embedded:@carol jira:DS-12 due:2027-03-01 goal:"Cut '
            'churn by 5%" channel:#churn'
        ),
        parse=parse_new,
        actions=(Action(NewCommand, _new, "new", lambda c: Answer.FORM if c.open_modal else Answer.AFTER_ACK),),
        family=FAMILY,
    ),
    Subcommand(
        "status",
        summary=(
            "With no argument: the initiatives whose home is this channel. With a name: one initiative in detail. "
            "`all`: every active initiative. `<name> chart`: its checkpoints done over time against its target date, "
            "as an image in this channel."
        ),
        usage="/handoff status  ·  /handoff status churn  ·  /handoff status all  ·  /handoff status churn chart",
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
            '/handoff phase churn research "kickoff done, data access granted"  ·  /handoff phase churn development '
            '--force "pilot for one customer"'
        ),
        parse=undated(parse_phase),
        actions=(Action(PhaseCommand, _phase, "phase", slot=Slot.REFERENCE),),
        family=FAMILY,
    ),
    Subcommand(
        "edit",
        summary=(
            "Change fields: `name:` `channel:` `ds:` `eng:` `embedded:` `goal:` `jira:` `due:`. Use `field:none` to "
            "clear an optional one."
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
    Subcommand(
        "whoami",
        summary="The active initiatives you lead, are embedded in or created, and what you are to each.",
        usage="/handoff whoami",
        parse=undated(parse_whoami),
        actions=(Action(WhoamiCommand, _whoami, "whoami", Answer.IN_ACK),),
        family=FAMILY,
    ),
)
