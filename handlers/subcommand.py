"""What one `/handoff` subcommand is: how it is typed, explained, parsed, answered and carried out.

Each family module in `handlers/` declares its subcommands as `Subcommand` entries; `handlers.command_table`
gathers them, and everything else (the router, help, every usage error, the ack-or-later decision and the filling
in of this channel's initiative) is derived from the entries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from enum import Enum
from typing import Any

from slack_sdk import WebClient

from bot.blocks.base import Message
from bot.initiatives import Actor
from bot.runtime import Runtime
from handlers.grammar import Token


class Answer(Enum):
    """When a subcommand answers: Slack gives a command 3 seconds, and a Slack or Jira call can take longer."""

    IN_ACK = "in the ack"  # needs only the database, which answers in milliseconds
    AFTER_ACK = "after the ack"  # writes, or calls Slack or Jira: acked first, answered through `respond`
    FORM = "by opening a form"  # after the ack too, while the trigger id is fresh


class Slot(Enum):
    """Where a command names its initiative, so that one left out can be this channel's."""

    NONE = "none"  # it never names one, or a form picks it
    REFERENCE = "reference"  # `reference` is None when left out: `phase research`, `edit due:…`
    ITEM = "item"  # an item reference typed as `#3`, `#i2`, `#b1`: `checkpoint done #3`
    INITIATIVE_REF = "initiative_ref"  # `initiative_ref` is None when left out: `kpi list`


@dataclass(frozen=True)
class Request:
    """Who typed the command where, and what carrying it out may use."""

    runtime: Runtime
    actor: Actor
    channel_id: str
    client: WebClient
    trigger_id: str
    team_id: str


Command = Any  # one of the parsed command types the family modules declare
Run = Callable[[Request, Any], Message | None]  # None: a form opened, nothing more to say


@dataclass(frozen=True)
class Action:
    """One parsed command type, and how it is answered and carried out."""

    command: type
    run: Run
    usage_of: str | Callable[[Any], str]  # whose usage a domain error about it shows
    answers: Answer | Callable[[Any], Answer] = Answer.AFTER_ACK
    slot: Slot | Callable[[Any], Slot] = Slot.NONE
    # A step before this channel's initiative is looked up: a lone quoted title may name an initiative.
    prepare: Callable[[Request, Any], Any] | None = None
    # How the initiative left out is filled in, where replacing the slot's field is not all of it.
    fill: Callable[[Any, str], Any] | None = None

    def answer_of(self, command: Command) -> Answer:
        return self.answers(command) if callable(self.answers) else self.answers

    def usage_for(self, command: Command) -> str:
        return self.usage_of(command) if callable(self.usage_of) else self.usage_of

    def slot_of(self, command: Command) -> Slot:
        return self.slot(command) if callable(self.slot) else self.slot

    def filled_in(self, command: Command, ref_key: str) -> Command:
        """The command with the initiative it left out filled in by its reference key."""
        if self.fill is not None:
            return self.fill(command, ref_key)
        slot = self.slot_of(command)
        if slot is Slot.REFERENCE:
            return replace(command, reference=ref_key)
        if slot is Slot.ITEM:
            return replace(command, reference=ref_key + command.reference)
        if slot is Slot.INITIATIVE_REF:
            return replace(command, initiative_ref=ref_key)
        return command

    def left_out(self, command: Command) -> bool:
        """Whether the text left the initiative out, so that this channel's is meant."""
        slot = self.slot_of(command)
        if slot is Slot.REFERENCE:
            return command.reference is None
        if slot is Slot.ITEM:
            return bool(command.reference.startswith("#"))
        if slot is Slot.INITIATIVE_REF:
            return command.initiative_ref is None
        return False


@dataclass(frozen=True)
class Alias:
    """A word of its own that means a subcommand, with its first action: `kpis` is `kpi list`."""

    word: str
    action: str | None = None


@dataclass(frozen=True)
class Subcommand:
    """One `/handoff` subcommand: its word, help text, usage lines, parser and the actions it carries out."""

    word: str
    summary: str  # help's description; `{kinds}` becomes the workspace's doc kinds
    usage: str  # examples, `  ·  ` between them
    parse: Callable[[list[Token], date], Command]  # the words after `word`; `date` is the workspace's today
    actions: tuple[Action, ...]
    family: str | None = None  # None only for `help`
    aliases: tuple[Alias, ...] = ()
    # Usage of each action that has its own (`checkpoint add`), shown with an error about it; help lists them all.
    action_usage: tuple[tuple[str, str], ...] = ()
    # The usage an error about the subcommand as a whole shows, where not `usage`: one example per action.
    error_usage: str | None = None
    # The second word always names an action (`checkpoint done`), or does for these actions (`idea outcome`).
    takes_action: bool = False
    # Actions whose item reference may be typed without its initiative: `checkpoint done #3`.
    local_reference_actions: tuple[str, ...] = ()
    # Settings that may come first, leaving the initiative out (`standup off`): a near miss is a typo, not a name.
    leading_settings: tuple[str, ...] = ()


def undated(parse: Callable[[list[Token]], Command]) -> Callable[[list[Token], date], Command]:
    """A parser that reads no dates, as the table calls every parser."""

    def parse_without_today(tokens: list[Token], today: date) -> Command:
        return parse(tokens)

    return parse_without_today
