"""Standups: the prompt the engineer gets (and how it reads once answered or missed), the reminder, the answer
form, the questions form, and the answer as both teams see it in the initiative's thread."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, time
from typing import Any

from bot import ids
from bot.blockers import DIRECTION_LABELS, direction_label
from bot.blocks.base import Block, Message, actions, button, context, header, section
from bot.blocks.blockers import resolve_button
from bot.blocks.modals import input_block
from bot.standups import BLOCKERS_IN_FORM, MAX_QUESTIONS, QUESTION_MAX, Answer, Participation, RecordedAnswer
from bot.text import escape, truncate
from storage.models import BLOCKER_MAX, BlockerDirection

ANSWER_FIELD_MAX = 2000
NO_ANSWER = "_no answer_"


def prompt_value(prompt_id: int) -> str:
    return json.dumps({"p": prompt_id}, separators=(",", ":"))


def greeting(local_time: time) -> str:
    """How the prompt opens at the engineer's local time: a standup moved to the evening is not greeted "Morning!"."""
    if 5 <= local_time.hour < 12:
        return "Good morning!"
    if 12 <= local_time.hour < 18:
        return "Good afternoon!"
    if 18 <= local_time.hour < 23:
        return "Good evening!"
    return "Hello!"


def render_prompt(
    *,
    prompt_id: int,
    name: str,
    day: date,
    local_time: time,
    channel_id: str,
    questions: Sequence[str],
    has_previous: bool,
) -> Message:
    """The daily direct message: the questions, an Answer button and, after a first answer, a one-tap repeat."""
    listed = "\n".join(f"• {escape(q)}" for q in questions)
    blocks: list[Block] = [
        header(f"Standup · {truncate(name, 100)}"),
        section(
            f"{greeting(local_time)} What happened in the DS team's work on *{escape(name)}* since "
            f"yesterday?\n{listed}\n• Blockers, and who waits on whom"
        ),
        context(f"{day.strftime('%a %-d %b')} · your answers go to the initiative's thread in <#{channel_id}>"),
        actions(*_prompt_buttons(prompt_id, has_previous)),
    ]
    return Message(f"Standup for {escape(name)}", blocks)


def _prompt_buttons(prompt_id: int, has_previous: bool, *, answered: bool = False) -> list[Block]:
    buttons = [
        button(
            "Edit the answer" if answered else "Answer",
            ids.ACTION_STANDUP_ANSWER,
            value=prompt_value(prompt_id),
            style=None if answered else "primary",
        )
    ]
    if has_previous and not answered:
        same = button("No change since yesterday", ids.ACTION_STANDUP_SAME, value=prompt_value(prompt_id))
        same["confirm"] = {
            "title": {"type": "plain_text", "text": "Same as yesterday?"},
            "text": {"type": "mrkdwn", "text": "Post yesterday's answers again, with the blockers still open."},
            "confirm": {"type": "plain_text", "text": "Post them"},
            "deny": {"type": "plain_text", "text": "Cancel"},
        }
        buttons.append(same)
    return buttons


def render_prompt_answered(*, prompt_id: int, name: str, day: date) -> Message:
    """The prompt once answered: it says so, and its button edits the answer (which updates the thread post)."""
    blocks: list[Block] = [
        section(
            f":white_check_mark: Your standup for *{escape(name)}* ({day.strftime('%a %-d %b')}) is posted "
            "in its thread."
        ),
        actions(*_prompt_buttons(prompt_id, False, answered=True)),
    ]
    return Message(f"Standup for {escape(name)}: answered", blocks)


def render_prompt_missed(*, name: str, day: date) -> Message:
    line = f":zzz: Missed: the standup for *{escape(name)}* on {day.strftime('%a %-d %b')} got no answer that day."
    return Message(f"Standup for {escape(name)}: missed", [section(line)])


def render_reminder(*, prompt_id: int, name: str) -> Message:
    line = f":alarm_clock: Your standup for *{escape(name)}* is still waiting for today's answer."
    return Message(
        f"Reminder: standup for {escape(name)}",
        [
            section(line),
            actions(button("Answer", ids.ACTION_STANDUP_ANSWER, value=prompt_value(prompt_id), style="primary")),
        ],
    )


