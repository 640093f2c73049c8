"""The Slack-facing steps of readiness: docs, checklist changes, KPIs and ideas.

Changes run after the ack and tell the initiative's thread; the read-only views (checklist, KPIs, ideas, search)
need only the database and are answered in the ack itself. Domain errors propagate for the caller to render.

The family's entries in the table of subcommands (`handlers.command_table`) close the module.
"""

from __future__ import annotations

from slack_sdk import WebClient

from bot import ideas as idea_service
from bot import kpis as kpi_service
from bot import readiness as service
from bot.blocks.base import Message
from bot.blocks.help import render_notice
from bot.blocks.readiness import (
    render_checklist,
    render_checklist_change,
    render_checklist_entry_removed,
    render_doc_added,
    render_doc_removed,
    render_doc_restored,
    render_idea_logged,
    render_idea_outcome,
    render_idea_search,
    render_ideas,
    render_kpi_added,
    render_kpi_alert,
    render_kpi_edited,
    render_kpi_list,
    render_kpi_recovered,
    render_kpi_removed,
    render_reading_removed,
    standing_mark,
)
from bot.blocks.share import SharedView, ShareRequest, shareable
from bot.blocks.undo import UndoKind, UndoRequest, undo_button
from bot.initiatives import Actor, resolve_initiative
from bot.kpis import KpiEdit, format_value, parse_direction, parse_number, target_text
from bot.runtime import Runtime
from bot.text import escape
from handlers.flows import announce, unit_of_work
from handlers.modal_openers import open_add_doc_modal
from handlers.parsing import (
    ChecklistChangeCommand,
    DocAddCommand,
    DocRemoveCommand,
    DocsCommand,
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
    parse_checklist,
    parse_doc,
    parse_docs,
    parse_idea,
    parse_ideas,
    parse_kpi,
)
from handlers.subcommand import Action, Alias, Answer, Request, Slot, Subcommand, undated


def show_checklist(runtime: Runtime, actor: Actor, initiative_ref: str, *, shared_by: str | None = None) -> Message:
    with runtime.session() as session:
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        readiness = service.readiness_of(
            session=session, checklist=runtime.settings.checklist.for_team(actor.team_id), initiative=initiative
        )
    listing = render_checklist(initiative, readiness)
    return shareable(listing, ShareRequest(SharedView.CHECKLIST, initiative.ref_key), shared_by=shared_by)


def add_doc_and_announce(
    runtime: Runtime, client: WebClient, actor: Actor, initiative_ref: str, kind: str, url: str, note: str | None
) -> Message:
    checklist = runtime.settings.checklist.for_team(actor.team_id)
    with runtime.session() as session:
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        doc = service.add_doc(
            session=session,
            actor=actor,
            initiative=initiative,
            kind=kind,
            url=url,
            note=note,
            checklist=checklist,
            now=runtime.clock.now(),
        )
        readiness = service.readiness_of(session=session, checklist=checklist, initiative=initiative)
    label = _label(readiness, doc.kind)
    confirmation = f":white_check_mark: Added the {escape(label)} of *{escape(initiative.name)}*."
    upcoming = readiness.next_gate()
    if upcoming is not None:
        confirmation += f" Ready {upcoming.satisfied}/{upcoming.required} for {upcoming.gate.value}."
    return announce(client, initiative, render_doc_added(initiative, doc, label), confirmation)


def remove_doc_and_announce(
    runtime: Runtime, client: WebClient, actor: Actor, initiative_ref: str, kind: str, url: str | None
) -> Message:
    checklist = runtime.settings.checklist.for_team(actor.team_id)
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        doc = service.remove_doc(
            session=session,
            actor=actor,
            initiative=initiative,
            kind=kind,
            url=url,
            people=people,
            now=runtime.clock.now(),
        )
        readiness = service.readiness_of(session=session, checklist=checklist, initiative=initiative)
    label = _label(readiness, doc.kind)
    confirmation = f":white_check_mark: Removed the {escape(label)} doc of *{escape(initiative.name)}*."
    undo = undo_button(UndoRequest(UndoKind.RESTORE_DOC, str(doc.id)))
    update = render_doc_removed(initiative, doc, label, actor.user_id)
    return announce(client, initiative, update, confirmation, undo=undo)


