"""Pushing Slack's changes to Jira: transitions with a comment, and remote links back to the thread.

What cannot be delivered now (Jira down, rate-limiting beyond our patience, 5xx) waits in the `jira_push`
outbox and is retried with backoff; what Jira refuses for good ends `failed`, and the person and the thread are
told once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.checkpoints import Located
from bot.errors import HandoffError, Problem
from bot.jira_gateway import JiraAuthFailed, JiraError, JiraGateway, JiraTransition
from bot.people import cached_display_name
from storage import jira as queries
from storage.models import Checkpoint, JiraPush, JiraPushState

log = logging.getLogger(__name__)
Sessions = Callable[[], AbstractContextManager[Session]]

ACTION_DONE = "done"
ACTION_REOPEN = "reopen"
ACTION_REMOTE_LINK = "remote_link"
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(hours=24)
LEASE = timedelta(minutes=5)  # a deliverer that died mid-push lets another take over after this


class NoMatchingTransition(HandoffError):
    """Jira's workflow offers no way from the issue's current status into (or out of) the done category."""

    def __init__(self, issue_key: str, done: bool, available: Sequence[JiraTransition]):
        goal = "into a Done status" if done else "out of Done"
        if available:
            listed = ", ".join(f"{t.name} → {t.to_status}" for t in available)
            offered = f" From its current status Jira offers: {listed}."
        else:
            offered = " Jira offers no transitions from its current status."
        # Said to the person at once, before the checkpoint changes; a push from the outbox reports `reason` alone,
        # since by then the checkpoint has changed.
        self.reason = f"I can't move {issue_key} {goal}.{offered}"
        super().__init__(Problem.NO_MATCHING_TRANSITION, reason=self.reason)
        self.issue_key = issue_key
        self.available = list(available)


def pick_transition(transitions: Sequence[JiraTransition], *, done: bool) -> JiraTransition | None:
    """Into the `done` category; or, to reopen, back to `new` (To Do), else any not-done status."""
    if done:
        return next((t for t in transitions if t.to_category == "done"), None)
    for category in ("new", "indeterminate"):
        found = next((t for t in transitions if t.to_category == category), None)
        if found is not None:
            return found
    return next((t for t in transitions if t.to_category and t.to_category != "done"), None)


@dataclass(frozen=True)
class PushRequest:
    """A done/reopen to tell Jira about, or a remote link to (re)create."""

    issue_key: str
    action: str
    actor_id: str
    actor_name: str
    thread_url: str | None
    initiative_name: str


@dataclass(frozen=True)
class PushOutcome:
    """How far one attempt got: where the issue is, and what failed, if anything."""

    position: tuple[str, str] | None  # the issue's (status, category), when known to be where the push goes
    transitioned: bool  # the issue is where the push goes; a retry only adds the comment
    error: JiraError | None = None


def attempt_push(gateway: JiraGateway, request: PushRequest, *, transitioned: bool = False) -> PushOutcome:
    """Deliver one push and find out where the issue ended up, even when part of it failed.

    Raises NoMatchingTransition when Jira's workflow offers no way there; every Jira failure is in the outcome.
    """
    if request.action == ACTION_REMOTE_LINK:
        try:
            link_remote(gateway, request)
        except JiraError as error:
            return PushOutcome(position=None, transitioned=False, error=error)
        return PushOutcome(position=None, transitioned=False)
    done = request.action == ACTION_DONE
    position: tuple[str, str] | None = None
    try:
        if not transitioned:
            # Someone may have moved the issue in Jira before a sync noticed, or an earlier attempt moved it and
            # failed on the comment: then it only gets the comment. Workflows rarely offer a transition into the
            # category an issue is already in, and reopening an open issue must not push it on to another status.
            position = already_there(gateway, request.issue_key, done=done)
        position = push(gateway, request, transitioned=transitioned or position is not None) or position
    except JiraError as error:
        if not transitioned and position is None:
            # The transition may have gone through before the comment failed; it must not be repeated.
            position = already_there(gateway, request.issue_key, done=done, quietly=True)
        return PushOutcome(position=position, transitioned=transitioned or position is not None, error=error)
    return PushOutcome(position=position, transitioned=True)


def already_there(gateway: JiraGateway, key: str, *, done: bool, quietly: bool = False) -> tuple[str, str] | None:
    """The issue's (status, category) when it already is where the checkpoint is going (done, or not done).

    `quietly`: a Jira that does not answer means "not known to be there" instead of an error.
    """
    try:
        issue = gateway.issue(key)
    except JiraError:
        if quietly:
            return None
        raise
    if (issue.status_category == "done") != done:
        return None
    return issue.status, issue.status_category


def push(gateway: JiraGateway, request: PushRequest, *, transitioned: bool = False) -> tuple[str, str] | None:
    """Deliver one push; returns the (status, category) a transition moved the issue to.

    `transitioned` says an earlier attempt already moved the issue, so only the comment is left to add.
    """
    if request.action == ACTION_REMOTE_LINK:
        link_remote(gateway, request)
        return None
    done = request.action == ACTION_DONE
    moved_to: tuple[str, str] | None = None
    if not transitioned:
        available = gateway.transitions(request.issue_key)
        chosen = pick_transition(available, done=done)
        if chosen is None:
            raise NoMatchingTransition(request.issue_key, done, available)
        gateway.transition(request.issue_key, chosen.id)
        moved_to = (chosen.to_status, chosen.to_category)
    verb = "Marked done" if done else "Reopened"
    gateway.comment(
        request.issue_key,
        text=f"{verb} in Slack by {request.actor_name} (Handoff, {request.initiative_name}).",
        link_text="Open the Slack thread",
        link_url=request.thread_url or gateway.site_url,
    )
    return moved_to


def link_remote(gateway: JiraGateway, request: PushRequest) -> None:
    """Add (or refresh) the issue's link to the initiative's Slack thread."""
    if not request.thread_url:
        return
    gateway.upsert_remote_link(
        request.issue_key,
        global_id=global_link_id(request.thread_url),
        url=request.thread_url,
        title=f"Slack: {request.initiative_name} (Handoff)",
    )


def global_link_id(thread_url: str) -> str:
    """Stable per thread, so linking the same issue to the same thread again updates the one link."""
    return f"handoff-slack-thread={thread_url}"[:255]


def enqueue(
    *, session: Session, team_id: str, checkpoint_id: int, request: PushRequest, error: JiraError, now: datetime
) -> JiraPush:
    """Keep a push that could not be delivered; the first retry is due after `FIRST_RETRY`."""
    return queries.add_push(
        session=session,
        push=JiraPush(
            team_id=team_id,
            checkpoint_id=checkpoint_id,
            issue_key=request.issue_key,
            action=request.action,
            actor_id=request.actor_id,
            thread_url=request.thread_url,
            attempts=1,
            next_attempt_at=now + FIRST_RETRY,
            last_error=error.reason[:1000],
            created_at=now,
        ),
    )


def pending_by_checkpoint(*, session: Session, initiative_id: int) -> dict[int, int]:
    """How many pushes wait for Jira, by checkpoint id, in one initiative."""
    return queries.pending_pushes_by_checkpoint(session=session, initiative_id=initiative_id)


@dataclass(frozen=True)
class PushFailure:
    """A push Jira refused for good, to be told once to the person who made the change and to the thread."""

    push: JiraPush
    located: Located


def unreported_failures(*, session: Session) -> list[int]:
    """The pushes that failed for good and nobody was told about yet, oldest first."""
    return [push.id or 0 for push in queries.failed_unreported_pushes(session=session)]


def claim_failure_report(*, session: Session, push_id: int, now: datetime) -> PushFailure | None:
    """Take the duty of telling about a failed push; None if another reporter took it, or its initiative is gone."""
    if not queries.claim_failure_report(session=session, push_id=push_id, now=now):
        return None
    found = queries.push_with_place(session=session, push_id=push_id)
    if found is None:
        return None
    push, checkpoint, initiative = found
    return PushFailure(push, Located(initiative, checkpoint))


def pending_push_total(*, session: Session) -> int:
    """How many pushes wait to be delivered to Jira, in every workspace."""
    return sum(queries.pending_push_counts(session=session, initiative_ids=None).values())


@dataclass(frozen=True)
class DeliveryOutcome:
    push_id: int
    delivered: bool
    failed: bool
    error: str | None = None


def deliver_due_pushes(
    *,
    sessions: Sessions,
    gateway: JiraGateway,
    now: datetime,
    actor_name: Callable[[str, str], str] | None = None,
) -> list[DeliveryOutcome]:
    """Retry every push whose time has come; each is claimed first, so two deliverers never send one twice.

    `actor_name(team_id, user_id)` names who made the change in Jira's comment; by default their cached Slack name.
    """
    with sessions() as session:
        claimed = queries.claim_due_pushes(session=session, now=now, lease=LEASE)
    return [_deliver(sessions, gateway, push_id, now, actor_name) for push_id in claimed]


def _deliver(
    sessions: Sessions,
    gateway: JiraGateway,
    push_id: int,
    now: datetime,
    actor_name: Callable[[str, str], str] | None,
) -> DeliveryOutcome:
    with sessions() as session:
        found = queries.push_with_place(session=session, push_id=push_id)
        if found is None:
            return DeliveryOutcome(push_id, delivered=False, failed=True, error="gone")
        waiting, _checkpoint, initiative = found
        if actor_name is None:
            name = cached_display_name(session=session, team_id=waiting.team_id, user_id=waiting.actor_id)
        else:
            name = actor_name(waiting.team_id, waiting.actor_id)
        request = PushRequest(
            issue_key=waiting.issue_key,
            action=waiting.action,
            actor_id=waiting.actor_id,
            actor_name=name,
            thread_url=waiting.thread_url,
            initiative_name=initiative.name,
        )
        transitioned, attempts, created_at = waiting.transitioned, waiting.attempts, waiting.created_at
    try:
        outcome = attempt_push(gateway, request, transitioned=transitioned)
    except NoMatchingTransition as refusal:
        return _give_up(sessions, push_id, now, refusal.reason)
    failure = outcome.error
    if failure is not None:
        # Expired or revoked credentials are an admin's to fix; until then pushes wait, as through an outage.
        retryable = failure.transient or isinstance(failure, JiraAuthFailed)
        if retryable and now - created_at < GIVE_UP_AFTER:
            with sessions() as session:
                _reschedule(session, push_id, attempts + 1, now, failure.reason, outcome.transitioned)
            log.warning("Jira push will be retried", extra={"push": push_id, "error": failure.reason})
            return DeliveryOutcome(push_id, delivered=False, failed=False, error=failure.reason)
        if not outcome.transitioned:
            return _give_up(sessions, push_id, now, failure.reason)
        # The issue moved and only the comment was refused: the checkpoint and Jira agree, which is what counts.
        log.warning("Jira moved the issue but refused the comment", extra={"push": push_id, "error": failure.reason})
    with sessions() as session:
        _finish(session, push_id, now, JiraPushState.DELIVERED, failure.reason if failure else None)
        if outcome.position is not None:
            row = session.get(JiraPush, push_id)
            checkpoint = session.get(Checkpoint, row.checkpoint_id) if row else None
            if checkpoint is not None:
                checkpoint.jira_status, checkpoint.jira_status_category = outcome.position
                session.add(checkpoint)
    return DeliveryOutcome(push_id, delivered=True, failed=False)


def _give_up(sessions: Sessions, push_id: int, now: datetime, error: str) -> DeliveryOutcome:
    with sessions() as session:
        _finish(session, push_id, now, JiraPushState.FAILED, error)
    log.warning("Jira push failed for good", extra={"push": push_id, "error": error})
    return DeliveryOutcome(push_id, delivered=False, failed=True, error=error)


def _reschedule(session: Session, push_id: int, attempts: int, now: datetime, error: str, transitioned: bool) -> None:
    row = session.get(JiraPush, push_id)
    if row is None:
        return
    delay = min(LONGEST_RETRY, FIRST_RETRY * (2 ** max(0, attempts - 1)))
    row.attempts, row.next_attempt_at, row.claimed_until = attempts, now + delay, None
    row.last_error, row.transitioned = error[:1000], transitioned
    session.add(row)


def _finish(session: Session, push_id: int, now: datetime, state: JiraPushState, error: str | None) -> None:
    row = session.get(JiraPush, push_id)
    if row is None:
        return
    row.state, row.finished_at, row.claimed_until = state.value, now, None
    if error is not None:
        row.last_error = error[:1000]
    row.attempts += 1
    session.add(row)
