"""A status card's "Next step…" menu: the pick is acked at once; after the ack its form opens with the pick's trigger
(good once, within 3 seconds), then the message is rendered afresh. Slack fires a select only when its selection
changes, so the fresh render, which resets the menu, lets the same step be picked again. On App Home, which has no
message to replace, the Home is published afresh instead."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt import App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from bot import ids
from bot.blocks.base import Message
from bot.blocks.card_forms import (
    render_add_kpi_modal,
    render_archive_modal,
    render_change_phase_modal,
    render_edit_modal,
    render_record_reading_modal,
    render_standup_settings_modal,
)
from bot.blocks.status import NextStep, page_value
from bot.errors import HandoffError
from bot.initiatives import Actor, Initiative, Phase, initiative_by_id
from bot.kpis import kpi_views
from bot.readiness import leads_of, may_force, readiness_of
from bot.runtime import Runtime
from bot.standups import NoEmbeddedEngineer, settings_plan
from handlers.actions import ack_only, render_status_value
from handlers.command_table import error_answer
from handlers.errors import after_ack
from handlers.home import is_on_home, republish
from handlers.modal_openers import open_add_checkpoint_modal, open_add_doc_modal, open_report_blocker_modal
from handlers.slack_people import quick_client, unit_of_work
from handlers.tenancy import actor_of

log = logging.getLogger(__name__)

# The subcommand whose usage an error about each step shows: the menu does what that command does.
USAGE_OF = {
    NextStep.DETAILS: "status",
    NextStep.PHASE: "phase",
    NextStep.EDIT: "edit",
    NextStep.CHECKPOINT: "checkpoint add",
    NextStep.DOC: "doc",
    NextStep.KPI: "kpi add",
    NextStep.READING: "kpi record",
    NextStep.BLOCKER: "blocker",
    NextStep.STANDUP: "standup",
    NextStep.ARCHIVE: "archive",
}


@dataclass(frozen=True)
class MenuPick:
    """A step picked on a card: which, for which initiative, and what the message showed (a `page_value`)."""

    step: NextStep
    initiative_id: int
    shown: str


def pick_of(action: dict[str, Any]) -> MenuPick | None:
    """The pick a menu's option value carries; None when it is not one of ours."""
    raw = (action.get("selected_option") or {}).get("value") or action.get("value") or ""
    try:
        value = json.loads(raw)
        step = NextStep(value.pop("s"))
        initiative_id = int(value["i"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return MenuPick(step, initiative_id, json.dumps(value))


def register(app: App, runtime: Runtime) -> None:
    @after_ack
    def next_step(
        body: dict[str, Any], action: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond
    ) -> None:
        pick = pick_of(action)
        if pick is None:
            log.warning("card menu with an unreadable value")
            return
        actor = actor_of(context, body["user"]["id"])
        channel_id = (body.get("container") or {}).get("channel_id") or (body.get("channel") or {}).get("id")
        try:
            answer = open_step(runtime, client, actor, pick, trigger_id=body["trigger_id"], channel_id=channel_id)
        except HandoffError as error:
            answer = error_answer(error, USAGE_OF[pick.step])
        if is_on_home(body):  # no message to replace: the Home is published afresh, which resets the menu
            republish(runtime, client, body, team_id=actor.team_id, notice=answer)
            return
        if answer is not None:
            respond(response_type="ephemeral", replace_original=False, **answer.as_kwargs())
        fresh = render_status_value(runtime, actor.team_id, pick.shown)
        if fresh is not None:
            respond(replace_original=True, **fresh.as_kwargs())

    app.action(ids.ACTION_CARD_MENU)(ack=ack_only, lazy=[next_step])


def open_step(
    runtime: Runtime, client: WebClient, actor: Actor, pick: MenuPick, *, trigger_id: str, channel_id: str | None
) -> Message | None:
    """Open the picked step's form; a private answer instead when there is one to give (Details, a problem)."""
    if pick.step is NextStep.DETAILS:
        return render_status_value(runtime, actor.team_id, page_value("detail", initiative_id=pick.initiative_id))
    with runtime.session() as session:
        initiative = initiative_by_id(session=session, team_id=actor.team_id, initiative_id=pick.initiative_id)
    team_id = actor.team_id
    if pick.step is NextStep.CHECKPOINT:
        return open_add_checkpoint_modal(
            runtime,
            client,
            team_id=team_id,
            trigger_id=trigger_id,
            channel_id=channel_id,
            initiative_ref=initiative.ref_key,
        )
    if pick.step is NextStep.DOC:
        return open_add_doc_modal(
            runtime,
            client,
            team_id=team_id,
            trigger_id=trigger_id,
            channel_id=channel_id,
            initiative_ref=initiative.ref_key,
            kind=None,
        )
    if pick.step is NextStep.BLOCKER:
        return open_report_blocker_modal(
            runtime,
            client,
            team_id=team_id,
            trigger_id=trigger_id,
            channel_id=channel_id,
            initiative_ref=initiative.ref_key,
        )
    view = _form_of(runtime, client, actor, pick.step, initiative, channel_id)
    if isinstance(view, Message):
        return view
    client.views_open(trigger_id=trigger_id, view=view)
    return None


def _form_of(
    runtime: Runtime, client: WebClient, actor: Actor, step: NextStep, initiative: Initiative, channel_id: str | None
) -> dict[str, Any] | Message:
    """The view of a step whose form is the menu's own, or the private answer when it cannot be filled in."""
    if step is NextStep.PHASE:
        return change_phase_form(runtime, client, actor, initiative, channel_id)
    if step is NextStep.EDIT:
        return render_edit_modal(initiative, channel_id=channel_id)
    if step is NextStep.KPI:
        return render_add_kpi_modal(initiative, channel_id=channel_id)
    if step is NextStep.READING:
        with runtime.session() as session:
            kpis = kpi_views(
                session=session,
                initiative=initiative,
                now=runtime.clock.now(),
                stale_days=runtime.settings.kpi_stale_days,
            )
        if not kpis:  # nothing to record a reading of: the form that agrees one, saying why it opened
            return render_add_kpi_modal(initiative, channel_id=channel_id, instead_of_reading=True)
        return render_record_reading_modal(initiative, kpis, channel_id=channel_id)
    if step is NextStep.STANDUP:
        with runtime.session() as session:
            plan = settings_plan(session=session, initiative=initiative, default_timezone=runtime.settings.timezone)
        if plan is None:
            raise NoEmbeddedEngineer(initiative)
        return render_standup_settings_modal(initiative, plan, channel_id=channel_id)
    return render_archive_modal(initiative, channel_id=channel_id)


def change_phase_form(
    runtime: Runtime,
    client: WebClient,
    actor: Actor,
    initiative: Initiative,
    channel_id: str | None,
    *,
    preselected: Phase | None = None,
) -> dict[str, Any]:
    """The Change phase form as `actor` may fill it in: the next gate's missing items, and the force field if they
    may force."""
    checklist = runtime.settings.checklist.for_team(actor.team_id)
    with runtime.session() as session:
        readiness = readiness_of(session=session, checklist=checklist, initiative=initiative)
    return render_change_phase_modal(
        initiative,
        next_gate=readiness.next_gate(),
        may_force=_may_force_quickly(runtime, client, actor, initiative),
        channel_id=channel_id,
        preselected=preselected,
    )


def _may_force_quickly(runtime: Runtime, client: WebClient, actor: Actor, initiative: Initiative) -> bool:
    """Whether the form offers forcing, without outlasting its trigger: a lead may; whether an admin is, Slack says
    at once or the field stays hidden (the submission checks again)."""
    if actor.user_id in leads_of(initiative):
        return True
    try:
        with unit_of_work(runtime, quick_client(client), actor.team_id) as (_session, people):
            return may_force(initiative=initiative, actor=actor, people=people)
    except (SlackClientError, OSError) as error:
        log.warning("force field hidden; Slack did not say at once who is an admin", extra={"error": repr(error)})
        return False
