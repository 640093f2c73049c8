"""Buttons: share a status or another private answer in the channel, page through a status, open details, start an
initiative from App Home; on digests and nudges: mark a checkpoint done, record a mitigation, snooze a nudge,
resolve a blocker; undo archiving or a removal; and on a standup prompt: answer it, or repeat yesterday's answer."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot import ids
from bot.blocks.base import Message
from bot.blocks.channel_view import render_channel_view
from bot.blocks.help import render_error
from bot.blocks.modals import render_mitigation_modal, render_new_initiative_modal
from bot.blocks.status import CHANNEL_VIEW, render_detail, render_status_page
from bot.errors import HandoffError, UnknownInitiative
from bot.initiatives import initiative_by_id, initiatives_by_ids
from bot.runtime import Runtime
from bot.status import ScopeKind, StatusScope, initiative_detail, status_page
from handlers.blockers import resolve_and_announce
from handlers.checkpoints import complete_and_announce
from handlers.command_table import error_answer
from handlers.digests import snooze_from_button
from handlers.errors import after_ack
from handlers.home import answer
from handlers.modal_openers import open_add_doc_modal, open_link_issue_modal
from handlers.sharing import share_answer
from handlers.standups import open_answer_modal, prompt_id_of, repeat_yesterday
from handlers.tenancy import actor_of, tenant_of
from handlers.undo import undo_change

log = logging.getLogger(__name__)


def register(app: App, runtime: Runtime) -> None:
    @after_ack
    def share_status(body: dict[str, Any], action: dict[str, Any], context: BoltContext, respond: Respond) -> None:
        user_id = body["user"]["id"]
        message = render_status_value(runtime, tenant_of(context), action.get("value", ""), shared_by=user_id)
        if message is None:
            respond(
                response_type="ephemeral",
                replace_original=False,
                text="That status is out of date; run `/handoff status` again.",
            )
            return
        # response_url posts in the channel even where the bot is not a member.
        respond(response_type="in_channel", replace_original=False, **message.as_kwargs())
        respond(delete_original=True)

    @after_ack
    def share_answer_in_channel(
        body: dict[str, Any], action: dict[str, Any], context: BoltContext, respond: Respond
    ) -> None:
        actor = actor_of(context, body["user"]["id"])
        share_answer(runtime, actor, str(action.get("value") or ""), respond)

    @after_ack
    def page_status(body: dict[str, Any], action: dict[str, Any], context: BoltContext, respond: Respond) -> None:
        message = render_status_value(runtime, tenant_of(context), action.get("value", ""))
        if message is not None:
            respond(replace_original=True, **message.as_kwargs())

    @after_ack
    def show_detail(body: dict[str, Any], action: dict[str, Any], context: BoltContext, respond: Respond) -> None:
        message = render_status_value(runtime, tenant_of(context), action.get("value", ""))
        if message is not None:
            respond(response_type="ephemeral", replace_original=False, **message.as_kwargs())

    @after_ack
    def open_new_from_home(body: dict[str, Any], client: WebClient) -> None:
        client.views_open(trigger_id=body["trigger_id"], view=render_new_initiative_modal(channel_id=None))

    # Each button is acked at once; what it does happens after the ack, answered through its response_url.
    app.action(ids.ACTION_STATUS_SHARE)(ack=ack_only, lazy=[share_status])
    app.action(ids.ACTION_SHARE_ANSWER)(ack=ack_only, lazy=[share_answer_in_channel])
    app.action(ids.ACTION_STATUS_PREV)(ack=ack_only, lazy=[page_status])
    app.action(ids.ACTION_STATUS_NEXT)(ack=ack_only, lazy=[page_status])
    app.action(ids.ACTION_STATUS_DETAIL)(ack=ack_only, lazy=[show_detail])
    app.action(ids.ACTION_HOME_NEW)(ack=ack_only, lazy=[open_new_from_home])

    @after_ack
    def open_link_issue(
        body: dict[str, Any], action: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond
    ) -> None:
        try:
            value = json.loads(action.get("value") or "{}")
            issue_key, initiative_ids = str(value["k"]), [int(i) for i in value.get("i", [])]
        except (ValueError, KeyError, TypeError):
            log.warning("link button with an unreadable value")
            return
        team_id = tenant_of(context)
        with runtime.session() as session:
            initiatives = initiatives_by_ids(session=session, team_id=team_id, initiative_ids=initiative_ids)
        container = body.get("container") or {}
        channel_id = container.get("channel_id") or (body.get("channel") or {}).get("id") or ""
        reply_to = {"c": channel_id, "t": container.get("thread_ts") or container.get("message_ts") or ""}
        open_link_issue_modal(
            runtime,
            client,
            team_id=team_id,
            trigger_id=body["trigger_id"],
            issue_key=issue_key,
            initiatives=initiatives,
            reply_to=reply_to,
        )

    app.action(ids.ACTION_LINK_ISSUE)(ack=ack_only, lazy=[open_link_issue])

    @after_ack
    def open_add_doc(
        body: dict[str, Any], action: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond
    ) -> None:
        try:
            value = json.loads(action.get("value") or "{}")
            initiative_id, kind = int(value["i"]), value.get("k")
        except (ValueError, KeyError, TypeError):
            log.warning("add-doc button with an unreadable value")
            return
        team_id = tenant_of(context)
        with runtime.session() as session:
            ref: str | None
            try:
                ref = initiative_by_id(session=session, team_id=team_id, initiative_id=initiative_id).ref_key
            except UnknownInitiative:
                ref = None  # gone since the button was posted: the form opens with nothing picked
        channel_id = (body.get("container") or {}).get("channel_id") or (body.get("channel") or {}).get("id")
        try:
            problem = open_add_doc_modal(
                runtime,
                client,
                team_id=team_id,
                trigger_id=body["trigger_id"],
                channel_id=channel_id,
                initiative_ref=ref,
                kind=str(kind) if kind else None,
            )
        except HandoffError as error:
            problem = error_answer(error, "doc")
        if problem is not None:
            answer(runtime, client, body, respond, problem, team_id=team_id)

    app.action(ids.ACTION_ADD_DOC)(ack=ack_only, lazy=[open_add_doc])

    @after_ack
    def mark_done(
        body: dict[str, Any], action: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond
    ) -> None:
        actor = actor_of(context, body["user"]["id"])
        reference = str(action.get("value") or "")
        try:
            result = complete_and_announce(runtime, client, actor, reference, done=True)
        except HandoffError as error:
            result = error_answer(error, "checkpoint done")
        answer(runtime, client, body, respond, result, team_id=actor.team_id)

    @after_ack
    def open_mitigation(body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        channel_id = (body.get("container") or {}).get("channel_id") or (body.get("channel") or {}).get("id")
        view = render_mitigation_modal(str(action.get("value") or ""), channel_id=channel_id)
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @after_ack
    def snooze_nudge(body: dict[str, Any], action: dict[str, Any], context: BoltContext, respond: Respond) -> None:
        try:
            result = snooze_from_button(runtime, tenant_of(context), body["user"]["id"], str(action.get("value") or ""))
        except HandoffError as error:
            result = render_error(error)
        respond(response_type="ephemeral", replace_original=False, **result.as_kwargs())

    @after_ack
    def resolve_blocker(
        body: dict[str, Any], action: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond
    ) -> None:
        actor = actor_of(context, body["user"]["id"])
        try:
            result = resolve_and_announce(runtime, client, actor, str(action.get("value") or ""))
        except HandoffError as error:
            result = render_error(error)
        answer(runtime, client, body, respond, result, team_id=actor.team_id)

    app.action(ids.ACTION_RESOLVE_BLOCKER)(ack=ack_only, lazy=[resolve_blocker])

    @after_ack
    def undo(
        body: dict[str, Any], action: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond
    ) -> None:
        actor = actor_of(context, body["user"]["id"])
        undo_change(runtime, client, actor, str(action.get("value") or ""), respond)

    app.action(ids.ACTION_UNDO)(ack=ack_only, lazy=[undo])

    @after_ack
    def open_standup(
        body: dict[str, Any], action: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond
    ) -> None:
        actor = actor_of(context, body["user"]["id"])
        try:
            prompt_id = prompt_id_of(str(action.get("value") or ""))
            open_answer_modal(runtime, client, actor, trigger_id=body["trigger_id"], prompt_id=prompt_id)
        except HandoffError as error:
            answer(runtime, client, body, respond, render_error(error), team_id=actor.team_id)

    @after_ack
    def same_as_yesterday(
        body: dict[str, Any], action: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond
    ) -> None:
        actor = actor_of(context, body["user"]["id"])
        try:
            result = repeat_yesterday(runtime, client, actor, prompt_id_of(str(action.get("value") or "")))
        except HandoffError as error:
            result = render_error(error)
        respond(response_type="ephemeral", replace_original=False, **result.as_kwargs())

    app.action(ids.ACTION_STANDUP_ANSWER)(ack=ack_only, lazy=[open_standup])
    app.action(ids.ACTION_STANDUP_SAME)(ack=ack_only, lazy=[same_as_yesterday])
    app.action(ids.ACTION_CHECKPOINT_DONE)(ack=ack_only, lazy=[mark_done])
    app.action(ids.ACTION_MITIGATE)(ack=ack_only, lazy=[open_mitigation])
    app.action(ids.ACTION_SNOOZE_DAY)(ack=ack_only, lazy=[snooze_nudge])
    app.action(ids.ACTION_SNOOZE_WEEK)(ack=ack_only, lazy=[snooze_nudge])
    # A link button opens its URL in the browser; Slack still sends the click, which only needs its ack.
    app.action(ids.ACTION_OPEN_JIRA)(ack_only)


def ack_only(ack: Ack) -> None:
    ack()


def render_status_value(
    runtime: Runtime, team_id: str, raw_value: str, *, shared_by: str | None = None
) -> Message | None:
    """Re-read what a status button points at; None when the value is not one of ours."""
    try:
        value = json.loads(raw_value)
        kind, page = str(value["k"]), int(value.get("p", 1))
    except (ValueError, KeyError, TypeError):
        log.warning("status button with an unreadable value")
        return None
    now = runtime.clock.now()
    with runtime.session() as session:
        if kind == "detail":
            try:
                initiative = initiative_by_id(session=session, team_id=team_id, initiative_id=int(value.get("i", 0)))
            except UnknownInitiative as error:
                return render_error(error)
            detail = initiative_detail(
                session=session,
                initiative=initiative,
                now=now,
                today=runtime.today(),
                checklist=runtime.settings.checklist.for_team(team_id),
                stale_days=runtime.settings.kpi_stale_days,
            )
            return render_detail(detail, jira_url=runtime.jira_url, shared_by=shared_by)
        if kind in ("channel", CHANNEL_VIEW) and value.get("c"):
            scope = StatusScope(ScopeKind.CHANNEL, str(value["c"]))
        elif kind == "all":
            scope = StatusScope(ScopeKind.ALL)
        else:
            return None
        try:
            result = status_page(
                db=session,
                team_id=team_id,
                scope=scope,
                page=page,
                now=now,
                today=runtime.today(),
                checklist=runtime.settings.checklist.for_team(team_id),
                stale_days=runtime.settings.kpi_stale_days,
            )
        except HandoffError as error:
            return render_error(error)
        if kind == CHANNEL_VIEW:
            return render_channel_view(result, jira_url=runtime.jira_url)
        return render_status_page(result, jira_url=runtime.jira_url, shared_by=shared_by)
