"""Pulling Jira into checkpoints: the periodic sync and the webhook share one way of applying an issue's state.

A change is applied with a compare-and-set on the stored status, so a sync and a webhook (or two replicas)
that see the same change at once log it, and therefore post it, exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from bot.checkpoints import Located, status_for_category
from bot.jira_gateway import (
    MAX_KEYS_PER_QUERY,
    JiraError,
    JiraGateway,
    JiraIssue,
    JiraRejected,
    issue_from_json,
    missing_issue_fields,
)
from bot.jira_push import ACTION_DONE, ACTION_REOPEN
from storage import checkpoints as checkpoint_queries
from storage import jira as jira_queries
from storage.idempotency import claim_all_once
from storage.models import Checkpoint, CheckpointStatus, JiraStatusChange

log = logging.getLogger(__name__)
Sessions = Callable[[], AbstractContextManager[Session]]

FULL_SYNC_EVERY = timedelta(hours=24)
# JQL has minute precision and the two clocks are only roughly aligned: ask again for a few minutes already seen.
WATERMARK_OVERLAP = timedelta(minutes=5)
WEBHOOK_SCOPE = "jira_webhook"
POST_CLAIM_LAPSES = timedelta(minutes=10)  # a poster that died after claiming a change lets another post it after this


@dataclass
class SyncReport:
    """What one sync did, for the log, the command line and the benchmark."""

    mode: str  # full or incremental
    linked: int = 0
    fetched: int = 0
    changed: int = 0
    status_changes: int = 0
    missing: set[str] = field(default_factory=set)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def sync_jira(*, sessions: Sessions, gateway: JiraGateway, now: datetime, full: bool | None = None) -> SyncReport:
    """Refresh every linked checkpoint from Jira: in full daily and on first run, incrementally otherwise.

    A failed sync changes no checkpoint and leaves the watermark where it was; only `last_error` is written.
    """
    with sessions() as session:
        state = jira_queries.get_sync_state(session=session)
        state.last_attempt_at = now
        known = checkpoint_queries.linked_issue_keys(session=session)
        projects = checkpoint_queries.linked_projects(session=session)
        if full is None:
            full = state.watermark is None or state.last_full_at is None or now - state.last_full_at >= FULL_SYNC_EVERY
        watermark = state.watermark
    report = SyncReport(mode="full" if full else "incremental", linked=len(known))
    try:
        # With nothing linked there is nothing to ask Jira, and no Jira time to move the watermark to.
        started = gateway.jira_now() if known else None
        issues: list[JiraIssue] = []
        if not known:
            pass
        elif full or watermark is None:
            issues = list(_full(gateway, sorted(known), report))
        else:
            try:
                issues = [
                    i for i in gateway.search_updated_since(projects, watermark - WATERMARK_OVERLAP) if i.key in known
                ]
            except JiraRejected:
                # A project was renamed or deleted: the incremental query is invalid, a full pass is not.
                report.mode, full = "full", True
                issues = list(_full(gateway, sorted(known), report))
    except JiraError as error:
        report.error = error.reason
        with sessions() as session:
            jira_queries.get_sync_state(session=session).last_error = error.reason[:1000]
        log.warning("Jira sync failed", extra={"mode": report.mode, "error": error.reason})
        return report
    report.fetched = len(issues)
    for issue in issues:
        seen_status, seen_updated = known.get(issue.key, (None, None))
        if seen_updated is not None and issue.updated is not None and issue.updated <= seen_updated:
            continue
        if seen_status == issue.status and seen_updated == issue.updated:
            continue
        with sessions() as session:
            changes = apply_issue_state(session=session, issue=issue, now=now)
        report.changed += 1
        report.status_changes += len(changes)
    if report.missing:
        log.warning("linked Jira issues not found", extra={"keys": ",".join(sorted(report.missing))})
    with sessions() as session:
        state = jira_queries.get_sync_state(session=session)
        if started is not None:
            state.watermark = started if state.watermark is None else max(state.watermark, started)
        state.last_success_at = now
        state.last_error = None
        if full:
            state.last_full_at = now
    log.info(
        "Jira sync finished",
        extra={"mode": report.mode, "linked": report.linked, "fetched": report.fetched, "changed": report.changed},
    )
    return report


def _full(gateway: JiraGateway, keys: Sequence[str], report: SyncReport) -> Iterator[JiraIssue]:
    for start in range(0, len(keys), MAX_KEYS_PER_QUERY):
        found = gateway.search_keys(keys[start : start + MAX_KEYS_PER_QUERY])
        report.missing |= found.missing
        yield from found.issues


def apply_issue_state(*, session: Session, issue: JiraIssue, now: datetime) -> list[JiraStatusChange]:
    """Bring every checkpoint linked to `issue` up to date; returns the status changes this call logged.

    News older than what is stored is ignored, so a late webhook cannot undo a newer sync; a state without a
    status is never applied, since a blank one would reopen a done checkpoint.
    """
    if not issue.status or not issue.status_category:
        log.warning("Jira issue state without a status not applied", extra={"issue": issue.key})
        return []
    logged = []
    for checkpoint in checkpoint_queries.checkpoints_linked_to(session=session, jira_key=issue.key):
        if checkpoint.jira_updated_at and issue.updated and issue.updated < checkpoint.jira_updated_at:
            continue
        change = _apply_to_checkpoint(session, checkpoint, issue, now)
        if change is not None:
            logged.append(change)
    return logged


def _pushed_from_slack(session: Session, checkpoint_id: int, category: str) -> bool:
    """Whether a push still waiting or in flight (on this replica or another) moves the issue to `category`: the
    change is Slack's own, already told in the thread, and Jira is only catching up (a sync on another replica may
    see the push's transition before its deliverer has recorded it)."""
    done = category == "done"
    return any(
        push.action == (ACTION_DONE if done else ACTION_REOPEN)
        for push in jira_queries.pending_pushes_for_checkpoint(session=session, checkpoint_id=checkpoint_id)
    )


