"""The Slack-facing steps of standups: settings and time away (commands), the prompt's buttons, and the answer
and questions forms. An answer is posted in the initiative's thread; editing it updates that same post.

The family's entries in the table of subcommands (`handlers.command_table`) close the module.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import time
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import dates, ids
from bot import standups as service
from bot.blockers import BlockerDirection
from bot.blocks.base import Message
from bot.blocks.help import render_notice
from bot.blocks.standups import (
    render_prompt_answered,
    render_questions_modal,
    render_standup_modal,
    render_standup_post,
)
from bot.dates import describe_date
from bot.errors import HandoffError, InvalidInput, Problem
from bot.initiatives import Actor, Initiative, require_manager, resolve_initiative
from bot.recurrence import (
    describe_days,
)
from bot.runtime import Runtime
from bot.text import echo, escape
from handlers.grammar import Token, UsageError, did_you_mean, is_word, time_zone_days
from handlers.home_changes import initiative_changed
from handlers.posting import post_in_thread
from handlers.slack_people import unit_of_work
from handlers.subcommand import Action, Answer, Request, Slot, Subcommand, undated

log = logging.getLogger(__name__)
# --- settings -----------------------------------------------------------------------------------------------------


def change_standup(
    runtime: Runtime, client: WebClient, actor: Actor, channel_id: str, parsed: StandupCommand
) -> Message:
    """`standup churn at|on|off`; `questions` opens a form instead (see `open_questions_modal`)."""
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=parsed.initiative_ref or "")
        service.set_standup(
            session=session,
            actor=actor,
            initiative=initiative,
            people=people,
            now=runtime.clock.now(),
            at=parsed.at,
            timezone=parsed.timezone,
            days=parsed.days,
            enabled=None if parsed.action == "at" else parsed.action == "on",
        )
    runtime.schedule_changed()
    return render_notice(":white_check_mark: Saved. " + describe_standup(runtime, actor, initiative))


def show_standup(runtime: Runtime, actor: Actor, initiative_ref: str) -> Message:
    with runtime.session() as session:
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
    return render_notice(describe_standup(runtime, actor, initiative))


def describe_standup(runtime: Runtime, actor: Actor, initiative: Initiative) -> str:
    with runtime.session() as session:
        plan = service.settings_plan(session=session, initiative=initiative, default_timezone=runtime.settings.timezone)
    name = escape(initiative.name)
    if plan is None:
        raise service.NoEmbeddedEngineer(initiative)
    if not plan.enabled:
        return f"*Standup for {name}:* off. `/handoff standup {initiative.ref_key} on` turns it back on."
    schedule = plan.schedule
    when = f"{describe_days(schedule.days)} at {schedule.at.strftime('%H:%M')} ({schedule.timezone})"
    questions = "\n".join(f"• {escape(q)}" for q in plan.questions)
    return (
        f"*Standup for {name}:* <@{plan.user_id}> is asked {when} by direct message.\n{questions}\n"
        "• Blockers, and who waits on whom"
    )


def open_questions_modal(
    runtime: Runtime, client: WebClient, actor: Actor, *, trigger_id: str, channel_id: str, initiative_ref: str
) -> Message | None:
    """The questions form; a problem (unknown initiative, no engineer, not allowed) comes back as the answer."""
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        if initiative.embedded_engineer_id is None:
            raise service.NoEmbeddedEngineer(initiative)
        require_manager(initiative=initiative, actor=actor, people=people, action="change its standup")
        questions = service.questions_for(session=session, initiative_id=initiative.id or 0)
    view = render_questions_modal(
        initiative_id=initiative.id or 0,
        name=initiative.name,
        questions=questions,
        channel_id=channel_id,
    )
    client.views_open(trigger_id=trigger_id, view=view)
    return None


def save_questions(
    runtime: Runtime, client: WebClient, actor: Actor, initiative_id: int, questions: list[str]
) -> Message:
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        initiative = service.standup_initiative(session=session, team_id=actor.team_id, initiative_id=initiative_id)
        service.set_standup(
            session=session,
            actor=actor,
            initiative=initiative,
            people=people,
            now=runtime.clock.now(),
            questions=questions,
        )
    return render_notice(":white_check_mark: Saved. " + describe_standup(runtime, actor, initiative))


# --- time away ----------------------------------------------------------------------------------------------------


def change_away(runtime: Runtime, actor: Actor, parsed: AwayCommand) -> Message:
    today = runtime.today()
    with runtime.session() as session:
        if not parsed.words:
            periods = service.time_away(session=session, actor=actor, from_day=today)
            if not periods:
                return render_notice(
                    "You have no time away set. `/handoff away 3d` or `/handoff away 2027-01-11 2027-01-15`."
                )
            listed = ", ".join(f"{describe_date(p.starts)} to {describe_date(p.ends)}" for p in periods)
            return render_notice(f"Away (no standup prompts): {listed}. `/handoff away off` ends it.")
        if [w.lower() for w in parsed.words] == ["off"]:
            service.end_away(session=session, actor=actor, today=today)
            return render_notice(":white_check_mark: Welcome back: standup prompts start again with the next one.")
        starts, ends = service.parse_away(parsed.words, today=today)
        service.set_away(session=session, actor=actor, starts=starts, ends=ends, now=runtime.clock.now())
    return render_notice(
        f":palm_tree: Away from {describe_date(starts)} to {describe_date(ends)}: no standup prompts for you then."
    )


# --- answering ----------------------------------------------------------------------------------------------------


def prompt_id_of(raw_value: str) -> int:
    try:
        return int(json.loads(raw_value)["p"])
    except (ValueError, KeyError, TypeError):
        raise InvalidInput.single("standup", Problem.STANDUP_GONE) from None


def open_answer_modal(runtime: Runtime, client: WebClient, actor: Actor, *, trigger_id: str, prompt_id: int) -> None:
    """The answer form, filled in with the answer already given (editing it updates the thread post)."""
    with runtime.session() as session:
        prompt, initiative = service.prompt_to_answer(session=session, actor=actor, prompt_id=prompt_id)
        questions = service.questions_for(session=session, initiative_id=initiative.id or 0)
    answer = service.Answer.from_json(prompt.answers) if prompt.answers else None
    view = render_standup_modal(
        prompt_id=prompt_id,
        name=initiative.name,
        questions=questions,
        answer=answer,
        channel_id=None,
    )
    client.views_open(trigger_id=trigger_id, view=view)


def submit_answer(runtime: Runtime, client: WebClient, actor: Actor, prompt_id: int, answer: service.Answer) -> Message:
    with runtime.session() as session:
        prompt, _initiative = service.prompt_to_answer(session=session, actor=actor, prompt_id=prompt_id)
        recorded = service.record_answer(
            session=session, prompt=prompt, answer=answer, actor_id=actor.user_id, now=runtime.clock.now()
        )
    return _publish(runtime, client, recorded)


def repeat_yesterday(runtime: Runtime, client: WebClient, actor: Actor, prompt_id: int) -> Message:
    with runtime.session() as session:
        prompt, _initiative = service.prompt_to_answer(session=session, actor=actor, prompt_id=prompt_id)
        if prompt.state == "answered":
            raise InvalidInput.said("standup", "You already answered today's standup; use Edit the answer.")
        recorded = service.same_as_before(
            session=session, prompt=prompt, actor_id=actor.user_id, now=runtime.clock.now()
        )
    return _publish(runtime, client, recorded)


def _publish(runtime: Runtime, client: WebClient, recorded: service.RecordedAnswer) -> Message:
    """Post the answer in the thread, or update the post already there; then mark the prompt answered."""
    prompt, message = recorded.prompt, render_standup_post(recorded)
    initiative_changed(recorded.initiative)
    try:
        if prompt.post_channel and prompt.post_ts:
            client.chat_update(channel=prompt.post_channel, ts=prompt.post_ts, **message.as_kwargs())
        else:
            posted = post_in_thread(client, initiative=recorded.initiative, message=message)
            with runtime.session() as session:
                service.record_post(
                    session=session, prompt_id=prompt.id or 0, channel_id=posted.channel_id, ts=posted.ts
                )
    except (HandoffError, SlackApiError) as error:
        log.warning("standup answer saved but not posted", extra={"prompt": prompt.id, "error": str(error)})
        return render_notice(":warning: Saved, but I couldn't post it in the initiative's thread; try again later.")
    if prompt.prompt_channel and prompt.prompt_ts:
        answered = render_prompt_answered(prompt_id=prompt.id or 0, name=recorded.initiative.name, day=prompt.day)
        try:
            client.chat_update(channel=prompt.prompt_channel, ts=prompt.prompt_ts, **answered.as_kwargs())
        except SlackApiError as error:
            log.warning("could not mark the prompt answered", extra={"error": error.response.get("error")})
    verb = "Updated" if recorded.edited else "Posted"
    return render_notice(
        f":white_check_mark: {verb} your standup in the thread of *{escape(recorded.initiative.name)}*."
    )


def answer_from_form(values: dict[str, Any]) -> service.Answer:
    """Read the answer form: one value a question (as many as the form had), then blockers with who waits on whom."""

    def element(block_id: str) -> dict[str, Any]:
        return (values.get(block_id) or {}).get(ids.INPUT_ACTION) or {}

    count = sum(1 for i in range(service.MAX_QUESTIONS) if ids.block_standup_answer(i) in values)
    answers = tuple(str(element(ids.block_standup_answer(i)).get("value") or "") for i in range(count))
    blockers = []
    for index in range(service.BLOCKERS_IN_FORM):
        text = str(element(ids.block_standup_blocker(index)).get("value") or "").strip()
        chosen = (element(ids.block_standup_direction(index)).get("selected_option") or {}).get("value")
        if text:
            blockers.append((text, BlockerDirection(chosen) if chosen in {d.value for d in BlockerDirection} else None))
    return service.Answer(answers, tuple(blockers))


def questions_from_form(values: dict[str, Any]) -> list[str]:
    return [
        str(((values.get(ids.block_standup_question(i)) or {}).get(ids.INPUT_ACTION) or {}).get("value") or "")
        for i in range(service.MAX_QUESTIONS)
    ]


@dataclass(frozen=True)
class StandupCommand:
    """`standup <initiative> [at 09:45 [zone] [days] | on | off | questions]`; no action shows the settings."""

    initiative_ref: str | None
    action: str = "show"  # show, at, on, off, questions
    at: time | None = None
    timezone: str | None = None
    days: tuple[str, ...] | None = None


@dataclass(frozen=True)
class AwayCommand:
    """`away <from> <to>`, `away <date>`, `away 3d`, `away off`; no words shows your time away."""

    words: tuple[str, ...] = ()


STANDUP_ACTIONS = ("at", "on", "off", "questions")


def parse_standup(rest: list[Token]) -> StandupCommand:
    if not rest:
        return StandupCommand(None)
    # A setting first leaves the initiative out: `standup at 09:45`, `standup off`.
    left_out = is_word(rest[0], STANDUP_ACTIONS)
    reference, args = (None, rest) if left_out else (rest[0].text, rest[1:])
    if not args:
        return StandupCommand(reference)
    action = args[0].text.lower()
    if args[0].quoted or action not in STANDUP_ACTIONS:
        suggestion = did_you_mean(args[0].text, STANDUP_ACTIONS)
        raise UsageError(
            f"`{echo(args[0].text)}` is not a standup setting: use at, on, off or questions.{suggestion}", "standup"
        )
    typed = " ".join(w for w in ("standup", reference, action) if w)
    if action != "at":
        if len(args) > 1:
            raise UsageError(f"`{escape(typed)}` takes nothing after it.", "standup")
        return StandupCommand(reference, action)
    if len(args) < 2:
        raise UsageError("`standup at` needs a time, such as `at 09:45`.", "standup")
    at, timezone, days = time_zone_days(args[1:], "standup")
    return StandupCommand(reference, "at", at, timezone, days)


def parse_away(rest: list[Token]) -> AwayCommand:
    if len(dates.group_date_words([t.text for t in rest])) > 2:
        raise UsageError("`away` takes two dates, one date, a length such as `3d`, or `off`.", "away")
    return AwayCommand(tuple(t.text for t in rest))


def _standup(request: Request, command: StandupCommand) -> Message | None:
    if command.action == "show":
        return show_standup(request.runtime, request.actor, command.initiative_ref or "")
    if command.action == "questions":
        return open_questions_modal(
            request.runtime,
            request.client,
            request.actor,
            trigger_id=request.trigger_id,
            channel_id=request.channel_id,
            initiative_ref=command.initiative_ref or "",
        )
    return change_standup(request.runtime, request.client, request.actor, request.channel_id, command)


def _answer_of(command: StandupCommand) -> Answer:
    if command.action == "show":
        return Answer.IN_ACK
    return Answer.FORM if command.action == "questions" else Answer.AFTER_ACK


def _away(request: Request, command: AwayCommand) -> Message:
    return change_away(request.runtime, request.actor, command)


SUBCOMMANDS = (
    Subcommand(
        "standup",
        summary=(
            "The embedded engineer's daily standup, sent by direct message at a time in their own time zone (default "
            "weekdays at 09:30): `at` a time with optional days (and a zone to pin it), `off`, `on`, `questions` (a "
            "form). Answers go to the initiative's thread; blockers are tracked until resolved."
        ),
        usage=(
            "/handoff standup churn at 09:45 mon,wed,fri  ·  /handoff standup churn off  ·  /handoff standup churn "
            "questions  ·  /handoff standup churn"
        ),
        parse=undated(parse_standup),
        actions=(Action(StandupCommand, _standup, "standup", _answer_of, Slot.INITIATIVE_REF),),
        family="standup",
        leading_settings=STANDUP_ACTIONS,
    ),
    Subcommand(
        "away",
        summary=(
            "Time away: no standup prompts for you from one date to another (or for `3d`, `2w` from today); `off` ends "
            "it; alone, it shows yours."
        ),
        usage="/handoff away 2027-01-11 2027-01-15  ·  /handoff away 3d  ·  /handoff away off  ·  /handoff away",
        parse=undated(parse_away),
        # Alone it shows your time away, which needs only the database.
        actions=(Action(AwayCommand, _away, "away", lambda c: Answer.AFTER_ACK if c.words else Answer.IN_ACK),),
        family="standup",
    ),
)
