"""The Slack side of the Jira jobs: deliver waiting pushes, pull changes, and post what changed in threads.

`run_jira_sync` is the one function the command line (and the scheduler) calls. Posting goes through the
database's claim on each row, so a restart or a second replica never posts a change twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.base import Message
from bot.blocks.checkpoints import render_push_failure, render_status_change
from bot.blocks.plain import message_as_text
from bot.errors import HandoffError, Problem
from bot.jira_gateway import JiraGateway
from bot.jira_push import PushFailure, claim_failure_report, deliver_due_pushes, pending_push_total, unreported_failures
from bot.jira_sync import (
    SyncReport,
    claim_status_changes,
    release_status_change,
    status_change_post,
    status_change_posted,
    sync_jira,
    unposted_status_changes,
)
from bot.runtime import Runtime
from handlers.posting import post_in_thread, post_message

log = logging.getLogger(__name__)
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
    outcomes = deliver_due_pushes(sessions=runtime.session, gateway=gateway, now=now)
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
    with runtime.session() as session:
        claimed = claim_status_changes(session=session, now=runtime.clock.now())
    posted = 0
    for change_id in claimed:
        with runtime.session() as session:
            post = status_change_post(session=session, change_id=change_id)
        if post is None:
            continue
        if channel_id is not None and post.located.initiative.home_channel_id != channel_id:
            with runtime.session() as session:
                release_status_change(session=session, change_id=change_id)
            continue
        message = render_status_change(post.change, post.located.ref, jira_url=runtime.jira_url)
        try:
            post_in_thread(client, initiative=post.located.initiative, message=message)
        except (HandoffError, SlackApiError) as error:
            log.warning("status change not posted; will retry", extra={"change": change_id, "error": str(error)})
            with runtime.session() as session:
                release_status_change(session=session, change_id=change_id)
            continue
        with runtime.session() as session:
            status_change_posted(session=session, change_id=change_id, now=runtime.clock.now())
        posted += 1
    return posted


def preview_status_changes(runtime: Runtime, *, channel_id: str | None = None) -> list[str]:
    """The Jira status changes waiting to be posted (in `channel_id`'s initiatives, if given), as text
    (`run jira-sync --dry-run`); nothing is claimed."""
    with runtime.session() as session:
        waiting = unposted_status_changes(session=session)
        pending = pending_push_total(session=session)
    lines = []
    for post in waiting:
        if channel_id is not None and post.located.initiative.home_channel_id != channel_id:
            continue
        message = render_status_change(post.change, post.located.ref, jira_url=runtime.jira_url)
        lines.append(f"--- in the thread of {post.located.initiative.name} ---\n{message_as_text(message)}")
    lines.append(f"{len(lines)} status changes waiting to be posted; {pending} changes waiting to be sent to Jira.")
    return lines


def report_failed_pushes(runtime: Runtime, client: WebClient, gateway: JiraGateway) -> int:
    """Tell the person and the thread, once, about each push Jira refused for good."""
    now = runtime.clock.now()
    with runtime.session() as session:
        failed = unreported_failures(session=session)
    told = 0
    for push_id in failed:
        with runtime.session() as session:
            failure = claim_failure_report(session=session, push_id=push_id, now=now)
        if failure is None:
            continue
        push = failure.push
        message = render_push_failure(
            failure.located.ref,
            push.issue_key,
            push.action,
            push.last_error or "Jira refused the change.",
            jira_url=gateway.site_url,
        )
        _tell(client, failure, message)
        told += 1
    return told


def _tell(client: WebClient, failure: PushFailure, message: Message) -> None:
    """The thread and the person both hear of it; one failing does not keep the other from it."""
    push_id = failure.push.id
    try:
        post_in_thread(client, initiative=failure.located.initiative, message=message)
    except (HandoffError, SlackApiError) as error:
        log.warning("push failure not posted in the thread", extra={"push": push_id, "error": str(error)})
    try:
        post_message(client, channel_id=failure.push.actor_id, message=message)
    except (HandoffError, SlackApiError) as error:
        log.warning("push failure not sent to the person", extra={"push": push_id, "error": str(error)})