def restore_doc_and_announce(runtime: Runtime, client: WebClient, actor: Actor, doc_id: int) -> Message:
    """The Undo of `doc remove`: the doc satisfies its item again, and the thread is told."""
    checklist = runtime.settings.checklist.for_team(actor.team_id)
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        initiative, doc = service.restore_doc(session=session, actor=actor, doc_id=doc_id, people=people)
        readiness = service.readiness_of(session=session, checklist=checklist, initiative=initiative)
    label = _label(readiness, doc.kind)
    confirmation = f":white_check_mark: The {escape(label)} doc of *{escape(initiative.name)}* is back."
    return announce(client, initiative, render_doc_restored(initiative, doc, label, actor.user_id), confirmation)


def change_checklist_and_announce(
    runtime: Runtime, client: WebClient, actor: Actor, command: ChecklistChangeCommand
) -> Message:
    checklist = runtime.settings.checklist.for_team(actor.team_id)
    now = runtime.clock.now()
    if command.action == "remove":
        with unit_of_work(runtime, client, actor.team_id) as (session, people):
            initiative = resolve_initiative(
                session=session, team_id=actor.team_id, reference=command.initiative_ref or ""
            )
            status = service.remove_entry(
                session=session,
                actor=actor,
                initiative=initiative,
                key=command.item,
                checklist=checklist,
                people=people,
            )
        # Told only once committed, like every other change: the thread never hears of an undo that rolled back,
        # and no database transaction stays open while Slack answers.
        update = render_checklist_entry_removed(initiative, status, actor.user_id)
        confirmation = f":white_check_mark: Undid this initiative's change to *{escape(status.item.label)}*."
        return announce(client, initiative, update, confirmation)
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=command.initiative_ref or "")
        if command.action == "waive":
            result = service.waive_item(
                session=session,
                actor=actor,
                initiative=initiative,
                key=command.item,
                reason=command.reason,
                checklist=checklist,
                people=people,
                now=now,
            )
            confirmation = f":white_check_mark: Waived *{escape(result.item.label)}* for *{escape(initiative.name)}*."
        else:
            result = service.add_item(
                session=session,
                actor=actor,
                initiative=initiative,
                key=command.item,
                reason=command.reason,
                gate=command.gate,
                checklist=checklist,
                people=people,
                now=now,
            )
            confirmation = (
                f":white_check_mark: Added *{escape(result.item.label)}* (`{result.item.key}`) to the checklist of "
                f"*{escape(initiative.name)}*. A doc satisfies it: "
                f"`/handoff doc add {initiative.ref_key} {result.item.key} &lt;url&gt;`."
            )
    return announce(client, initiative, render_checklist_change(initiative, result), confirmation)


def add_kpi_and_announce(runtime: Runtime, client: WebClient, actor: Actor, command: KpiAddCommand) -> Message:
    direction = parse_direction(command.direction)
    target = parse_number(command.target, "target")
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=command.initiative_ref or "")
        kpi = kpi_service.add_kpi(
            session=session,
            actor=actor,
            initiative=initiative,
            name=command.name,
            direction=direction,
            target=target,
            unit=command.unit,
            owner_id=command.owner_id,
            people=people,
            now=runtime.clock.now(),
        )
    confirmation = (
        f":white_check_mark: Agreed *{escape(kpi.name)}* {escape(target_text(kpi))} for *{escape(initiative.name)}*"
        f"{read_as(command.target, target)}. "
        f'Record readings with `/handoff kpi record {initiative.ref_key} "{escape(kpi.name)}" &lt;value&gt;`.'
    )
    return announce(client, initiative, render_kpi_added(initiative, kpi), confirmation)