def _apply_to_checkpoint(
    session: Session, checkpoint: Checkpoint, issue: JiraIssue, now: datetime
) -> JiraStatusChange | None:
    values: dict[str, Any] = {
        "jira_summary": issue.summary[:512],
        "jira_status": issue.status[:128],
        "jira_status_category": issue.status_category[:16],
        "jira_assignee": issue.assignee[:255] if issue.assignee else None,
    }
    if issue.updated is not None:  # an unknown update time leaves the known one, which guards against stale news
        values["jira_updated_at"] = issue.updated
    # Read before the update: the row is expired after it, and the log must name the status it moved from.
    checkpoint_id, old_status = checkpoint.id or 0, checkpoint.jira_status
    status_moved = old_status != issue.status
    effect = None
    if status_moved:
        was_done = checkpoint.status == CheckpointStatus.DONE.value
        target = status_for_category(issue.status_category)
        if target is CheckpointStatus.DONE and not was_done:
            values.update(status=target.value, done_by=None, done_at=now)
            effect = "done"
        elif target is not CheckpointStatus.DONE and was_done:
            values.update(status=target.value, done_by=None, done_at=None)
            effect = "reopened"
        elif not was_done:
            values["status"] = target.value
    won = checkpoint_queries.compare_and_set_jira_status(
        session=session, checkpoint_id=checkpoint_id, expected_status=old_status, values=values
    )
    session.expire(checkpoint)
    if not won or not status_moved or _pushed_from_slack(session, checkpoint_id, issue.status_category):
        return None
    return jira_queries.add_status_change(
        session=session,
        change=JiraStatusChange(
            checkpoint_id=checkpoint_id,
            issue_key=issue.key,
            summary=issue.summary[:512],
            from_status=old_status,
            to_status=issue.status[:128],
            to_category=issue.status_category[:16],
            changed_at=issue.updated or now,
            checkpoint_effect=effect,
            logged_at=now,
        ),
    )


@dataclass(frozen=True)
class StatusChangePost:
    """A logged status change, and the checkpoint it moved, in whose initiative's thread it is posted."""

    change: JiraStatusChange
    located: Located


def claim_status_changes(*, session: Session, now: datetime) -> list[int]:
    """Claim the status changes nobody has posted (or whose poster died), oldest first; returns their ids."""
    return jira_queries.claim_unposted_status_changes(session=session, now=now, stale_after=POST_CLAIM_LAPSES)


