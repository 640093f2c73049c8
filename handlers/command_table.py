"""The table of `/handoff` subcommands, and everything derived from it.

The router, `help`, every usage error, the ack-or-later decision and the filling in of this channel's initiative
all read the entries; no list of subcommands is kept anywhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from bot.blocks.base import Message
from bot.blocks.channel_view import render_channel_view
from bot.blocks.help import Family, Guide, Topic, render_error, render_help, render_problem
from bot.blocks.problems import describe
from bot.errors import HandoffError, UnknownInitiative
from bot.status import ScopeKind, StatusScope
from bot.text import escape
from handlers import blockers, checkpoints, digests, ideas, initiatives, kpis, readiness, reports, standups
from handlers.grammar import LOCAL_ANY, Token, UsageError, did_you_mean, tokenize
from handlers.subcommand import Action, Answer, Command, Request, Subcommand, undated


@dataclass(frozen=True)
class HelpCommand:
    """`help` (the overview) or `help <topic>` (one family of commands)."""

    topic: str | None = None


def parse_help(rest: list[Token]) -> HelpCommand:
    topic = " ".join(t.text for t in rest).strip().lower()
    return HelpCommand(topic or None)


def _help(request: Request, command: HelpCommand) -> Message:
    doc_kinds = request.runtime.settings.checklist.for_team(request.actor.team_id).doc_kinds
    return render_help(GUIDE, doc_kinds, topic=command.topic)


@dataclass(frozen=True)
class ChannelViewCommand:
    """`/handoff` alone: this channel's initiatives, with buttons for a new one, help, and all of them."""


def _channel_view(request: Request, command: ChannelViewCommand) -> Message:
    scope = StatusScope(ScopeKind.CHANNEL, request.channel_id)
    page = initiatives.first_status_page(request.runtime, request.actor.team_id, scope)
    return render_channel_view(page, jira_url=request.runtime.jira_url)


HELP = Subcommand(
    "help",
    summary="The families of commands; with a family or a command (`help kpi`), its commands with examples; "
    "`help all`, every command.",
    usage="/handoff help  ·  /handoff help kpi  ·  /handoff help all",
    parse=undated(parse_help),
    # `/handoff` with no words at all has no entry of its own: it is the front door, and help is one button away.
    actions=(
        Action(HelpCommand, _help, "help", Answer.IN_ACK),
        Action(ChannelViewCommand, _channel_view, "help", Answer.IN_ACK),
    ),
)
TABLE: tuple[Subcommand, ...] = (
    HELP,
    *initiatives.SUBCOMMANDS,
    *checkpoints.SUBCOMMANDS,
    *readiness.SUBCOMMANDS,
    *kpis.SUBCOMMANDS,
    *ideas.SUBCOMMANDS,
    *digests.SUBCOMMANDS,
    *blockers.SUBCOMMANDS,
    *standups.SUBCOMMANDS,
    *reports.SUBCOMMANDS,
)
BY_WORD: dict[str, Subcommand] = {entry.word: entry for entry in TABLE}
SUBCOMMANDS: tuple[str, ...] = tuple(BY_WORD)
# Typed as words of their own, these mean the subcommands they abbreviate.
ALIASES = {alias.word: (entry.word, alias.action) for entry in TABLE for alias in entry.aliases}
ACTIONS: dict[type, Action] = {action.command: action for entry in TABLE for action in entry.actions}
# Help's families, in the order help lists them; each entry names its own family.
FAMILY_SUMMARIES = (
    ("initiatives", "create one, see them, move its phase, change, archive or unarchive it", ("initiative",)),
    ("checkpoints", "milestones to production, linked to Jira issues", ()),
    ("readiness", "the checklist each phase needs, and the docs that satisfy it", ()),
    ("kpis", "agreed measures of good with targets, and their readings", ()),
    ("ideas", "what was tried and how it went", ()),
    ("blockers", "what blocks the work and who waits on whom", ()),
    ("standup", "the embedded engineer's daily standup, and your time away", ("standups",)),
    ("digest", "this channel's daily digest and nudges", ("digests", "nudge")),
    ("reports", "figures of a channel's initiatives or the workspace's: funnel, lead times, delivery", ("report",)),
)
FAMILY_ORDER = {"readiness": ("docs", "doc", "checklist")}  # help shows the checklist before how to change it


def _family(name: str, summary: str, also: tuple[str, ...]) -> Family:
    members = tuple(entry.word for entry in TABLE if entry.family == name)
    order = FAMILY_ORDER.get(name)
    if order is not None:
        members = tuple(sorted(members, key=lambda word: order.index(word) if word in order else len(order)))
    return Family(name, summary, members, also)


def _usages() -> dict[str, str]:
    usages = {entry.word: entry.error_usage or entry.usage for entry in TABLE}
    for entry in TABLE:
        usages.update(entry.action_usage)
    return usages


GUIDE = Guide(
    topics=tuple(
        Topic(
            entry.word,
            entry.summary,
            entry.usage,
            tuple(u for _, u in entry.action_usage) or tuple(entry.usage.split("  ·  ")),
        )
        for entry in TABLE
    ),
    families=tuple(_family(*family) for family in FAMILY_SUMMARIES),
    usages=_usages(),
)