def record_kpi_and_announce(
    runtime: Runtime, client: WebClient, actor: Actor, initiative_ref: str, name: str, raw_value: str, note: str | None
) -> Message:
    """Record a reading; the thread hears only of a breach (once) and of a recovery, not of every reading."""
    value = parse_number(raw_value, "value")
    with runtime.session() as session:
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        result = kpi_service.record_reading(
            session=session,
            actor=actor,
            initiative=initiative,
            name=name,
            value=value,
            note=note,
            now=runtime.clock.now(),
        )
    kpi, where = result.kpi, result.standing
    shown = escape(format_value(result.reading.value, kpi.unit))
    confirmation = (
        f"{standing_mark(where)} Recorded {shown}{read_as(raw_value, value)} for *{escape(kpi.name)}*; "
        f"it {escape(where.phrase)}."
    )
    if result.alert:
        return announce(client, initiative, render_kpi_alert(initiative, result), confirmation)
    if result.recovered:
        return announce(client, initiative, render_kpi_recovered(initiative, result), confirmation)
    return render_notice(confirmation)


def edit_kpi_and_announce(runtime: Runtime, client: WebClient, actor: Actor, command: KpiEditCommand) -> Message:
    """Change a KPI's terms; the thread hears old → new and where the latest reading now stands."""
    values = command.values
    raw_target = values.get("target")
    target = parse_number(str(raw_target), "target") if raw_target is not None else None
    raw_direction = values.get("direction")
    direction = parse_direction(str(raw_direction), named=True) if raw_direction is not None else None
    name = values.get("name")
    edit = KpiEdit(
        name=str(name) if name is not None else None,
        target=target,
        unit=values.get("unit"),
        direction=direction,
        owner_id=values.get("owner"),
    )
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=command.initiative_ref or "")
        edited = kpi_service.edit_kpi(
            session=session, actor=actor, initiative=initiative, name=command.name, edit=edit, people=people
        )
    kpi = edited.kpi
    confirmation = (
        f":white_check_mark: Changed *{escape(kpi.name)}* of *{escape(initiative.name)}*: "
        f"{escape(target_text(kpi))}{read_as(str(raw_target or ''), target)}."
    )
    return announce(client, initiative, render_kpi_edited(initiative, edited, actor.user_id), confirmation)


def remove_kpi_and_announce(
    runtime: Runtime, client: WebClient, actor: Actor, initiative_ref: str, name: str
) -> Message:
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        removed = kpi_service.remove_kpi(session=session, actor=actor, initiative=initiative, name=name, people=people)
    confirmation = f":white_check_mark: Removed *{escape(removed.kpi.name)}* from *{escape(initiative.name)}*."
    if removed.remaining == 0:
        confirmation += (
            " It has no KPI now, so the checklist's KPI item is missing until one is agreed with "
            f'`/handoff kpi add {initiative.ref_key} "&lt;name&gt;" &gt;= &lt;target&gt;`.'
        )
    return announce(client, initiative, render_kpi_removed(initiative, removed, actor.user_id), confirmation)


def remove_reading_and_announce(
    runtime: Runtime, client: WebClient, actor: Actor, initiative_ref: str, name: str, position: int
) -> Message:
    """Remove a wrong reading; the KPI's breach state follows the reading that is now the latest."""
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        removed = kpi_service.remove_reading(
            session=session, actor=actor, initiative=initiative, name=name, position=position, people=people
        )
    kpi = removed.kpi
    confirmation = (
        f":white_check_mark: Removed the reading {escape(format_value(removed.reading.value, kpi.unit))} of "
        f"*{escape(kpi.name)}*."
    )
    return announce(client, initiative, render_reading_removed(initiative, removed, actor.user_id), confirmation)