def render_standup_post(recorded: RecordedAnswer) -> Message:
    """The answer in the initiative's thread: attributed, each question with its answer, blockers highlighted with
    who waits on whom and a Resolve button each."""
    prompt = recorded.prompt
    when = prompt.day.strftime("%a %-d %b")
    edited = " (edited)" if recorded.edited else ""
    blocks: list[Block] = [
        section(f":sunrise: *Standup* from <@{prompt.user_id}>, embedded engineer · {when}{edited}"),
    ]
    lines = []
    for index, question in enumerate(recorded.questions):
        answer = recorded.answer.answers[index] if index < len(recorded.answer.answers) else ""
        text = escape(truncate(answer, 600)) if answer.strip() else NO_ANSWER
        lines.append(f"*{escape(question)}*\n{text}")
    blocks.append(section("\n\n".join(lines)))
    if recorded.blockers:
        blocks.append(section(":construction: *Blockers*"))
    for located in recorded.blockers[: BLOCKERS_IN_FORM * 2]:
        blocker = located.blocker
        label = direction_label(blocker.direction)
        line = f"`{located.ref}` *{escape(truncate(blocker.text, 500))}*" + (f" · _{label}_" if label else "")
        blocks.append(section(line, accessory=resolve_button(located.ref)))
    if not recorded.blockers:
        blocks.append(context("No blockers."))
    return Message(f"Standup from <@{prompt.user_id}> on {when}", blocks)


def render_standup_modal(
    *, prompt_id: int, name: str, questions: Sequence[str], answer: Answer | None, channel_id: str | None
) -> dict[str, Any]:
    """The answer form: one field a question, then up to three blockers, each with who waits on whom."""
    blocks: list[Block] = [context(f"*{escape(truncate(name, 150))}* · goes to the initiative's thread")]
    for index, question in enumerate(questions):
        element: dict[str, Any] = {"type": "plain_text_input", "multiline": True, "max_length": ANSWER_FIELD_MAX}
        if answer and index < len(answer.answers) and answer.answers[index]:
            element["initial_value"] = answer.answers[index][:ANSWER_FIELD_MAX]
        blocks.append(
            input_block(ids.block_standup_answer(index), truncate(question, QUESTION_MAX), element, optional=index > 0)
        )
    earlier = list(answer.blockers) if answer else []
    for index in range(BLOCKERS_IN_FORM):
        text, direction = earlier[index] if index < len(earlier) else ("", None)
        element = {
            "type": "plain_text_input",
            "max_length": BLOCKER_MAX,
            "placeholder": {"type": "plain_text", "text": "What blocks the work"},
        }
        if text:
            element["initial_value"] = text
        blocks.append(input_block(ids.block_standup_blocker(index), f"Blocker {index + 1}", element, optional=True))
        blocks.append(
            input_block(
                ids.block_standup_direction(index), "Who waits on whom", _direction_select(direction), optional=True
            )
        )
    return {
        "type": "modal",
        "callback_id": ids.VIEW_STANDUP,
        "title": {"type": "plain_text", "text": "Standup"},
        "submit": {"type": "plain_text", "text": "Post"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps({"p": prompt_id, "c": channel_id}),
        "blocks": blocks,
    }


def _direction_select(direction: BlockerDirection | None) -> dict[str, Any]:
    options = [
        {"text": {"type": "plain_text", "text": label}, "value": d.value} for d, label in DIRECTION_LABELS.items()
    ]
    select: dict[str, Any] = {
        "type": "static_select",
        "placeholder": {"type": "plain_text", "text": "Pick one"},
        "options": options,
    }
    chosen = next((o for o in options if direction is not None and o["value"] == direction.value), None)
    if chosen is not None:
        select["initial_option"] = chosen
    return select


def render_questions_modal(
    *, initiative_id: int, name: str, questions: Sequence[str], channel_id: str | None
) -> dict[str, Any]:
    """`standup churn questions`: edit the questions (blank ones are dropped; blockers are always asked)."""
    blocks: list[Block] = [context(f"*{escape(truncate(name, 150))}* · blockers are always asked last")]
    for index in range(MAX_QUESTIONS):
        element: dict[str, Any] = {"type": "plain_text_input", "max_length": QUESTION_MAX}
        if index < len(questions):
            element["initial_value"] = questions[index]
        blocks.append(
            input_block(ids.block_standup_question(index), f"Question {index + 1}", element, optional=index > 0)
        )
    return {
        "type": "modal",
        "callback_id": ids.VIEW_STANDUP_QUESTIONS,
        "title": {"type": "plain_text", "text": "Standup questions"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps({"i": initiative_id, "c": channel_id}),
        "blocks": blocks,
    }


def participation_line(participation: Participation) -> str | None:
    """ "Standups: 15 of the last 20 answered (75%) · median 42 min to answer" for `status <initiative>`."""
    if not participation.due:
        return None
    rate = participation.rate or 0.0
    line = f":sunrise: Standups: {participation.answered} of the last {participation.due} answered ({rate:.0%})"
    if participation.median_minutes is not None:
        line += f" · median {_duration(participation.median_minutes)} to answer"
    return line


def _duration(minutes: float) -> str:
    if minutes < 90:
        return f"{round(minutes)} min"
    return f"{minutes / 60:.1f} h"
