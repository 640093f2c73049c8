"""Opening the checkpoint modals: read what the pickers offer, then `views.open` with the click's trigger."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.blocks.base import Message
from bot.blocks.help import render_error, render_problem
from bot.blocks.modals import (
    CheckpointChoice,
    InitiativeChoice,
    render_add_checkpoint_modal,
    render_link_issue_modal,
)
from bot.checkpoints import list_for, reference_of, resolve_initiative_ref
from bot.errors import HandoffError
from bot.runtime import Runtime
from storage.initiatives import list_active_initiatives
from storage.models import CheckpointStatus, Initiative

NO_INITIATIVES = "There are no active initiatives to add a checkpoint to. Start one with `/handoff new`."


def open_add_checkpoint_modal(
    runtime: Runtime,
    client: WebClient,
    *,
    team_id: str,
    trigger_id: str,
    channel_id: str | None,
    initiative_ref: str | None,
) -> Message | None:
    """Open the form; returns a private answer instead when there is nothing to pick or the name is wrong."""
    with runtime.session() as session:
        selected: Initiative | None = None
        if initiative_ref:
            try:
                selected = resolve_initiative_ref(session=session, team_id=team_id, reference=initiative_ref)
            except HandoffError as error:
                return render_error(error, usage_of="checkpoint add")
        initiatives = list_active_initiatives(session=session, team_id=team_id)
        # Initiatives at home in this channel come first: they are the likely choice.
        ordered = sorted(initiatives, key=lambda i: (i.home_channel_id != channel_id, i.name_key))
        choices = [InitiativeChoice(i.id or 0, i.name) for i in ordered]
        if selected is None:
            local = [i for i in ordered if i.home_channel_id == channel_id]
            selected = local[0] if len(local) == 1 else None
        if selected is not None and all(c.id != selected.id for c in choices):
            choices.insert(0, InitiativeChoice(selected.id or 0, selected.name))
    if not choices:
        return render_problem(NO_INITIATIVES)
    view = render_add_checkpoint_modal(
        initiatives=choices, selected_id=selected.id if selected else None, channel_id=channel_id
    )
    client.views_open(trigger_id=trigger_id, view=view)
    return None


def open_link_issue_modal(
    runtime: Runtime,
    client: WebClient,
    *,
    trigger_id: str,
    issue_key: str,
    initiatives: list[Initiative],
    reply_to: dict[str, str],
) -> None:
    """Offer the open checkpoints of the initiatives the mention was about."""
    groups: list[tuple[str, list[CheckpointChoice]]] = []
    with runtime.session() as session:
        for initiative in initiatives:
            checkpoints = list_for(session=session, initiative=initiative)
            choices = [
                CheckpointChoice(c.id or 0, reference_of(initiative, c), c.title)
                for c in checkpoints
                if c.status != CheckpointStatus.DONE.value and not c.jira_key
            ]
            groups.append((initiative.name, choices))
    client.views_open(
        trigger_id=trigger_id, view=render_link_issue_modal(issue_key=issue_key, groups=groups, reply_to=reply_to)
    )