def read_as(raw: str, value: float | None) -> str:
    """Say how a number typed with a comma was read, so `0,85` is seen to be 0.85 and not 85."""
    if value is None or "," not in raw:
        return ""
    return f" (`{escape(raw.strip())}` read as {escape(format_value(value))})"


def show_kpis(runtime: Runtime, actor: Actor, initiative_ref: str, *, shared_by: str | None = None) -> Message:
    stale_days = runtime.settings.kpi_stale_days
    with runtime.session() as session:
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        views = kpi_service.kpi_views(
            session=session, initiative=initiative, now=runtime.clock.now(), stale_days=stale_days
        )
    listing = render_kpi_list(initiative, views, stale_days=stale_days)
    return shareable(listing, ShareRequest(SharedView.KPIS, initiative.ref_key), shared_by=shared_by)


def log_idea_and_announce(runtime: Runtime, client: WebClient, actor: Actor, initiative_ref: str, text: str) -> Message:
    with runtime.session() as session:
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        located = idea_service.log_idea(
            session=session, actor=actor, initiative=initiative, text=text, now=runtime.clock.now()
        )
    confirmation = (
        f":white_check_mark: Logged `{located.ref}`. When you know how it went: "
        f'`/handoff idea outcome {located.ref} worked|failed|dropped "note"`.'
    )
    return announce(client, located.initiative, render_idea_logged(located), confirmation)


def record_outcome_and_announce(
    runtime: Runtime, client: WebClient, actor: Actor, reference: str, raw_outcome: str, note: str | None
) -> Message:
    outcome = idea_service.parse_outcome(raw_outcome)
    with runtime.session() as session:
        located = idea_service.record_outcome(
            session=session, actor=actor, reference=reference, outcome=outcome, note=note, now=runtime.clock.now()
        )
    confirmation = f":white_check_mark: `{located.ref}` {outcome.value}."
    return announce(client, located.initiative, render_idea_outcome(located), confirmation)


def show_ideas(runtime: Runtime, actor: Actor, initiative_ref: str, *, shared_by: str | None = None) -> Message:
    with runtime.session() as session:
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        ideas = idea_service.list_ideas(session=session, initiative=initiative)
    return shareable(render_ideas(ideas), ShareRequest(SharedView.IDEAS, initiative.ref_key), shared_by=shared_by)


def search_ideas(runtime: Runtime, actor: Actor, text: str, *, shared_by: str | None = None) -> Message:
    with runtime.session() as session:
        result = idea_service.search_ideas(session=session, team_id=actor.team_id, text=text)
    return shareable(render_idea_search(result), ShareRequest(SharedView.IDEA_SEARCH, text), shared_by=shared_by)


def _label(readiness: service.Readiness, key: str) -> str:
    found = service.find_item(readiness, key)
    return found.item.label if found is not None else key


def _add_doc(request: Request, command: DocAddCommand) -> Message | None:
    runtime, client = request.runtime, request.client
    if command.open_modal:
        return open_add_doc_modal(
            runtime,
            client,
            team_id=request.team_id,
            trigger_id=request.trigger_id,
            channel_id=request.channel_id,
            initiative_ref=command.initiative_ref,
            kind=command.kind,
        )
    return add_doc_and_announce(
        runtime, client, request.actor, command.initiative_ref or "", command.kind or "", command.url, command.note
    )


def _remove_doc(request: Request, command: DocRemoveCommand) -> Message:
    return remove_doc_and_announce(
        request.runtime, request.client, request.actor, command.initiative_ref or "", command.kind, command.url
    )


def _docs(request: Request, command: DocsCommand) -> Message:
    return show_checklist(request.runtime, request.actor, command.initiative_ref or "")


def _change_checklist(request: Request, command: ChecklistChangeCommand) -> Message:
    return change_checklist_and_announce(request.runtime, request.client, request.actor, command)