def usage_text(usage_of: str | None) -> str | None:
    """The usage line an error about a subcommand or action (`checkpoint add`) shows."""
    return GUIDE.usages.get(usage_of) if usage_of else None


def problem_answer(problem: str, usage_of: str | None = None) -> Message:
    """What was wrong and the right usage; for text that is no command at all (`help`), the families."""
    if usage_of == "help":
        return render_problem(problem, usage=usage_text(usage_of), guide=GUIDE)
    return render_problem(problem, usage=usage_text(usage_of))


def error_answer(error: HandoffError, usage_of: str | None = None, *, typed: str = "") -> Message:
    """A domain error as a private answer, with the usage of the subcommand it came from; with the `typed` text,
    a mistyped action read as an initiative's name gets the nearest action."""
    suggestion = action_suggestion(typed, error)
    if suggestion:
        return render_problem(describe(error) + suggestion, usage=usage_text(usage_of))
    return render_error(error, usage=usage_text(usage_of))


def parse_command(text: str, *, today: date) -> Command:
    """Parse the text after `/handoff`; `today` (the workspace's) reads relative dates. Raises `UsageError`."""
    try:
        tokens = tokenize(text)
    except UsageError as error:
        verb = text.split(maxsplit=1)[0].lower() if text.strip() else "help"
        raise UsageError(error.message, verb if verb in BY_WORD else "help") from None
    if not tokens:
        return ChannelViewCommand()
    verb, rest = tokens[0].text.lower(), tokens[1:]
    if verb in ALIASES and not tokens[0].quoted:
        verb, action = ALIASES[verb]
        if action is not None:
            rest = [Token(action, quoted=False), *rest]
    if tokens[0].quoted or verb not in BY_WORD:
        suggestion = did_you_mean(verb, (*SUBCOMMANDS, *ALIASES))
        raise UsageError(f"`{escape(tokens[0].text)}` is not a Handoff command.{suggestion}", "help")
    return BY_WORD[verb].parse(rest, today)


def action_suggestion(text: str, error: HandoffError) -> str:
    """` Did you mean `outcome`?` when an initiative that does not exist was typed where an action or a setting may
    stand (`idea outcmoe churn#i1 worked`, `standup of`): the word was more likely mistyped than a name."""
    words = text.lower().split()
    entry = BY_WORD.get(ALIASES.get(words[0], (words[0], None))[0]) if words else None
    if not isinstance(error, UnknownInitiative) or entry is None or len(words) < 2:
        return ""
    if error.reference.lower().split()[:1] != words[1:2]:
        return ""  # the unknown name is not the word after the subcommand: that word was understood
    actions = (
        *entry.local_reference_actions,
        *entry.leading_settings,
        *(typed.partition(" ")[2] for typed, _ in entry.action_usage),
    )
    return did_you_mean(words[1], tuple(a for a in actions if a))


def action_of(command: Command) -> Action:
    """The table's action for a parsed command."""
    return ACTIONS[type(command)]


def usage_of(command: Command) -> str:
    """The subcommand (or action) whose usage an error about this command shows."""
    return action_of(command).usage_for(command)


def initiative_left_out(command: Command) -> bool:
    """Whether the text left the initiative out, so that this channel's is meant; forms pick it themselves."""
    return action_of(command).left_out(command)


def with_initiative(command: Command, ref_key: str) -> Command:
    """The command with the initiative it left out filled in by its reference key."""
    return action_of(command).filled_in(command, ref_key)


def typed_name(text: str) -> str:
    """The words that name the subcommand as typed (`checkpoint done`, `docs`), for messages about it."""
    words = [m.group().lower() for m in re.finditer(r"\S+", text)]
    return " ".join(words[: _command_word_count(words)])


def typed_with_initiative(text: str, ref_key: str) -> str:
    """The typed text with an initiative's key where it was left out: `checkpoint done #3` → `… churn#3`."""
    words = list(re.finditer(r"\S+", text))
    lowered = [m.group().lower() for m in words]
    lead = _command_word_count(lowered)
    if lead < len(words) and lead == 2 and lowered[1] in _local_reference_actions(lowered[0]):
        local = words[lead]
        if LOCAL_ANY.match(local.group()):
            reference = local.group() if local.group().startswith("#") else f"#{local.group()}"
            return text[: local.start()] + ref_key + reference + text[local.end() :]
    end = words[lead - 1].end()
    return f"{text[:end]} {ref_key}{text[end:]}"


def _local_reference_actions(word: str) -> tuple[str, ...]:
    entry = BY_WORD.get(word)
    return entry.local_reference_actions if entry is not None else ()


def _command_word_count(words: list[str]) -> int:
    """How many leading words name the subcommand: two for `checkpoint done`, `kpi record`, `idea outcome`…"""
    if len(words) > 1:
        entry = BY_WORD.get(words[0])
        if entry is not None and (entry.takes_action or words[1] in entry.local_reference_actions):
            return 2
    return min(1, len(words))


@dataclass(frozen=True)
class Misuse:
    """Text that does not fit the grammar: what was wrong, and whose usage to show."""

    message: str
    usage_of: str | None


def parse_once(text: str, *, today: date) -> Command | Misuse:
    """The parsed command, or what was wrong with the text: parsed once per request, kept for every listener."""
    try:
        return parse_command(text, today=today)
    except UsageError as error:
        return Misuse(error.message, error.usage_of)
