"""Opening modals: read what the pickers offer, then `views.open` with the click's or command's trigger."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from bot.blockers import DIRECTION_CHOICES
from bot.blocks.base import Message
from bot.blocks.capture_forms import (
    Prefill,
    SourceMessage,
    prefilled_from_message,
    render_log_idea_modal,
    render_report_blocker_modal,
)
from bot.blocks.help import render_problem
from bot.blocks.modals import (
    CheckpointChoice,
    InitiativeChoice,
    render_add_checkpoint_modal,
    render_add_doc_modal,
    render_link_issue_modal,
)
from bot.blocks.pickers import initiative_option
from bot.channel_initiative import NoInitiativeInChannel, SeveralInitiativesInChannel, resolve_in_channel
from bot.checkpoints import CheckpointStatus, list_for, reference_of
from bot.initiatives import Initiative, active_initiatives
from bot.readiness import doc_items_for
from bot.runtime import Runtime

NO_INITIATIVES = "There are no active initiatives yet. Start one with `/handoff new`."


def open_add_checkpoint_modal(
    runtime: Runtime,
    client: WebClient,
    *,
    team_id: str,
    trigger_id: str,
    channel_id: str | None,
    initiative_ref: str | None,
    prefill: Prefill | None = None,
) -> Message | None:
    """Open the form (`prefill`ed from a message); a private answer instead when there is nothing to pick. A wrong
    name raises."""
    picked = _initiative_choices(runtime, team_id, channel_id, initiative_ref)
    if isinstance(picked, Message):
        return picked
    choices, selected = picked
    view = render_add_checkpoint_modal(
        initiatives=choices, selected_id=selected.id if selected else None, channel_id=channel_id
    )
    if prefill is not None:
        view = prefilled_from_message(view, prefill)
    client.views_open(trigger_id=trigger_id, view=view)
    return None


def open_add_doc_modal(
    runtime: Runtime,
    client: WebClient,
    *,
    team_id: str,
    trigger_id: str,
    channel_id: str | None,
    initiative_ref: str | None,
    kind: str | None,
    prefill: Prefill | None = None,
) -> Message | None:
    """The doc form, with the initiative and kind preselected when known (`prefill`ed from a message); the kinds
    include the selected initiative's own checklist additions."""
    picked = _initiative_choices(runtime, team_id, channel_id, initiative_ref)
    if isinstance(picked, Message):
        return picked
    choices, selected = picked
    checklist = runtime.settings.checklist.for_team(team_id)
    with runtime.session() as session:
        items = doc_items_for(session=session, checklist=checklist, initiative=selected)
    kinds = [(item.key, item.label) for item in items]
    view = render_add_doc_modal(
        initiatives=choices,
        selected_id=selected.id if selected else None,
        kinds=kinds,
        selected_kind=kind.strip().lower() if kind else None,
        channel_id=channel_id,
    )
    if prefill is not None:
        view = prefilled_from_message(view, prefill)
    client.views_open(trigger_id=trigger_id, view=view)
    return None


def open_report_blocker_modal(
    runtime: Runtime,
    client: WebClient,
    *,
    team_id: str,
    trigger_id: str,
    channel_id: str | None,
    initiative_ref: str | None,
    text: str = "",
    source: SourceMessage | None = None,
) -> Message | None:
    """The blocker form, with the initiative preselected when named or at home here, and the text (from `source`,
    a message, when opened from one); a private answer instead when there is nothing to pick. A wrong name raises."""
    selected = _preselected(runtime, team_id, channel_id, initiative_ref)
    if isinstance(selected, Message):
        return selected
    view = render_report_blocker_modal(
        selected=selected, text=text, directions=DIRECTION_CHOICES, channel_id=channel_id, source=source
    )
    client.views_open(trigger_id=trigger_id, view=view)
    return None


def open_log_idea_modal(
    runtime: Runtime,
    client: WebClient,
    *,
    team_id: str,
    trigger_id: str,
    channel_id: str | None,
    initiative_ref: str | None,
    text: str = "",
    source: SourceMessage | None = None,
) -> Message | None:
    """The idea form, preselected and prefilled like the blocker form."""
    selected = _preselected(runtime, team_id, channel_id, initiative_ref)
    if isinstance(selected, Message):
        return selected
    client.views_open(
        trigger_id=trigger_id,
        view=render_log_idea_modal(selected=selected, text=text, channel_id=channel_id, source=source),
    )
    return None


def _preselected(
    runtime: Runtime, team_id: str, channel_id: str | None, initiative_ref: str | None
) -> dict[str, Any] | Message | None:
    """The picker option to preselect: the initiative named, or the only one at home in this channel; None to let
    the person pick. A private answer instead when there is no initiative at all; a wrong name raises."""
    with runtime.session() as session:
        try:
            selected = resolve_in_channel(
                session=session, team_id=team_id, channel_id=channel_id, reference=initiative_ref or None
            )
        except (NoInitiativeInChannel, SeveralInitiativesInChannel):
            if not active_initiatives(session=session, team_id=team_id):
                return render_problem(NO_INITIATIVES)
            return None
        return initiative_option(selected.name, selected.ref_key, selected.id or 0)


def _initiative_choices(
    runtime: Runtime, team_id: str, channel_id: str | None, initiative_ref: str | None
) -> tuple[list[InitiativeChoice], Initiative | None] | Message:
    """What a form's initiative picker offers, and which to preselect: the one named, or the only one at home
    in this channel. A private answer instead when there is nothing to pick; a wrong name raises."""
    with runtime.session() as session:
        selected: Initiative | None
        try:
            selected = resolve_in_channel(
                session=session, team_id=team_id, channel_id=channel_id, reference=initiative_ref or None
            )
        except (NoInitiativeInChannel, SeveralInitiativesInChannel):
            selected = None  # nothing to preselect: the person picks
        initiatives = active_initiatives(session=session, team_id=team_id)
        # Initiatives at home in this channel come first: they are the likely choice.
        ordered = sorted(initiatives, key=lambda i: (i.home_channel_id != channel_id, i.name_key))
        choices = [InitiativeChoice(i.id or 0, i.name) for i in ordered]
        if selected is not None and all(c.id != selected.id for c in choices):
            choices.insert(0, InitiativeChoice(selected.id or 0, selected.name))
    if not choices:
        return render_problem(NO_INITIATIVES)
    return choices, selected


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
