"""Standups: the embedded engineer's daily standup, and time away."""

from __future__ import annotations

from bot.blocks.base import Message
from handlers.parsing import AwayCommand, StandupCommand, parse_away, parse_standup
from handlers.standup_flows import change_away, change_standup, open_questions_modal, show_standup
from handlers.subcommand import Action, Answer, Request, Slot, Subcommand, undated


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
            "The embedded engineer's daily standup, sent by direct message at a time in their own time zone "
            "(default weekdays at 09:30): `at` a time with optional days (and a zone to pin it), "
            "`off`, `on`, `questions` "
            "(a form). Answers go to the initiative's thread; blockers are tracked until resolved."
        ),
        usage=(
            "/handoff standup churn at 09:45 mon,wed,fri  ·  /handoff standup churn off  ·  "
            "/handoff standup churn questions  ·  /handoff standup churn"
        ),
        parse=undated(parse_standup),
        actions=(Action(StandupCommand, _standup, "standup", _answer_of, Slot.INITIATIVE_REF),),
        family="standup",
    ),
    Subcommand(
        "away",
        summary=(
            "Time away: no standup prompts for you from one date to another (or for `3d`, `2w` from today); `off` "
            "ends it; alone, it shows yours."
        ),
        usage="/handoff away 2027-01-11 2027-01-15  ·  /handoff away 3d  ·  /handoff away off  ·  /handoff away",
        parse=undated(parse_away),
        # Alone it shows your time away, which needs only the database.
        actions=(Action(AwayCommand, _away, "away", lambda c: Answer.AFTER_ACK if c.words else Answer.IN_ACK),),
        family="standup",
    ),
)
