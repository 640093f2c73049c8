"""The Slack side of the Jira jobs: deliver waiting pushes, pull changes, and post what changed in threads.

`run_jira_sync` is the one function the command line (and the scheduler) calls. Posting goes through the
database's claim on each row, so a restart or a second replica never posts a change twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.base import Message
from bot.blocks.checkpoints import render_push_failure, render_status_change
from bot.blocks.plain import message_as_text
from bot.checkpoints import reference_of
from bot.errors import HandoffError, Problem
from bot.jira_gateway import JiraGateway
from bot.jira_push import deliver_due_pushes
from bot.jira_sync import SyncReport, sync_jira
from bot.runtime import Runtime
from handlers.slack_io import post_in_thread, post_message
from storage import jira as jira_queries
from storage.models import Checkpoint, Initiative, JiraPush, JiraStatusChange
from storage.users import get_cached_user

log = logging.getLogger(__name__)
STALE_CLAIM = timedelta(minutes=10)  # a poster that died after claiming lets another post after this
BACKGROUND_PATIENCE_SECONDS = 300.0


@dataclass(frozen=True)
class JobReport:
    sync: SyncReport | None
    pushes_delivered: int
    pushes_failed: int
    changes_posted: int


def run_jira_sync(
    runtime: Runtime, client: WebClient, *, full: bool | None = None, channel_id: str | None = None
) -> JobReport:
    """One run of the Jira job: pushes first (so the pull sees their effect), then the pull, then the posts."""
    if runtime.jira is None:
        raise HandoffError(Problem.JIRA_NOT_CONFIGURED)
    gateway = runtime.jira.with_patience(BACKGROUND_PATIENCE_SECONDS)
    now = runtime.clock.now()
    outcomes = deliver_due_pushes(
        sessions=runtime.session, gateway=gateway, now=now, actor_name=lambda team, user: _name(runtime, team, user)
    )
    report = sync_jira(sessions=runtime.session, gateway=gateway, now=now, full=full)
    posted = post_status_changes(runtime, client, channel_id=channel_id)
    report_failed_pushes(runtime, client, gateway)
    return JobReport(
        sync=report,
        pushes_delivered=sum(1 for o in outcomes if o.delivered),
        pushes_failed=sum(1 for o in outcomes if o.failed),
        changes_posted=posted,
    )


def post_status_changes(runtime: Runtime, client: WebClient, *, channel_id: str | None = None) -> int:
    """Post every logged Jira status change not yet posted (with `channel_id`, only those of initiatives homed
    there: the others wait for the next run); a failed post is released for the next run."""
    now = runtime.clock.now()
    with runtime.session() as session:
        claimed = jira_queries.claim_unposted_status_changes(session=session, now=now, stale_after=STALE_CLAIM)
    posted = 0
    for change_id in claimed:
        with runtime.session() as session:
            change = session.get(JiraStatusChange, change_id)
            checkpoint = session.get(Checkpoint, change.checkpoint_id) if change else None
            initiative = session.get(Initiative, checkpoint.initiative_id) if checkpoint else None
        if change is None or checkpoint is None or initiative is None:
            continue
        if channel_id is not None and initiative.home_channel_id != channel_id:
            with runtime.session() as session:
                jira_queries.release_status_change(session=session, change_id=change_id)
            continue
        message = render_status_change(change, reference_of(initiative, checkpoint), jira_url=runtime.jira_url)
        try:
            post_in_thread(client, initiative=initiative, message=message)
        except (HandoffError, SlackApiError) as error:
            log.warning("status change not posted; will retry", extra={"change": change_id, "error": str(error)})
            with runtime.session() as session:
                jira_queries.release_status_change(session=session, change_id=change_id)
            continue
        with runtime.session() as session:
            jira_queries.mark_status_change_posted(session=session, change_id=change_id, now=runtime.clock.now())
        posted += 1
    return posted


def preview_status_changes(runtime: Runtime, *, channel_id: str | None = None) -> list[str]:
    """The Jira status changes waiting to be posted (in `channel_id`'s initiatives, if given), as text
    (`run jira-sync --dry-run`); nothing is claimed."""
    with runtime.session() as session:
        waiting = jira_queries.unposted_status_changes(session=session)
        lines = []
        for change in waiting:
            checkpoint = session.get(Checkpoint, change.checkpoint_id)
            initiative = session.get(Initiative, checkpoint.initiative_id) if checkpoint else None
            if checkpoint is None or initiative is None:
                continue
            if channel_id is not None and initiative.home_channel_id != channel_id:
                continue
            message = render_status_change(change, reference_of(initiative, checkpoint), jira_url=runtime.jira_url)
            lines.append(f"--- in the thread of {initiative.name} ---\n{message_as_text(message)}")
        pending = sum(jira_queries.pending_push_counts(session=session, initiative_ids=None).values())
    lines.append(f"{len(lines)} status changes waiting to be posted; {pending} changes waiting to be sent to Jira.")
    return lines


def report_failed_pushes(runtime: Runtime, client: WebClient, gateway: JiraGateway) -> int:
    """Tell the person and the thread, once, about each push Jira refused for good."""
    now = runtime.clock.now()
    with runtime.session() as session:
        failed = [p.id or 0 for p in jira_queries.failed_unreported_pushes(session=session)]
    told = 0
    for push_id in failed:
        with runtime.session() as session:
            if not jira_queries.claim_failure_report(session=session, push_id=push_id, now=now):
                continue
            push = session.get(JiraPush, push_id)
            checkpoint = session.get(Checkpoint, push.checkpoint_id) if push else None
            initiative = session.get(Initiative, checkpoint.initiative_id) if checkpoint else None
        if push is None or checkpoint is None or initiative is None:
            continue
        message = render_push_failure(
            reference_of(initiative, checkpoint),
            push.issue_key,
            push.action,
            push.last_error or "Jira refused the change.",
            jira_url=gateway.site_url,
        )
        _tell(client, push_id, message, thread_of=initiative, user_id=push.actor_id)
        told += 1
    return told


def _tell(client: WebClient, push_id: int, message: Message, *, thread_of: Initiative, user_id: str) -> None:
    """The thread and the person both hear of it; one failing does not keep the other from it."""
    try:
        post_in_thread(client, initiative=thread_of, message=message)
    except (HandoffError, SlackApiError) as error:
        log.warning("push failure not posted in the thread", extra={"push": push_id, "error": str(error)})
    try:
        post_message(client, channel_id=user_id, message=message)
    except (HandoffError, SlackApiError) as error:
        log.warning("push failure not sent to the person", extra={"push": push_id, "error": str(error)})


def _name(runtime: Runtime, team_id: str, user_id: str) -> str:
    with runtime.session() as session:
        cached = get_cached_user(session=session, team_id=team_id, user_id=user_id)
    return (cached.real_name or cached.name) if cached else user_id