def status_change_post(*, session: Session, change_id: int) -> StatusChangePost | None:
    """A status change with its checkpoint and initiative; None if any of them is gone."""
    found = jira_queries.status_change_with_place(session=session, change_id=change_id)
    if found is None:
        return None
    change, checkpoint, initiative = found
    return StatusChangePost(change, Located(initiative, checkpoint))


def unposted_status_changes(*, session: Session) -> list[StatusChangePost]:
    """Every status change not yet posted, claimed or not, oldest first; nothing is claimed."""
    waiting = jira_queries.unposted_status_changes(session=session)
    posts = (status_change_post(session=session, change_id=change.id or 0) for change in waiting)
    return [post for post in posts if post is not None]


def status_change_posted(*, session: Session, change_id: int, now: datetime) -> None:
    """The change is in its thread; it is never posted again."""
    jira_queries.mark_status_change_posted(session=session, change_id=change_id, now=now)


def release_status_change(*, session: Session, change_id: int) -> None:
    """Give a claimed change back (its post failed, or it waits for a run of its own channel) for a later run."""
    jira_queries.release_status_change(session=session, change_id=change_id)


@dataclass(frozen=True)
class WebhookResult:
    duplicate: bool = False
    ignored: str | None = None  # why nothing was applied
    status_changes: int = 0


def apply_webhook(
    *,
    sessions: Sessions,
    payload: dict[str, Any],
    delivery_id: str | None,
    now: datetime,
    site_url: str,
    gateway: JiraGateway | None,
) -> WebhookResult:
    """Apply a `jira:issue_updated` delivery once: deliveries are deduplicated by Jira's webhook identifier
    and by the issue's changelog id (a redelivery may come with either).

    A delivery that lacks part of the issue's state is never applied as it stands: the issue is fetched through
    `gateway`, and if that fails the delivery is ignored (the sync picks the change up).
    """
    if payload.get("webhookEvent") != "jira:issue_updated":
        return WebhookResult(ignored=f"event {payload.get('webhookEvent')!r} is not handled")
    raw_issue = payload.get("issue")
    if not isinstance(raw_issue, dict) or not raw_issue.get("key"):
        return WebhookResult(ignored="no issue in the payload")
    issue, unusable = _delivered_state(sessions, raw_issue, site_url, gateway)
    if issue is None:
        log.warning("Jira webhook ignored", extra={"issue": raw_issue.get("key"), "reason": unusable})
        return WebhookResult(ignored=unusable)
    keys = []
    if delivery_id:
        keys.append(f"delivery:{delivery_id}")
    changelog_id = (payload.get("changelog") or {}).get("id")
    if changelog_id:
        keys.append(f"changelog:{raw_issue.get('id') or issue.key}:{changelog_id}")
    with sessions() as session:
        if keys and not claim_all_once(session=session, scope=WEBHOOK_SCOPE, keys=keys, now=now):
            return WebhookResult(duplicate=True)
        changes = apply_issue_state(session=session, issue=issue, now=now)
    return WebhookResult(status_changes=len(changes))


def _delivered_state(
    sessions: Sessions, raw_issue: dict[str, Any], site_url: str, gateway: JiraGateway | None
) -> tuple[JiraIssue | None, str | None]:
    """The issue's state from a delivery, or from Jira when the delivery lacks part of it; else why there is none."""
    missing = missing_issue_fields(raw_issue)
    if not missing:
        return issue_from_json(raw_issue, site_url), None
    key = str(raw_issue["key"])
    lacking = f"the delivery for {key} lacks {', '.join(missing)}"
    with sessions() as session:
        linked = bool(checkpoint_queries.checkpoints_linked_to(session=session, jira_key=key))
    if not linked:
        return None, f"{lacking}, and no checkpoint is linked to it"
    if gateway is None:
        return None, f"{lacking}, and without Jira settings it cannot be fetched"
    try:
        return gateway.issue(key), None
    except JiraError as error:
        return None, f"{lacking}, and fetching it from Jira failed ({error.reason}); the sync will pick it up"
