"""Typed domain errors. Each carries a message fit to show the user privately; handlers add usage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.text import echo, escape


class HandoffError(Exception):
    """A problem the user can fix; `message` is mrkdwn with every user-typed value already escaped."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class FieldProblem:
    field: str  # the option name the user typed (name, ds, due...), also the modal field
    message: str


class InvalidInput(HandoffError):
    """One or more values are wrong; nothing was written."""

    def __init__(self, problems: Sequence[FieldProblem]):
        super().__init__(" ".join(p.message for p in problems))
        self.problems = list(problems)

    @classmethod
    def single(cls, field: str, message: str) -> InvalidInput:
        return cls([FieldProblem(field, message)])


class UnknownInitiative(HandoffError):
    def __init__(self, reference: str):
        super().__init__(f'No initiative called "{echo(reference)}" in this workspace.')
        self.reference = reference


class AmbiguousInitiative(HandoffError):
    """`matches` are (name, reference key) pairs: the list teaches the keys, which never collide."""

    def __init__(self, reference: str, matches: Sequence[tuple[str, str]]):
        listed = ", ".join(f'"{escape(name)}" (`{escape(key)}`)' for name, key in matches)
        super().__init__(
            f'"{echo(reference)}" matches more than one initiative: {listed}. Give more of the name, or its key.'
        )
        self.reference = reference
        self.matches = [name for name, _ in matches]


class DuplicateName(HandoffError):
    def __init__(self, name: str, archived: bool):
        hint = " (it is archived)" if archived else ""
        super().__init__(f'An initiative called "{escape(name)}" already exists{hint}. Pick another name.')
        self.name = name


class UnknownUser(HandoffError):
    def __init__(self, user_id: str, reason: str = "is not a member of this workspace"):
        super().__init__(f"The user <@{user_id}> {reason}.")
        self.user_id = user_id


class NotAllowed(HandoffError):
    """The user may not make this change; `allowed` lists who may."""

    def __init__(self, action: str, allowed_user_ids: Sequence[str]):
        super().__init__(f"Only the initiative's leads, embedded engineer, creator or a workspace admin can {action}.")
        self.action = action
        self.allowed_user_ids = list(allowed_user_ids)


class NothingToChange(HandoffError):
    pass


class SlackChannelUnavailable(HandoffError):
    """The bot cannot post in a channel; the message says how to invite it."""

    def __init__(self, channel_id: str, error: str):
        if error == "is_archived":
            text = f"<#{channel_id}> is archived, so I can't post there. Pick another channel."
        else:
            text = (
                f"I can't post in <#{channel_id}>. Invite me first: in that channel, type `/invite @Handoff`, "
                "then try again."
            )
        super().__init__(text)
        self.channel_id = channel_id
        self.error = error
