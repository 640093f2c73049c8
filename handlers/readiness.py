"""The Slack-facing steps of readiness: docs and checklist changes.

Changes run after the ack and tell the initiative's thread; the checklist view needs only the database and is
answered in the ack itself. Domain errors propagate for the caller to render.

The family's entries in the table of subcommands (`handlers.command_table`) close the module.
"""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk import WebClient

from bot import readiness as service
from bot.blocks.base import Message
from bot.blocks.capture_forms import from_message
from bot.blocks.readiness import (
    render_checklist,
    render_checklist_change,
    render_checklist_entry_removed,
    render_doc_added,
    render_doc_removed,
    render_doc_restored,
)
from bot.blocks.share import SharedView, ShareRequest, shareable
from bot.blocks.undo import UndoKind, UndoRequest, undo_button
from bot.initiatives import Actor, Phase, resolve_initiative
from bot.runtime import Runtime
from bot.text import echo, escape
from handlers.grammar import (
    Token,
    UsageError,
    is_word,
    looks_like_url,
    parse_link,
    split_options,
    unknown_action,
)
from handlers.modal_openers import open_add_doc_modal
from handlers.posting import announce
from handlers.slack_people import unit_of_work
from handlers.subcommand import Action, Answer, Request, Slot, Subcommand, undated


def show_checklist(runtime: Runtime, actor: Actor, initiative_ref: str, *, shared_by: str | None = None) -> Message:
    with runtime.session() as session:
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        readiness = service.readiness_of(
            session=session, checklist=runtime.settings.checklist.for_team(actor.team_id), initiative=initiative
        )
    listing = render_checklist(initiative, readiness)
    return shareable(listing, ShareRequest(SharedView.CHECKLIST, initiative.ref_key), shared_by=shared_by)


