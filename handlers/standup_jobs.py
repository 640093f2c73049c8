"""The Slack side of standups on a schedule: prompt each embedded engineer at their own local time, remind once,
and mark a prompt missed when its day ends.

Each prompt claims its slot (standup, initiative and person, their local date) in the same transaction that
records the prompt (`bot.slot_ledger`), so restarts, replicas and catch-up never prompt twice; posting goes through
the outbox's pacing and failure handling. Time zones come from the cached Slack profiles (kept fresh by `user_change`
events and a slow refresh here), never from a `users.info` call per prompt.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.blocks.base import Message  # the prompts' own Block Kit loads with the first one due
from bot.people import PeopleService
from bot.recurrence import MAX_CATCH_UP_SLOTS_DAYS, Slot
from bot.runtime import Runtime
from bot.slot_ledger import MISSED_WHILE_DOWN, Claim, Job, JobRunState, SlotLedger
from bot.standups import (
    PromptToSend,
    StandupPlan,
    StandupPrompt,
    initiative_name,
    is_away,
    mark_missed,
    missed_prompts,
    prompt_posted,
    prompt_reminded,
    record_prompt,
    recorded_prompt,
    reminders_due,
    standup_plans,
    unanswered_prompts,
)
from handlers.outbox import Delivery, Outbox, RunReport
from handlers.slack_people import SlackUserDirectory

log = logging.getLogger(__name__)
PROFILE_REFRESHES_PER_SWEEP = 20  # users.info is Tier 4 (100+ a minute); the sweep runs every minute
PROFILE_REFRESH_AFTER = timedelta(hours=24)
DELETED_INITIATIVE = "(deleted)"  # the name a reminder or missed mark gives an initiative deleted since its prompt


class StandupJobs:
    def __init__(self, runtime: Runtime, client: WebClient, ledger: SlotLedger, outbox: Outbox):
        self._runtime = runtime
        self._client = client
        self._ledger = ledger
        self._outbox = outbox

    def run_due(self, *, initiative_id: int | None = None) -> RunReport:
        """Prompt every standup that is due (catching up within the window), remind the unanswered ones once,
        and mark as missed those whose day has ended."""
        now = self._runtime.clock.now()
        report = RunReport()
        with self._runtime.session() as session:
            every_plan = standup_plans(
                session=session, default_timezone=self._runtime.settings.timezone, initiative_id=initiative_id
            )
            unanswered = unanswered_prompts(session=session)
        plans = [p for p in every_plan if p.enabled]
        # Each prompt goes out as soon as it is claimed, while the next ones are being claimed.
        lapsed = {p.target: p for p in every_plan} if initiative_id is None else None
        self._outbox.deliver(self._due(plans, lapsed, unanswered, now, report), report)
        self._mark_missed(now, unanswered)
        if initiative_id is None:
            self.refresh_profiles(plans, now)
        return report

    def _due(
        self,
        plans: list[StandupPlan],
        lapsed: dict[str, StandupPlan] | None,
        unanswered: Sequence[StandupPrompt],
        now: datetime,
        report: RunReport,
    ) -> Iterator[list[Delivery]]:
        """Each due prompt as soon as it is claimed; then, given every plan (the sweep), the prompts of lapsed
        claims; then the reminders due."""
        known = self._ledger.known((Job.STANDUP,), since=now - timedelta(days=MAX_CATCH_UP_SLOTS_DAYS + 1))
        for plan in plans:
            start = max(now - timedelta(days=MAX_CATCH_UP_SLOTS_DAYS), plan.since or now)
            for slot in plan.schedule.slots_between(start, now):
                if (Job.STANDUP.value, plan.target, slot.key) in known:
                    continue
                delivery = self._prompt(plan, slot, now, report)
                if delivery is not None:
                    yield [delivery]
        if lapsed is not None:
            yield self._resume_lapsed(now, lapsed)
        yield self._reminders(now, unanswered)

    # --------------------------------------------------------------------------------------------- prompts

    def _prompt(self, plan: StandupPlan, slot: Slot, now: datetime, report: RunReport) -> Delivery | None:
        if not self._ledger.within_grace(slot, plan.schedule, now):
            self._skip(plan, slot, now, report, reason=MISSED_WHILE_DOWN, level=logging.WARNING)
            return None
        day = plan.schedule.local_date(slot.due_at)
        if day in self._runtime.settings.checklist.for_team(plan.team_id).holidays:
            self._skip(plan, slot, now, report, reason="a holiday", level=logging.INFO)
            return None
        with self._runtime.session() as session:
            away = is_away(session=session, team_id=plan.team_id, user_id=plan.user_id, day=day)
        if away:
            self._skip(plan, slot, now, report, reason="away", level=logging.INFO)
            return None
        with self._runtime.session() as session:
            claim = self._ledger.claim(Job.STANDUP, plan.target, slot, now=now, session=session)
            if claim is None:
                return None  # another replica, or an earlier sweep, prompted
            # The prompt is recorded with its claim: one cannot exist without the other.
            to_send = record_prompt(session=session, plan=plan, day=day, now=now)
        return self._prompt_delivery(claim, to_send, plan)

    def _skip(
        self, plan: StandupPlan, slot: Slot, now: datetime, report: RunReport, *, reason: str, level: int
    ) -> None:
        about = {"initiative": str(plan.initiative_id), "user": plan.user_id}
        if self._ledger.skip(Job.STANDUP, plan.target, slot, now=now, reason=reason, about=about, level=level):
            report.add_skipped(Job.STANDUP.value, about, slot.key)

    def _prompt_delivery(self, claim: Claim, to_send: PromptToSend, plan: StandupPlan) -> Delivery:
        from bot.blocks.standups import render_prompt

        prompt = to_send.prompt
        message = render_prompt(
            prompt_id=prompt.id or 0,
            name=plan.name,
            day=prompt.day,
            local_time=prompt.prompted_at.astimezone(ZoneInfo(prompt.timezone)).time(),
            channel_id=plan.home_channel_id,
            questions=plan.questions,
            has_previous=to_send.has_previous,
        )
        delivery = Delivery.of(claim, plan.team_id, plan.user_id, [message])

        def refused(error: str) -> None:
            # A deactivated engineer, say: the prompt fails alone; the initiative's channel is not at fault.
            log.warning("a standup prompt was refused", extra={"prompt": prompt.id, "error": error})
            claim.finish(JobRunState.FAILED, reason=f"Slack refused the prompt: {error}")

        delivery.on_done, delivery.on_refused = prompt_posted(prompt.id or 0, delivery), refused
        return delivery

    def _resume_lapsed(self, now: datetime, plans: dict[str, StandupPlan]) -> list[Delivery]:
        """A prompt whose sender died before Slack took it (or before the database heard it did) is finished here."""
        deliveries = []
        for claim in self._ledger.take_over_lapsed((Job.STANDUP,), now=now):
            run = claim.run
            plan = plans.get(run.target)
            with self._runtime.session() as session:
                to_send = recorded_prompt(session=session, target=run.target, slot_key=run.slot)
            if plan is None or to_send is None or to_send.prompt.prompt_ts is not None:
                # The engineer changed, the initiative was paused, or the prompt went out after all.
                claim.finish(JobRunState.SKIPPED, reason="nothing left to send")
                continue
            delivery = self._prompt_delivery(claim, to_send, plan)
            delivery.resumed_since, delivery.history_channel = run.claimed_at, to_send.dm_channel
            deliveries.append(delivery)
        return deliveries

    # --------------------------------------------------------------------------------------------- reminders

    def _reminders(self, now: datetime, unanswered: Sequence[StandupPrompt]) -> list[Delivery]:
        """One reminder for a prompt unanswered after `HANDOFF_STANDUP_REMINDER_HOURS`, on its own day only."""
        after = timedelta(hours=self._runtime.settings.standup_reminder_hours)
        deliveries = []
        for prompt in reminders_due(unanswered, now=now, after=after):
            slot = Slot(prompt.day.isoformat(), prompt.prompted_at + after)
            with self._runtime.session() as session:
                claim = self._ledger.claim(Job.STANDUP_REMINDER, str(prompt.id), slot, now=now, session=session)
                name = initiative_name(session=session, prompt=prompt) or DELETED_INITIATIVE
            if claim is None:
                continue
            from bot.blocks.standups import render_reminder

            delivery = Delivery.of(
                claim, prompt.team_id, prompt.user_id, [render_reminder(prompt_id=prompt.id or 0, name=name)]
            )
            # A reminder is worth one try: one that fails is logged and the slot closed, not retried into the night.
            delivery.on_done, delivery.retry = prompt_reminded(prompt.id or 0), False
            deliveries.append(delivery)
        return deliveries

    # --------------------------------------------------------------------------------------------- missed days

    def _mark_missed(self, now: datetime, unanswered: Sequence[StandupPrompt]) -> None:
        """A prompt whose local day ended unanswered is missed, and its message says so."""
        for prompt in missed_prompts(unanswered, now=now):
            with self._runtime.session() as session:
                if not self._ledger.skip(
                    Job.STANDUP_MISSED,
                    str(prompt.id),
                    Slot(prompt.day.isoformat(), now),
                    now=now,
                    reason="the day ended without an answer",
                    session=session,
                ):
                    continue  # another replica marks it
                if not mark_missed(session=session, prompt_id=prompt.id or 0):
                    continue  # answered in the meantime
                name = initiative_name(session=session, prompt=prompt) or DELETED_INITIATIVE
            from bot.blocks.standups import render_prompt_missed

            self._update(prompt, render_prompt_missed(name=name, day=prompt.day))

    def _update(self, prompt: StandupPrompt, message: Message) -> None:
        if not prompt.prompt_channel or not prompt.prompt_ts:
            return
        try:
            self._client.chat_update(channel=prompt.prompt_channel, ts=prompt.prompt_ts, **message.as_kwargs())
        except (SlackApiError, SlackClientError, OSError) as error:
            log.warning("could not update a standup prompt", extra={"prompt": prompt.id, "error": str(error)})

    # --------------------------------------------------------------------------------------------- time zones

    def refresh_profiles(self, plans: list[StandupPlan], now: datetime) -> None:
        """Keep the engineers' time zones fresh: a few stale profiles a sweep, so `users.info` stays far from its
        limit; `user_change` events keep them current in between."""
        stale = list(
            dict.fromkeys(
                (p.team_id, p.user_id)
                for p in plans
                if p.profile_fetched_at is None or now - p.profile_fetched_at >= PROFILE_REFRESH_AFTER
            )
        )
        for team_id, user_id in stale[:PROFILE_REFRESHES_PER_SWEEP]:
            try:
                with self._runtime.session() as session:
                    PeopleService(
                        session=session, directory=SlackUserDirectory(self._client), team_id=team_id, now=now
                    ).profile(user_id)
            except Exception as error:  # a failed refresh keeps the old zone; the next sweep tries again
                log.warning("could not refresh a profile", extra={"user": user_id, "error": type(error).__name__})