def _add_kpi(request: Request, command: KpiAddCommand) -> Message:
    return add_kpi_and_announce(request.runtime, request.client, request.actor, command)


def _record_kpi(request: Request, command: KpiRecordCommand) -> Message:
    return record_kpi_and_announce(
        request.runtime,
        request.client,
        request.actor,
        command.initiative_ref or "",
        command.name,
        command.value,
        command.note,
    )


def _list_kpis(request: Request, command: KpiListCommand) -> Message:
    return show_kpis(request.runtime, request.actor, command.initiative_ref or "")


def _edit_kpi(request: Request, command: KpiEditCommand) -> Message:
    return edit_kpi_and_announce(request.runtime, request.client, request.actor, command)


def _remove_kpi(request: Request, command: KpiRemoveCommand) -> Message:
    return remove_kpi_and_announce(
        request.runtime, request.client, request.actor, command.initiative_ref or "", command.name
    )


def _remove_reading(request: Request, command: KpiReadingRemoveCommand) -> Message:
    return remove_reading_and_announce(
        request.runtime, request.client, request.actor, command.initiative_ref or "", command.name, command.position
    )


def _log_idea(request: Request, command: IdeaAddCommand) -> Message:
    return log_idea_and_announce(
        request.runtime, request.client, request.actor, command.initiative_ref or "", command.text
    )


def _record_outcome(request: Request, command: IdeaOutcomeCommand) -> Message:
    return record_outcome_and_announce(
        request.runtime, request.client, request.actor, command.reference, command.outcome, command.note
    )


def _ideas(request: Request, command: IdeasCommand) -> Message:
    return show_ideas(request.runtime, request.actor, command.initiative_ref or "")


def _search_ideas(request: Request, command: IdeasSearchCommand) -> Message:
    return search_ideas(request.runtime, request.actor, command.text)


