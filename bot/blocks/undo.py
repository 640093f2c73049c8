"""The **Undo** button on the answer to a change that takes something away: archiving an initiative, removing a
checkpoint or a doc. It carries what to bring back; the click is checked like the command that would do it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

from bot import ids
from bot.blocks.base import Block, button


class UndoKind(StrEnum):
    UNARCHIVE = "unarchive"  # the subject is the initiative's key
    RESTORE_CHECKPOINT = "checkpoint"  # the subject is the checkpoint's id
    RESTORE_DOC = "doc"  # the subject is the doc's id


@dataclass(frozen=True)
class UndoRequest:
    kind: UndoKind
    subject: str


def undo_button(request: UndoRequest) -> Block:
    value = json.dumps({"u": request.kind.value, "s": request.subject}, separators=(",", ":"), ensure_ascii=False)
    return button("Undo", ids.ACTION_UNDO, value=value)


def read_undo_value(raw: str) -> UndoRequest | None:
    """The request an Undo button carries; None when the value is not one of ours."""
    try:
        value = json.loads(raw)
        return UndoRequest(UndoKind(value["u"]), str(value["s"]))
    except (ValueError, KeyError, TypeError):
        return None
