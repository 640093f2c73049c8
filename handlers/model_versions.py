"""A registered model's new versions in the initiative's thread, after each round of reading sourced KPIs, and the
"Move to <phase>" button they carry: it opens the status card's own Change phase form, so the gates, forcing and
permissions are the form's."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot import ids
from bot.blocks.model_versions import render_model_version_news
from bot.errors import HandoffError
from bot.initiatives import Phase, initiative_by_id
from bot.kpi_sources.readers import Readers
from bot.model_versions import new_model_versions, still_ahead
from bot.runtime import Runtime
from handlers.actions import ack_only
from handlers.card_menu import change_phase_form
from handlers.command_table import error_answer
from handlers.errors import after_ack
from handlers.home import answer
from handlers.posting import post_in_thread
from handlers.tenancy import actor_of

log = logging.getLogger(__name__)


def announce_new_versions(runtime: Runtime, client: WebClient, readers: Readers) -> int:
    """Post each version newly taking a watched alias in its initiative's thread, once; how many were posted.

    MLflow and Slack failures are logged, never raised: the round that calls this goes on. A post Slack refuses
    after its claim is not tried again: the claim is what makes the news once, so it is lost rather than doubled."""
    if readers.mlflow is None:
        return 0
    try:
        news = new_model_versions(sessions=runtime.session, reader=readers.mlflow)
    except OSError as error:  # the reader answers a source's failures itself; this is the network below it
        log.warning("model versions not read", extra={"error": repr(error)})
        return 0
    posted = 0
    for each in news:
        initiative = each.initiative
        # Paced with the workspace's other scheduled posts, as a digest is: the destination is the thread's channel.
        channel_id = initiative.thread_channel_id or initiative.home_channel_id
        runtime.posting_budget.wait_turn(initiative.team_id, channel_id)
        try:
            post_in_thread(client, initiative=initiative, message=render_model_version_news(each))
        except (HandoffError, SlackApiError, SlackClientError, OSError) as error:
            log.warning(
                "model version news not posted",
                extra={"initiative_id": initiative.id, "model": each.version.model, "error": repr(error)},
            )
            continue
        finally:
            runtime.posting_budget.sent(initiative.team_id, channel_id)
        posted += 1
    return posted


def register(app: App, runtime: Runtime) -> None:
    @after_ack
    def open_change_phase(
        body: dict[str, Any], action: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond
    ) -> None:
        try:
            value = json.loads(action.get("value") or "{}")
            initiative_id, phase = int(value["i"]), Phase(value["p"])
        except (ValueError, KeyError, TypeError):
            log.warning("move-phase button with an unreadable value")
            return
        actor = actor_of(context, body["user"]["id"])
        channel_id = (body.get("container") or {}).get("channel_id") or (body.get("channel") or {}).get("id")
        try:
            with runtime.session() as session:
                initiative = initiative_by_id(session=session, team_id=actor.team_id, initiative_id=initiative_id)
            preselected = still_ahead(phase, initiative.phase)
            view = change_phase_form(runtime, client, actor, initiative, channel_id, preselected=preselected)
        except HandoffError as error:
            answer(runtime, client, body, respond, error_answer(error, "phase"), team_id=actor.team_id)
            return
        client.views_open(trigger_id=body["trigger_id"], view=view)

    app.action(ids.ACTION_MODEL_VERSION_PHASE)(ack=ack_only, lazy=[open_change_phase])