def add_doc_and_announce(
    runtime: Runtime,
    client: WebClient,
    actor: Actor,
    initiative_ref: str,
    kind: str,
    url: str,
    note: str | None,
    *,
    source: str | None = None,
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
    update = from_message(render_doc_added(initiative, doc, label), source)
    return announce(client, initiative, update, confirmation)


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


def _label(readiness: service.Readiness, key: str) -> str:
    found = service.find_item(readiness, key)
    return found.item.label if found is not None else key


@dataclass(frozen=True)
class DocAddCommand:
    """`doc add`; `open_modal` when the kind or link is missing (what was given is preselected)."""

    open_modal: bool
    initiative_ref: str | None = None
    kind: str | None = None
    url: str = ""
    note: str | None = None


@dataclass(frozen=True)
class DocRemoveCommand:
    initiative_ref: str | None
    kind: str
    url: str | None = None


@dataclass(frozen=True)
class DocsCommand:
    """`docs <initiative>` or `checklist <initiative>`: the checklist with its docs, privately."""

    initiative_ref: str | None


@dataclass(frozen=True)
class ChecklistChangeCommand:
    """`checklist <initiative> add|waive|remove <item> ["<reason>"] [for:<phase>]`."""

    initiative_ref: str | None
    action: str
    item: str
    reason: str = ""
    gate: Phase | None = None


CHECKLIST_ACTIONS = ("add", "waive", "remove")
DOC_ACTIONS = ("add", "remove")


def parse_doc(rest: list[Token]) -> DocAddCommand | DocRemoveCommand:
    if not rest:
        return DocAddCommand(open_modal=True)
    action, args = rest[0].text.lower(), rest[1:]
    if rest[0].quoted or action not in DOC_ACTIONS:
        raise unknown_action(rest[0], DOC_ACTIONS, "doc", "doc")
    if len(args) >= 2 and looks_like_url(parse_link(args[1].text)):  # `doc add model-card https://…`
        note = " ".join(t.text for t in args[2:]).strip() or None
        if action == "remove":
            if note:
                raise UsageError("`doc remove` takes the kind and, when it has several, the link.", "doc")
            return DocRemoveCommand(None, args[0].text, parse_link(args[1].text))
        return DocAddCommand(
            open_modal=False, initiative_ref=None, kind=args[0].text, url=parse_link(args[1].text), note=note
        )
    if action == "remove":
        if len(args) < 2 or len(args) > 3:
            raise UsageError("`doc remove` needs the initiative and the kind, and the link if it has several.", "doc")
        return DocRemoveCommand(args[0].text, args[1].text, parse_link(args[2].text) if len(args) == 3 else None)
    if len(args) < 3:
        return DocAddCommand(
            open_modal=True,
            initiative_ref=args[0].text if args else None,
            kind=args[1].text if len(args) > 1 else None,
        )
    note = " ".join(t.text for t in args[3:]).strip() or None
    url = parse_link(args[2].text)
    return DocAddCommand(open_modal=False, initiative_ref=args[0].text, kind=args[1].text, url=url, note=note)


def parse_docs(rest: list[Token]) -> DocsCommand:
    return DocsCommand(" ".join(t.text for t in rest) or None)


def parse_checklist(rest: list[Token]) -> DocsCommand | ChecklistChangeCommand:
    if not rest:
        return DocsCommand(None)
    initiative_ref: str | None
    if is_word(rest[0], CHECKLIST_ACTIONS) and not (len(rest) > 1 and is_word(rest[1], CHECKLIST_ACTIONS)):
        initiative_ref, action, args = None, rest[0].text.lower(), rest[1:]  # `checklist waive …`: this channel's
    elif not any(is_word(t, CHECKLIST_ACTIONS) for t in rest[1:]):
        return DocsCommand(" ".join(t.text for t in rest))  # `checklist Churn model v2` shows it
    else:
        initiative_ref, action, args = rest[0].text, rest[1].text.lower(), rest[2:]
    if rest[1].quoted or action not in CHECKLIST_ACTIONS:
        known = ", ".join(CHECKLIST_ACTIONS)
        raise UsageError(
            f'"{echo(rest[1].text)}" is not a checklist command. Checklist commands: {known}.', "checklist"
        )
    if not args:
        raise UsageError(f"`checklist {action}` needs the item, e.g. `privacy-review`.", "checklist")
    item = args[0].text
    words, options = split_options(args[1:], frozenset({"for"}) if action == "add" else frozenset(), "checklist")
    reason = " ".join(words).strip()
    if action == "remove":
        if reason:
            raise UsageError("`checklist remove` takes only the item.", "checklist")
        return ChecklistChangeCommand(initiative_ref, action, item)
    if not reason:
        raise UsageError(f"`checklist {action}` needs the reason, in quotes after the item.", "checklist")
    gate = None
    if "for" in options:
        raw = options["for"].strip().lower()
        if raw not in Phase.__members__.values():
            raise UsageError(
                f"`for:{echo(raw)}` is not a phase. Phases: {', '.join(p.value for p in Phase)}.", "checklist"
            )
        gate = Phase(raw)
    return ChecklistChangeCommand(initiative_ref, action, item, reason, gate)


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


DOCS = Action(DocsCommand, _docs, "docs", Answer.IN_ACK, Slot.INITIATIVE_REF)
SUBCOMMANDS = (
    Subcommand(
        "doc",
        summary=(
            "Attach a handoff doc (an http/https link) that satisfies a checklist item, attested by you; with missing "
            "arguments, a form. Kinds: {kinds}."
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
            "The readiness checklist of the current and next phase: each item satisfied (with its docs), missing (with "
            "how to add it) or waived."
        ),
        usage="/handoff docs churn",
        parse=undated(parse_docs),
        actions=(DOCS,),
        family="readiness",
    ),
    Subcommand(
        "checklist",
        summary=(
            "Change one initiative's checklist: `add` an item it needs, `waive` one it does not (with why), `remove` "
            "either change. `checklist churn` alone shows it."
        ),
        usage=(
            '/handoff checklist churn waive privacy-review "aggregated counts only"  ·  '
            '/handoff checklist churn add fairness-review "credit decisions" for:production  ·  '
            "/handoff checklist churn remove fairness-review"
        ),
        parse=undated(parse_checklist),
        actions=(DOCS, Action(ChecklistChangeCommand, _change_checklist, "checklist", slot=Slot.INITIATIVE_REF)),
        family="readiness",
        leading_settings=CHECKLIST_ACTIONS,
    ),
)
