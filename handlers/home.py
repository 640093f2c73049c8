"""App Home: publish a person's dashboard, answer what they did on it, and republish the Homes a change made stale.

`views.publish` is Tier 4 (about 100 a minute per workspace), so republishing after a change is paced through the
posting budget's machinery, with a budget of its own (`HOME_BUDGET_SUFFIX`), shared by every replica through the
database and apart from the budget of messages."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.base import Message
from bot.blocks.home import render_home
from bot.home import compose_home, homes_to_refresh
from bot.posting_budget import PostingBudget
from bot.runtime import Runtime
from handlers.home_changes import HomeChanges, home_published

log = logging.getLogger(__name__)
VIEWS_PUBLISH_PER_MINUTE = 100  # Slack's Tier 4
HOME_BUDGET_SUFFIX = ":home"  # the posting-turn rows of a workspace's Home publishing: `T0123ABCD:home`


def publish_home(
    runtime: Runtime, client: WebClient, *, team_id: str, user_id: str, notice: Message | None = None
) -> None:
    """Compose the person's dashboard and publish it as their App Home."""
    with runtime.session() as session:
        dashboard = compose_home(
            session=session,
            team_id=team_id,
            user_id=user_id,
            now=runtime.clock.now(),
            today=runtime.today(),
            checklist=runtime.settings.checklist.for_team(team_id),
            stale_days=runtime.settings.kpi_stale_days,
        )
    client.views_publish(user_id=user_id, view=render_home(dashboard, notice=notice))


def is_on_home(body: dict[str, Any]) -> bool:
    """A click on the App Home tab: its container is a view, and Slack gives it no response_url."""
    return (body.get("container") or {}).get("type") == "view" and (body.get("view") or {}).get("type") == "home"


def answer(
    runtime: Runtime, client: WebClient, body: dict[str, Any], respond: Respond, message: Message, *, team_id: str
) -> None:
    """A private answer: through the response_url on a message; on App Home, which has none, the Home republished
    with the answer on top (and what the click changed)."""
    if not is_on_home(body):
        respond(response_type="ephemeral", replace_original=False, **message.as_kwargs())
        return
    republish(runtime, client, body, team_id=team_id, notice=message)


def republish(
    runtime: Runtime, client: WebClient, body: dict[str, Any], *, team_id: str, notice: Message | None = None
) -> None:
    """Republish the clicking person's Home now, so what they did shows at once."""
    user_id = body["user"]["id"]
    publish_home(runtime, client, team_id=team_id, user_id=user_id, notice=notice)
    home_published(team_id, user_id)


def refresh_homes(changes: HomeChanges) -> None:
    """Republish the Homes of the changed initiatives' people who opened theirs lately, each once, paced under
    views.publish's rate tier; a Slack error on one is logged and the rest go on."""
    runtime = changes.runtime
    by_team: dict[str, tuple[list[int], set[str]]] = {}
    for initiative_id, (team, named) in changes.initiatives.items():
        ids, people = by_team.setdefault(team, ([], set()))
        ids.append(initiative_id)
        people.update(named)
    budget = PostingBudget(sessions=runtime.session, clock=runtime.clock, per_minute=VIEWS_PUBLISH_PER_MINUTE)
    for team_id, (initiative_ids, people) in by_team.items():
        with runtime.session() as session:
            viewers = homes_to_refresh(
                session=session,
                team_id=team_id,
                initiative_ids=initiative_ids,
                user_ids=sorted(people),
                now=runtime.clock.now(),
            )
        workspace = team_id + HOME_BUDGET_SUFFIX
        for user_id in viewers:
            if (team_id, user_id) in changes.published:
                continue
            budget.wait_turn(workspace, user_id)
            try:
                publish_home(runtime, changes.client, team_id=team_id, user_id=user_id)
            except SlackApiError as error:
                log.warning(
                    "App Home not republished", extra={"user": user_id, "slack_error": error.response.get("error")}
                )
            finally:
                budget.sent(workspace, user_id)
            changes.published.add((team_id, user_id))
