"""Events: App Home, and keeping cached profiles fresh."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.blocks.home import render_home
from bot.people import PeopleService
from bot.runtime import Runtime
from bot.status import initiatives_for_user
from handlers.actions import ack_only
from handlers.errors import after_ack
from handlers.slack_io import SlackUserDirectory, profile_from_slack


def register(app: App, runtime: Runtime) -> None:
    @after_ack
    def publish_home(event: dict[str, Any], context: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        user_id = event["user"]
        with runtime.session() as session:
            summaries = initiatives_for_user(
                session=session, team_id=context["team_id"], user_id=user_id, now=runtime.clock.now()
            )
        client.views_publish(user_id=user_id, view=render_home(summaries))

    app.event("app_home_opened")(ack=ack_only, lazy=[publish_home])

    @app.event("user_change")
    def refresh_profile(event: dict[str, Any], context: dict[str, Any], client: WebClient) -> None:
        user = event["user"]
        team_id = user.get("team_id") or context["team_id"]
        with runtime.session() as session:
            PeopleService(
                session=session,
                directory=SlackUserDirectory(client),
                team_id=team_id,
                now=runtime.clock.now(),
            ).remember(profile_from_slack(user))
