"""Readiness: the checklist each phase needs and the docs that satisfy it, KPIs, and the ideas tried."""

from __future__ import annotations

from bot.blocks.base import Message
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
from handlers.subcommand import Action, Alias, Answer, Request, Slot, Subcommand, undated


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
