"""The Slack side of every scheduled delivery: pace, post, and record each part on its slot's claim.

Jobs hand their deliveries over as soon as each slot is claimed and composed; a few senders post them while the
next are composed, each taking the delivery whose destination's turn comes first and never two posts to one
destination at once, so a run takes about as long as composing everything, as its busiest channel's pace or as the
workspace's budget, whichever is longest, and a slow round trip to Slack no longer sets the pace. Each post names
its slot run and part in its message metadata, so whoever takes over a lapsed claim asks Slack what is already
there instead of posting it twice. Whether a slot is done, retried or given up is the ledger's (`bot.slot_ledger`).
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlmodel import Session

from bot.blocks.base import Message
from bot.channel_settings import disable_for_slack_error
from bot.errors import SlackChannelUnavailable
from bot.posting_budget import NEVER_BOOKED
from bot.retry_after import retry_after_seconds
from bot.runtime import Runtime
from bot.slot_ledger import Claim, JobRunState, OnDone
from handlers.posting import post_message

log = logging.getLogger(__name__)
SLOT_POST_EVENT = "handoff_slot_post"  # message metadata that names the slot run and part a post belongs to
# Posts in flight at once, each to its own destination. Slack paces each channel and the workspace, not the app's
# connections, so one post at a time caps throughput at one a round trip: at 250 ms, 240 a minute, under even the
# default budget of 300. Enough senders keep the workspace's budget with a round trip of `SLOW_ROUND_TRIP_S` (Slack's
# answer plus booking the turn and recording the post); a few at the least, so the busiest channels' continuations
# can wait for their turns beside the rest; and a bound, as each sender books and records its posts in the database.
SLOW_ROUND_TRIP_S = 0.4
MIN_SENDERS, MAX_SENDERS = 4, 32


@dataclass
class Delivery:
    """Messages for one destination of a workspace: the first in the channel, the rest in its thread."""

    workspace: str  # the team whose posting budget the messages spend
    destination: str
    messages: list[Message]
    claim: Claim | None = None  # the claimed slot; None for a direct message that rides along with one
    posted: int = 0
    root_ts: str | None = None
    # Runs in the transaction that marks the slot done: what must be recorded only once it was all posted.
    on_done: OnDone | None = None
    # Taken over from a holder that may have died just after posting: ask Slack what is already there.
    resumed_since: datetime | None = None
    # Where to read that history when `destination` is a person: history needs their DM's channel id.
    history_channel: str | None = None
    # When it last joined the deliveries waiting for a sender: they are taken in turn from then.
    waiting_since: datetime = NEVER_BOOKED
    # A run someone asked for (`digest now`, `--force`) fails in front of them instead of retrying behind them.
    retry: bool = True
    # `handoff run` without `--force`: a failed post leaves the day's slot free at once, for the operator's next
    # run (or the next sweep) to post, instead of waiting out a backoff.
    retry_at_once: bool = False
    posted_channel: str | None = None  # where the first message went (a user id resolves to their DM channel)
    # What to do when Slack refuses the destination for good; None: it is a channel, whose digest is turned off.
    on_refused: Callable[[str], None] | None = None

    @classmethod
    def of(cls, claim: Claim, workspace: str, destination: str, messages: list[Message]) -> Delivery:
        """A claimed slot's messages, from where its earlier holders stopped."""
        run = claim.run
        return cls(workspace, destination, messages, claim=claim, posted=run.parts_posted, root_ts=run.root_ts)

    @property
    def remaining(self) -> bool:
        return self.posted < len(self.messages)


@dataclass
class RunReport:
    posted: list[str] = field(default_factory=list)  # where each finished delivery went: channel or user ids
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    messages: int = 0

    def add_skipped(self, job: str, about: dict[str, str], key: str) -> None:
        self.skipped.append(f"{job} {' '.join(about.values())} {key}")


@dataclass
class _Posting:
    """One run's deliveries still to post, the destinations with a post in flight, and those Slack refused."""

    report: RunReport
    pending: list[Delivery] = field(default_factory=list)
    in_flight: set[tuple[str, str]] = field(default_factory=set)  # (workspace, destination)
    refused: set[str] = field(default_factory=set)
    composed: bool = False  # every batch is in: senders stop once nothing is pending or in flight
    idle: int = 0  # senders waiting for a delivery
    failures: list[Exception] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)