DOCS = Action(DocsCommand, _docs, "docs", Answer.IN_ACK, Slot.INITIATIVE_REF)
# Usage of each KPI action, shown with an error about it; help shows them all under `kpi`.
KPI_USAGE = (
    (
        "kpi add",
        '/handoff kpi add churn "AUC on holdout" >= 0.82 unit:% owner:@bob  (>= higher is better, <= lower is)',
    ),
    ("kpi record", '/handoff kpi record churn "AUC on holdout" 0.84 "after retrain"'),
    ("kpi list", "/handoff kpi list churn"),
    (
        "kpi edit",
        (
            '/handoff kpi edit churn "AUC on holdout" name:"AUC on holdout v2" target:0.85 unit:% '
            "direction:>= owner:@bob  (direction also higher or lower; unit:none, owner:none clear)"
        ),
    ),
    ("kpi remove", '/handoff kpi remove churn "AUC on holdout"  (with its readings)'),
    (
        "kpi reading remove",
        ('/handoff kpi reading remove churn "AUC on holdout" 2  (1, the latest, by default; `kpi list` numbers them)'),
    ),
)
SUBCOMMANDS = (
    Subcommand(
        "doc",
        summary=(
            "Attach a handoff doc (an http/https link) that satisfies a checklist item, attested by you; with "
            "missing arguments, a form. Kinds: {kinds}."
        ),
        usage=(
            '/handoff doc add churn model-card https://wiki.example.com/churn/card "v2, with slices"  ·  '
            "/handoff doc remove churn model-card"
        ),
        parse=undated(parse_doc),
        actions=(
            Action(
                DocAddCommand,
                _add_doc,
                "doc",
                lambda c: Answer.FORM if c.open_modal else Answer.AFTER_ACK,
                slot=lambda c: Slot.NONE if c.open_modal else Slot.INITIATIVE_REF,
            ),
            Action(DocRemoveCommand, _remove_doc, "doc", slot=Slot.INITIATIVE_REF),
        ),
        family="readiness",
        takes_action=True,
    ),
    Subcommand(
        "docs",
        summary=(
            "The readiness checklist of the current and next phase: each item satisfied (with its docs), missing "
            "(with how to add it) or waived."
        ),
        usage="/handoff docs churn",
        parse=undated(parse_docs),
        actions=(DOCS,),
        family="readiness",
    ),
    Subcommand(
        "checklist",
        summary=(
            "Change one initiative's checklist: `add` an item it needs, `waive` one it does not (with why), "
            "`remove` either change. `checklist churn` alone shows it."
        ),
        usage=(
            '/handoff checklist churn waive privacy-review "aggregated counts only"  ·  '
            '/handoff checklist churn add fairness-review "credit decisions" for:production  ·  '
            "/handoff checklist churn remove fairness-review"
        ),
        parse=undated(parse_checklist),
        actions=(DOCS, Action(ChecklistChangeCommand, _change_checklist, "checklist", slot=Slot.INITIATIVE_REF)),
        family="readiness",
    ),
    Subcommand(
        "kpi",
        summary=(
            "The agreed measure of good: `add` with a target and direction, `record` readings (a decimal comma "
            "such as `0,85` counts as a point), `list` them with their trend; `edit` or `remove` a "
            "KPI and `reading remove` "
            "a wrong reading (the KPI's owner and the initiative's managers). A KPI name may be "
            "shortened to an unambiguous "
            "prefix. The thread is alerted once when a KPI misses its target."
        ),
        usage=(
            '/handoff kpi add churn "AUC on holdout" >= 0.82 unit:% owner:@bob  ·  '
            '/handoff kpi record churn "AUC on holdout" 0.84 "after retrain"  ·  /handoff kpi list churn  ·  '
            '/handoff kpi edit churn "AUC on holdout" target:0.85  ·  /handoff kpi reading remove '
            'churn "AUC on holdout"'
        ),
        parse=undated(parse_kpi),
        actions=(
            Action(KpiAddCommand, _add_kpi, "kpi add", slot=Slot.INITIATIVE_REF),
            Action(KpiRecordCommand, _record_kpi, "kpi record", slot=Slot.INITIATIVE_REF),
            Action(KpiListCommand, _list_kpis, "kpi list", Answer.IN_ACK, Slot.INITIATIVE_REF),
            Action(KpiEditCommand, _edit_kpi, "kpi edit", slot=Slot.INITIATIVE_REF),
            Action(KpiRemoveCommand, _remove_kpi, "kpi remove", slot=Slot.INITIATIVE_REF),
            Action(KpiReadingRemoveCommand, _remove_reading, "kpi reading remove", slot=Slot.INITIATIVE_REF),
        ),
        family="kpis",
        aliases=(Alias("kpis", "list"),),
        action_usage=KPI_USAGE,
        takes_action=True,
    ),
    Subcommand(
        "idea",
        summary="Log an idea tried, then its outcome (worked, failed or dropped), so nobody repeats a dead end.",
        usage='/handoff idea churn "Try gradient boosting"  ·  /handoff idea outcome churn#i2 failed "no lift"',
        parse=undated(parse_idea),
        actions=(
            Action(IdeaAddCommand, _log_idea, "idea", slot=Slot.INITIATIVE_REF),
            Action(IdeaOutcomeCommand, _record_outcome, "idea", slot=Slot.ITEM),
        ),
        family="ideas",
        local_reference_actions=("outcome",),
    ),
    Subcommand(
        "ideas",
        summary="An initiative's ideas, newest first; `search` finds ideas across the workspace.",
        usage="/handoff ideas churn  ·  /handoff ideas search boosting",
        parse=undated(parse_ideas),
        actions=(
            Action(IdeasCommand, _ideas, "ideas", Answer.IN_ACK, Slot.INITIATIVE_REF),
            Action(IdeasSearchCommand, _search_ideas, "ideas", Answer.IN_ACK),
        ),
        family="ideas",
    ),
)
