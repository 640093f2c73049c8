"""Forms that capture something from a conversation (a blocker, an idea), and the link back to the Slack message a
form was opened from, shown in the form and under the update it posts in the initiative's thread."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot import ids
from bot.blocks.base import Block, Message, context, link, plain
from bot.blocks.modals import form_modal, input_block
from bot.blocks.pickers import initiative_picker
from bot.text import truncate
from storage.models import BLOCKER_MAX, CHECKPOINT_TITLE_MAX, IDEA_MAX

# Slack caps a plain_text_input's max_length (and so its initial value) at 3000 characters.
INPUT_MAX = 3000
NO_LINK = "This message has no link: paste the doc's link below."


@dataclass(frozen=True)
class SourceMessage:
    """The Slack message a form was opened from: its permalink (None when Slack gave none) and, for a blocker, who
    reported it (its author; None when a bot or nobody wrote it, so the person using the form reports it)."""

    permalink: str | None
    reporter_id: str | None = None


@dataclass(frozen=True)
class Prefill:
    """What a form opened from a message starts with: initial text by input block, the link back to the message,
    and a notice about what could not be taken from it."""

    source: SourceMessage
    values: dict[str, str]
    notice: str | None = None


def title_from_message(text: str) -> str:
    """A message's text as a checkpoint title: on one line, cut to the title's limit."""
    return truncate(" ".join(text.split()), CHECKPOINT_TITLE_MAX)


def source_line(source: SourceMessage) -> Block:
    """The context line that links a form back to the message it was opened from."""
    parts = [f"From {link(source.permalink, 'this message')}" if source.permalink else "From a message"]
    if source.reporter_id:
        parts.append(f"reported by <@{source.reporter_id}>")
    return context(", ".join(parts) + ".")


def prefilled_from_message(view: dict[str, Any], prefill: Prefill) -> dict[str, Any]:
    """An existing form opened from a message: the link back (and any notice) on top, initial values in its text
    inputs, and the permalink in `private_metadata` (`"s"`) so the thread post can carry it."""
    blocks: list[Block] = [source_line(prefill.source)]
    if prefill.notice:
        blocks.append(context(prefill.notice))
    for block in view.get("blocks", []):
        initial = prefill.values.get(block.get("block_id", ""))
        if initial and block.get("type") == "input":
            element = block["element"]
            limit = min(int(element.get("max_length") or INPUT_MAX), INPUT_MAX)
            block = {**block, "element": {**element, "initial_value": truncate(initial, limit)}}
        blocks.append(block)
    metadata = json.loads(view.get("private_metadata") or "{}")
    metadata["s"] = prefill.source.permalink
    return {**view, "blocks": blocks, "private_metadata": json.dumps(metadata)}


def from_message(update: Message, permalink: str | None, *, logged_by: str | None = None) -> Message:
    """A thread update with a line linking the message it was captured from; unchanged without a permalink.
    `logged_by` names who used the form when the update credits someone else (a blocker's reporter)."""
    if not permalink:
        return update
    line = f"From {link(permalink, 'this message')}"
    if logged_by:
        line += f", logged by <@{logged_by}>"
    return Message(update.text, [*update.blocks, context(line + ".")])


def _text_input(initial: str, *, limit: int, placeholder: str) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "multiline": True,
        "max_length": limit,
        "placeholder": plain(placeholder),
    }
    if initial:
        element["initial_value"] = truncate(initial, limit)
    return element


def _metadata(channel_id: str | None, source: SourceMessage | None) -> str:
    metadata: dict[str, Any] = {"c": channel_id}
    if source is not None:
        metadata["s"] = source.permalink
        if source.reporter_id:
            metadata["r"] = source.reporter_id
    return json.dumps(metadata)


def render_report_blocker_modal(
    *,
    selected: dict[str, Any] | None,
    text: str,
    directions: Sequence[tuple[str, str]],
    channel_id: str | None,
    source: SourceMessage | None,
) -> dict[str, Any]:
    """The blocker form: initiative, what blocks it, and optionally who waits on whom; `directions` are (word,
    label) pairs, `selected` the preselected initiative option."""
    direction_select = {
        "type": "static_select",
        "placeholder": plain("Nobody in particular"),
        "options": [{"text": plain(truncate(label, 75)), "value": word} for word, label in directions],
    }
    blocks: list[Block] = [source_line(source)] if source is not None else []
    blocks += [
        input_block(ids.BLOCK_BLOCKER_INITIATIVE, "Initiative", initiative_picker(selected)),
        input_block(
            ids.BLOCK_BLOCKER_TEXT,
            "What blocks the work",
            _text_input(text, limit=BLOCKER_MAX, placeholder="No read access to the events table"),
        ),
        input_block(ids.BLOCK_BLOCKER_DIRECTION, "Who waits on whom", direction_select, optional=True),
    ]
    return form_modal(ids.VIEW_REPORT_BLOCKER, "Report a blocker", "Save", _metadata(channel_id, source), blocks)


def render_log_idea_modal(
    *, selected: dict[str, Any] | None, text: str, channel_id: str | None, source: SourceMessage | None
) -> dict[str, Any]:
    """The idea form: initiative and the idea, `selected` the preselected initiative option."""
    blocks: list[Block] = [source_line(source)] if source is not None else []
    blocks += [
        input_block(ids.BLOCK_IDEA_INITIATIVE, "Initiative", initiative_picker(selected)),
        input_block(
            ids.BLOCK_IDEA_TEXT,
            "The idea",
            _text_input(text, limit=IDEA_MAX, placeholder="Try gradient boosting"),
        ),
    ]
    return form_modal(ids.VIEW_LOG_IDEA, "Log an idea", "Save", _metadata(channel_id, source), blocks)