class Outbox:
    """Posts the deliveries of claimed slots for every job of this process, within each workspace's posting budget
    (shared with every replica)."""

    def __init__(self, runtime: Runtime, client: WebClient):
        self._runtime = runtime
        self._client = client
        self._budget = runtime.posting_budget
        self._posts = runtime.metrics.scheduled_posts
        self._stopping = threading.Event()
        self.senders = senders_for(runtime.settings.slack_posts_per_minute)
        self._running: dict[int, _Posting] = {}
        self._running_lock = threading.Lock()

    def stop(self) -> None:
        """The process is shutting down: finish the posts in flight, then release every claim still waiting, for
        another replica to take over at once instead of after its lease."""
        self._stopping.set()
        with self._running_lock:
            postings = list(self._running.values())
        for posting in postings:
            with posting.changed:
                posting.changed.notify_all()

    def deliver(self, batches: Iterable[list[Delivery]], report: RunReport) -> None:
        """Post each batch's deliveries as soon as it is composed, through up to `senders` senders that each take
        the waiting delivery whose destination's turn comes first, while the next batches are composed (no more
        than `senders` ahead); return once everything is posted. A failure in one delivery leaves the others to
        post, then is raised."""
        posting = _Posting(report)
        senders: list[threading.Thread] = []
        with self._running_lock:
            self._running[id(posting)] = posting
        try:
            for batch in batches:
                if self._stopping.is_set():
                    self._release(batch)
                    break
                ready = self._ready(batch, report)
                for delivery in ready:
                    delivery.waiting_since = self._runtime.clock.now()
                with posting.changed:
                    posting.pending.extend(ready)
                    posting.changed.notify_all()
                    # Another sender only when every one is busy: against a quick Slack one or two keep up, and
                    # each idle thread would only contend for the interpreter and the database.
                    wanted = min(self.senders - len(senders), len(posting.pending) - posting.idle)
                for _ in range(wanted):
                    sender = threading.Thread(
                        target=self._send, args=(posting,), name=f"outbox-sender-{len(senders)}", daemon=True
                    )
                    sender.start()
                    senders.append(sender)
                with posting.changed:
                    # Claim no further ahead than the senders post: a claim's lease runs from when it is taken, and
                    # what another replica has not claimed yet it can post in its own turns.
                    while len(posting.pending) >= self.senders and not self._stopping.is_set():
                        posting.changed.wait()
        finally:
            with posting.changed:
                posting.composed = True
                posting.changed.notify_all()
            for sender in senders:
                sender.join()
            with self._running_lock:
                del self._running[id(posting)]
            self._release(posting.pending)  # left only when stopping
        if posting.failures:
            raise posting.failures[0]

    def _ready(self, batch: list[Delivery], report: RunReport) -> list[Delivery]:
        """The batch's deliveries with something left to post; what a lapsed holder posted in full is recorded."""
        ready = []
        for delivery in batch:
            if delivery.resumed_since is not None:
                self._count_already_posted(delivery)
            if delivery.remaining:
                ready.append(delivery)
            elif delivery.claim is not None:  # all posted before a crash; only the record is missing
                self._complete(delivery, report)
        return ready

    def _send(self, posting: _Posting) -> None:
        """One sender: post the next message of the delivery whose turn comes first, one post to a destination at
        a time, so a digest's parts stay in order in its thread."""
        while (delivery := self._take(posting)) is not None:
            again = False
            try:
                again = self._post(delivery, posting)
            except Exception as failure:  # one delivery's failure must not lose the others; its claim lapses
                log.exception("a scheduled delivery failed; its claim lapses for a later run")
                with posting.changed:
                    posting.failures.append(failure)
            finally:
                with posting.changed:
                    if again:
                        delivery.waiting_since = self._runtime.clock.now()
                        posting.pending.append(delivery)
                    posting.in_flight.discard((delivery.workspace, delivery.destination))
                    posting.changed.notify_all()

    def _take(self, posting: _Posting) -> Delivery | None:
        """The waiting delivery whose destination is free and whose turn comes first; None once all is posted (or
        the process is stopping)."""
        with posting.changed:
            while not self._stopping.is_set():
                free = [d for d in posting.pending if (d.workspace, d.destination) not in posting.in_flight]
                if free:
                    delivery = min(free, key=self._turn_order)
                    posting.pending.remove(delivery)
                    posting.in_flight.add((delivery.workspace, delivery.destination))
                    posting.changed.notify_all()
                    return delivery
                if posting.composed and not posting.pending and not posting.in_flight:
                    return None
                posting.idle += 1
                posting.changed.wait()
                posting.idle -= 1
            return None

    def _turn_order(self, delivery: Delivery) -> datetime:
        """When the delivery could go: once it waits for a sender, and its destination is free, as this process last
        saw it (no query per loop). A continuation whose second has come goes before the first parts that arrived
        since: counted as never booked, they would keep it back for as long as a busy sweep brings more."""
        return max(delivery.waiting_since, self._budget.next_turn(delivery.workspace, delivery.destination))

    def _release(self, deliveries: list[Delivery]) -> None:
        released = [d for d in deliveries if d.claim is not None and d.claim.release()]
        for delivery in released:
            self._count(delivery, "released")
        if released:
            log.info("stopping: claims released for another replica", extra={"claims": len(released)})

    def _post(self, delivery: Delivery, posting: _Posting) -> bool:
        """Post the delivery's next message; True if more of it is left to post."""
        if delivery.destination in posting.refused:
            if delivery.claim is not None:
                delivery.claim.finish(JobRunState.FAILED, reason="the channel refused posts")
            self._count(delivery, "refused")
            return False
        return self._post_next(delivery, posting) and delivery.remaining

    def _post_next(self, delivery: Delivery, posting: _Posting) -> bool:
        """Post the delivery's next message; True if it went out."""
        message = delivery.messages[delivery.posted]
        claim = delivery.claim
        if claim is not None and not claim.renew():
            log.warning("lost a slot's claim before posting; its new holder finishes it", extra={"run": claim.id})
            return False
        self._budget.wait_turn(delivery.workspace, delivery.destination)
        metadata = None
        if claim is not None:
            payload = {"run": claim.id, "part": delivery.posted}
            metadata = {"event_type": SLOT_POST_EVENT, "event_payload": payload}
        try:
            posted = post_message(
                self._client,
                channel_id=delivery.destination,
                message=message,
                thread_ts=delivery.root_ts,
                metadata=metadata,
            )
        except SlackChannelUnavailable as error:
            self._budget.sent(delivery.workspace, delivery.destination)
            posting.refused.add(delivery.destination)
            self._channel_refused(delivery, error.error, posting.report)
            return False
        except (SlackApiError, SlackClientError, OSError) as error:
            self._budget.sent(delivery.workspace, delivery.destination)
            self._retry_later(delivery, error, posting.report)
            return False
        with posting.changed:
            posting.report.messages += 1
        delivery.posted += 1
        if delivery.root_ts is None:
            delivery.root_ts, delivery.posted_channel = posted.ts, posted.channel_id
        # One transaction after each post: the turn's pace from when the post came back, and the post's record.
        with self._runtime.session() as session:
            self._budget.sent(delivery.workspace, delivery.destination, session=session)
            if delivery.remaining:
                held = claim is None or claim.record_progress(
                    root_ts=delivery.root_ts, parts_posted=delivery.posted, session=session
                )
            else:
                held = self._record_done(delivery, session)
        if not held:
            if claim is not None and delivery.remaining:
                log.warning("lost a slot's claim while posting; its new holder finishes it", extra={"run": claim.id})
            return False
        if not delivery.remaining:
            self._report_posted(delivery, posting.report)
        return True

    def _count_already_posted(self, delivery: Delivery) -> None:
        """A holder can die after Slack took a message and before the database heard of it. Each post carries its
        run and part in its metadata, so the new holder reads the channel (and the thread) to skip what is there."""
        since = delivery.resumed_since
        if since is None or delivery.claim is None:
            return
        run_id = delivery.claim.id
        try:
            channel = delivery.history_channel or delivery.destination
            if channel[:1] in "UW":
                # History is read by channel id, and no earlier prompt told us this person's DM's: the check is
                # skipped, and only a crash in the instant after the very first prompt to them could post it twice.
                return
            if delivery.root_ts is None:
                history = self._client.conversations_history(
                    channel=channel,
                    oldest=f"{since.timestamp() - 60:.6f}",
                    include_all_metadata=True,
                    limit=200,
                )
                root = next((m for m in history["messages"] if _part_of(m, run_id) == 0), None)
                if root is None:
                    return
                delivery.root_ts, delivery.posted, delivery.posted_channel = root["ts"], 1, channel
            replies = self._client.conversations_replies(
                channel=channel, ts=delivery.root_ts, include_all_metadata=True, limit=1000
            )
            parts = {_part_of(m, run_id) for m in replies["messages"]}
            while delivery.posted in parts:
                delivery.posted += 1
        except (SlackApiError, SlackClientError, OSError) as error:
            # Posting again risks a duplicate, but not posting would lose the digest: Slack is the one that failed.
            log.warning("could not check what a lapsed run already posted", extra={"error": str(error)})

    def _complete(self, delivery: Delivery, report: RunReport) -> None:
        """Record the delivery as posted in full, and report it."""
        with self._runtime.session() as session:
            recorded = self._record_done(delivery, session)
        if recorded:
            self._report_posted(delivery, report)

    def _record_done(self, delivery: Delivery, session: Session) -> bool:
        """Record in `session` that the delivery was posted in full; False if another holder took its claim over
        (and records the slot itself)."""
        claim = delivery.claim
        if claim is None:
            if delivery.on_done is not None:
                delivery.on_done(session, self._runtime.clock.now())
            return True
        done = claim.complete(
            root_ts=delivery.root_ts, parts_posted=delivery.posted, then=delivery.on_done, session=session
        )
        if done:
            return True
        log.warning("lost a slot's claim as it finished", extra={"run": claim.id})
        return False

    def _report_posted(self, delivery: Delivery, report: RunReport) -> None:
        report.posted.append(delivery.destination)
        self._count(delivery, "posted")

    def _count(self, delivery: Delivery, outcome: str) -> None:
        job = delivery.claim.run.job if delivery.claim is not None else "direct_message"
        self._posts.labels(job=job, outcome=outcome).inc()

    def _retry_later(self, delivery: Delivery, error: Exception, report: RunReport) -> None:
        code = error.response.get("error", "") if isinstance(error, SlackApiError) else type(error).__name__
        claim = delivery.claim
        if claim is None:
            log.warning("a direct message was not delivered; the next run tries again", extra={"error": code})
            report.failed.append(delivery.destination)
            self._count(delivery, "failed")
            return
        if not delivery.retry:
            claim.finish(JobRunState.FAILED, reason=code)
            report.failed.append(f"{delivery.destination}: {code}")
            self._count(delivery, "failed")
            return
        at_least = timedelta(0)
        if isinstance(error, SlackApiError) and error.response.status_code == 429:
            at_least = timedelta(seconds=int(retry_after_seconds(error.response.headers, default=1, at_least=1)))
        wait = claim.fail(
            code,
            root_ts=delivery.root_ts,
            parts_posted=delivery.posted,
            at_least=at_least,
            at_once=delivery.retry_at_once,
        )
        then = "the slot is left for the next run" if delivery.retry_at_once else "retrying later"
        log.warning(
            f"post failed; {then}",
            extra={"channel": delivery.destination, "error": code, "retry_in_s": int(wait.total_seconds())},
        )
        report.retrying.append(delivery.destination)
        self._count(delivery, "retrying")

    def _channel_refused(self, delivery: Delivery, code: str, report: RunReport) -> None:
        """Slack will not take posts in the channel: turn its digest off and tell whoever set it up."""
        from bot.blocks.nudges import render_channel_refused  # rare: its wording loads with the first refusal

        self._count(delivery, "refused")
        if delivery.on_refused is not None:
            delivery.on_refused(code)
            report.failed.append(delivery.destination)
            return
        claim = delivery.claim
        if claim is None:  # a direct message to someone who left, say
            log.warning("a direct message was refused", extra={"error": code})
            report.failed.append(delivery.destination)
            return
        with self._runtime.session() as session:
            refused = disable_for_slack_error(
                session=session,
                team_id=delivery.workspace,
                channel_id=delivery.destination,
                error=code,
                now=self._runtime.clock.now(),
                default_timezone=self._runtime.settings.timezone,
            )
            claim.finish(JobRunState.FAILED, reason=code, session=session)
        self._runtime.schedule_changed()
        log.warning(
            "the digest and nudges of a channel are off: Slack refused the post",
            extra={"channel": delivery.destination, "error": code},
        )
        report.failed.append(delivery.destination)
        notice = render_channel_refused(delivery.destination, code)
        for person in refused.tell:
            self._budget.wait_turn(delivery.workspace, person)
            try:
                post_message(self._client, channel_id=person, message=notice)
            except (SlackApiError, SlackClientError, SlackChannelUnavailable, OSError) as error:
                log.warning("could not tell someone their channel's digest is off", extra={"error": str(error)})
            self._budget.sent(delivery.workspace, person)


def senders_for(posts_per_minute: int) -> int:
    """How many posts the outbox keeps in flight at once under a workspace budget of `posts_per_minute`."""
    return max(MIN_SENDERS, min(MAX_SENDERS, math.ceil(posts_per_minute / 60 * SLOW_ROUND_TRIP_S)))


def _part_of(message: dict, run_id: int) -> int | None:
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    if metadata.get("event_type") != SLOT_POST_EVENT or payload.get("run") != run_id:
        return None
    part = payload.get("part")
    return part if isinstance(part, int) else None
