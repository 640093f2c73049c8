"""Checkpoints: milestones to production, linked to Jira issues."""

from __future__ import annotations

from dataclasses import replace

from bot.blocks.base import Message
from bot.checkpoints import CheckpointDraft
from bot.initiatives import named_exactly
from handlers.checkpoint_flows import (
    add_and_announce,
    complete_and_announce,
    edit_and_announce,
    mitigate_and_announce,
    remove_and_announce,
    show_checkpoints,
)
from handlers.modal_openers import open_add_checkpoint_modal
from handlers.parsing import (
    CheckpointAddCommand,
    CheckpointCompletionCommand,
    CheckpointEditCommand,
    CheckpointListCommand,
    CheckpointMitigateCommand,
    CheckpointRemoveCommand,
    parse_checkpoint,
)
from handlers.subcommand import Action, Alias, Answer, Request, Slot, Subcommand


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
    draft = CheckpointDraft(
        title=command.title, owner_id=command.owner_id, due_date=command.due_date, jira=command.jira
    )
    return add_and_announce(request.runtime, request.client, request.actor, command.initiative_ref or "", draft)


def _named_initiative_opens_its_form(request: Request, command: CheckpointAddCommand) -> CheckpointAddCommand:
    """`checkpoint add "Churn model v2"` opens that initiative's form; any other lone title is a title."""
    if not command.lone_title:
        return command
    with request.runtime.session() as session:
        named = named_exactly(session=session, team_id=request.actor.team_id, text=command.title)
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
            "Milestones to production, referenced like `churn#3`: `add` (no arguments: a form; `jira:KEY` links "
            "an issue, `jira:new` creates one), `done`, `reopen`, `list`, `edit` (`title:` `owner:` `due:` `jira:`), "
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
