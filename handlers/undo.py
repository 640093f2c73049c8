"""**Undo** on the answer to archiving, `checkpoint remove` and `doc remove`: bring back what was taken away."""

from __future__ import annotations

import logging

from slack_bolt import Respond
from slack_sdk import WebClient

from bot.blocks.base import Message
from bot.blocks.help import render_error
from bot.blocks.undo import UndoKind, read_undo_value
from bot.errors import HandoffError, Problem
from bot.initiatives import Actor
from bot.runtime import Runtime
from handlers.checkpoints import restore_and_announce
from handlers.initiatives import unarchive_and_announce
from handlers.readiness import restore_doc_and_announce

log = logging.getLogger(__name__)
OUT_OF_DATE = "That change can't be undone from here any more."


def undo_change(runtime: Runtime, client: WebClient, actor: Actor, raw_value: str, respond: Respond) -> None:
    """Undo and answer in place of the answer that had the button, so it cannot be pressed twice; a refusal (not
    allowed, already undone) is a separate private answer, and the button stays."""
    request = read_undo_value(raw_value)
    if request is None:
        log.warning("undo button with an unreadable value")
        respond(response_type="ephemeral", replace_original=False, text=OUT_OF_DATE)
        return
    try:
        message = _undo(runtime, client, actor, request.kind, request.subject)
    except HandoffError as error:
        respond(response_type="ephemeral", replace_original=False, **render_error(error).as_kwargs())
        return
    respond(response_type="ephemeral", replace_original=True, **message.as_kwargs())


def _undo(runtime: Runtime, client: WebClient, actor: Actor, kind: UndoKind, subject: str) -> Message:
    if kind is UndoKind.UNARCHIVE:
        return unarchive_and_announce(runtime, client, actor, subject)
    if not subject.isdecimal():
        raise HandoffError(Problem.SAID, text=OUT_OF_DATE)
    if kind is UndoKind.RESTORE_CHECKPOINT:
        return restore_and_announce(runtime, client, actor, int(subject))
    return restore_doc_and_announce(runtime, client, actor, int(subject))
