"""Opening modals: read what the pickers offer, then `views.open` with the click's or command's trigger."""

from __future__ import annotations

from collections.abc import Callable
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
from bot.blocks.modals import render_add_checkpoint_modal, render_add_doc_modal, render_link_issue_modal
from bot.blocks.pickers import initiative_option
from bot.channel_initiative import NoInitiativeInChannel, SeveralInitiativesInChannel, resolve_in_channel
from bot.initiatives import Initiative
from bot.pickers import PickableCheckpoints, checkpoints_matching, initiatives_matching
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

    def form(selected: Initiative | None) -> dict[str, Any]:
        return render_add_checkpoint_modal(selected=selected, channel_id=channel_id)

    return _open_form(runtime, client, team_id, trigger_id, channel_id, initiative_ref, form, prefill)


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

    def form(selected: Initiative | None) -> dict[str, Any]:
        checklist = runtime.settings.checklist.for_team(team_id)
        with runtime.session() as session:
            items = doc_items_for(session=session, checklist=checklist, initiative=selected)
        kinds = [(item.key, item.label) for item in items]
        return render_add_doc_modal(
            selected=selected,
            kinds=kinds,
            selected_kind=kind.strip().lower() if kind else None,
            channel_id=channel_id,
        )

    return _open_form(runtime, client, team_id, trigger_id, channel_id, initiative_ref, form, prefill)


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

    def form(selected: Initiative | None) -> dict[str, Any]:
        return render_report_blocker_modal(
            selected=_option_of(selected),
            text=text,
            directions=DIRECTION_CHOICES,
            channel_id=channel_id,
            source=source,
        )

    return _open_form(runtime, client, team_id, trigger_id, channel_id, initiative_ref, form)


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

    def form(selected: Initiative | None) -> dict[str, Any]:
        return render_log_idea_modal(selected=_option_of(selected), text=text, channel_id=channel_id, source=source)

    return _open_form(runtime, client, team_id, trigger_id, channel_id, initiative_ref, form)


def _open_form(
    runtime: Runtime,
    client: WebClient,
    team_id: str,
    trigger_id: str,
    channel_id: str | None,
    initiative_ref: str | None,
    form: Callable[[Initiative | None], dict[str, Any]],
    prefill: Prefill | None = None,
) -> Message | None:
    """The steps every form with an initiative picker takes: preselect, build the view, prefill it from a message
    when opened from one, and open it; the private answer instead when there is nothing to pick."""
    selected = _preselected_initiative(runtime, team_id, channel_id, initiative_ref)
    if isinstance(selected, Message):
        return selected
    view = form(selected)
    if prefill is not None:
        view = prefilled_from_message(view, prefill)
    client.views_open(trigger_id=trigger_id, view=view)
    return None


def _option_of(selected: Initiative | None) -> dict[str, Any] | None:
    """The picker option of the initiative a form shows picked (see `_preselected_initiative`)."""
    return initiative_option(selected.name, selected.ref_key, selected.id or 0) if selected is not None else None


def _preselected_initiative(
    runtime: Runtime, team_id: str, channel_id: str | None, initiative_ref: str | None
) -> Initiative | Message | None:
    """Which initiative a form's picker shows picked: the one named, or the only one at home in this channel; the
    picker searches the rest as the person types. A private answer instead when there is nothing to pick; a wrong
    name raises."""
    with runtime.session() as session:
        try:
            return resolve_in_channel(
                session=session, team_id=team_id, channel_id=channel_id, reference=initiative_ref or None
            )
        except (NoInitiativeInChannel, SeveralInitiativesInChannel):
            pass  # nothing to preselect: the person picks
        if not initiatives_matching(session=session, team_id=team_id, query="", channel_id=None, limit=1):
            return render_problem(NO_INITIATIVES)
    return None


def open_link_issue_modal(
    runtime: Runtime,
    client: WebClient,
    *,
    team_id: str,
    trigger_id: str,
    issue_key: str,
    initiatives: list[Initiative],
    reply_to: dict[str, str],
) -> None:
    """Offer the open, unlinked checkpoints of the initiatives the mention was about, searched as the person types."""
    initiative_ids = [initiative.id or 0 for initiative in initiatives]
    with runtime.session() as session:
        any_to_pick = bool(
            checkpoints_matching(
                session=session,
                team_id=team_id,
                query="",
                channel_id=None,
                which=PickableCheckpoints.UNLINKED,
                initiative_ids=initiative_ids,
                limit=1,
            )
        )
    view = render_link_issue_modal(
        issue_key=issue_key, initiative_ids=initiative_ids, any_to_pick=any_to_pick, reply_to=reply_to
    )
    client.views_open(trigger_id=trigger_id, view=view)
