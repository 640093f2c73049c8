"""Events: App Home, cached profiles, Jira keys mentioned in initiative threads, and Jira link unfurls.

Slack retries an event it thinks we missed, with the same `event_id`; each is acted on once.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.checkpoints import mention_value, render_jira_mention, render_unfurl
from bot.checkpoints import linked_checkpoint
from bot.event_dedupe import claim_event
from bot.home import record_opened
from bot.jira_gateway import JiraError
from bot.jira_mentions import (
    Mention,
    claim_mention,
    initiatives_for_message,
    issue_key_in_url,
    mention_answered,
    mentioned_keys,
    projects_of,
    release_mention,
)
from bot.people import PeopleService
from bot.runtime import Runtime
from handlers.actions import ack_only
from handlers.checkpoints import interactive_jira
from handlers.errors import after_ack
from handlers.home import portfolio_chart, publish_home
from handlers.slack_people import SlackUserDirectory, profile_from_slack
from handlers.tenancy import tenant_of

log = logging.getLogger(__name__)
# Messages people write; edits, deletions, joins and bots' posts are not conversation about Jira.
CONVERSATION_SUBTYPES = frozenset({None, "thread_broadcast", "file_share"})


def register(app: App, runtime: Runtime) -> None:
    @after_ack
    def open_home(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        team_id, user_id = tenant_of(context), event["user"]
        with runtime.session() as session:
            record_opened(session=session, team_id=team_id, user_id=user_id, now=runtime.clock.now())
        portfolio = portfolio_chart(runtime, client, team_id=team_id)
        publish_home(runtime, client, team_id=team_id, user_id=user_id, portfolio=portfolio)

    app.event("app_home_opened")(ack=ack_only, lazy=[open_home])

    @app.event("user_change")
    def refresh_profile(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        with runtime.session() as session:
            PeopleService(
                session=session,
                directory=SlackUserDirectory(client),
                team_id=tenant_of(context),
                now=runtime.clock.now(),
            ).remember(profile_from_slack(event["user"]))

    def first_delivery(body: dict[str, Any]) -> bool:
        event_id = body.get("event_id")
        if not event_id:
            return True
        with runtime.session() as session:
            return claim_event(session=session, event_id=str(event_id), now=runtime.clock.now())

    @after_ack
    def reply_to_jira_mentions(
        body: dict[str, Any], event: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        gateway = interactive_jira(runtime)
        if gateway is None or event.get("bot_id") or event.get("subtype") not in CONVERSATION_SUBTYPES:
            return
        team_id, channel_id = tenant_of(context), event["channel"]
        root = event.get("thread_ts") or event["ts"]
        with runtime.session() as session:
            initiatives = initiatives_for_message(
                session=session, team_id=team_id, channel_id=channel_id, thread_ts=event.get("thread_ts")
            )
            if not initiatives:
                return
            keys = mentioned_keys(
                event.get("text") or "",
                projects=projects_of(session=session, team_id=team_id),
                site_url=gateway.site_url,
            )
        if not keys or not first_delivery(body):
            return
        for key in keys:
            mention = Mention(channel_id=channel_id, thread_ts=root, issue_key=key)
            with runtime.session() as session:
                if mention_answered(session=session, mention=mention):
                    continue
            try:
                issue = gateway.issue(key)
            except JiraError as error:
                # Unclaimed, so the next mention of this key in the thread gets its reply once Jira answers.
                log.info("mentioned Jira issue not shown", extra={"issue": key, "error": error.reason})
                continue
            with runtime.session() as session:
                if not claim_mention(session=session, mention=mention, now=runtime.clock.now()):
                    continue  # another replica replied meanwhile
                linked = linked_checkpoint(session=session, team_id=team_id, jira_key=key)
                linked_ref = linked.ref if linked else None
            message = render_jira_mention(
                issue, linkable=True, linked_ref=linked_ref, value=mention_value(key, [i.id or 0 for i in initiatives])
            )
            try:
                client.chat_postMessage(channel=channel_id, thread_ts=root, **message.as_kwargs())
            except SlackApiError:
                with runtime.session() as session:
                    release_mention(session=session, mention=mention)
                raise

    app.event("message")(ack=ack_only, lazy=[reply_to_jira_mentions])

    @after_ack
    def unfurl_jira_links(body: dict[str, Any], event: dict[str, Any], client: WebClient) -> None:
        gateway = interactive_jira(runtime)
        if gateway is None or not first_delivery(body):
            return
        unfurls: dict[str, Any] = {}
        for link in event.get("links") or []:
            url = link.get("url") or ""
            key = issue_key_in_url(url, gateway.site_url)
            if key is None:
                continue
            try:
                unfurls[url] = render_unfurl(gateway.issue(key))
            except JiraError as error:
                log.info("Jira link not unfurled", extra={"issue": key, "error": error.reason})
        if not unfurls:
            return
        if event.get("unfurl_id") and event.get("source"):
            client.chat_unfurl(unfurl_id=event["unfurl_id"], source=event["source"], unfurls=unfurls)
        else:
            client.chat_unfurl(channel=event["channel"], ts=event["message_ts"], unfurls=unfurls)

    app.event("link_shared")(ack=ack_only, lazy=[unfurl_jira_links])
