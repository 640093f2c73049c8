"""`/handoff help` and the usage lines that every error message repeats."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from bot.blocks.base import MAX_MESSAGE_BLOCKS, Message, context, header, section
from bot.blocks.plain import readable
from bot.blocks.problems import describe
from bot.checklist import Checklist
from bot.errors import HandoffError, NotAllowed
from bot.text import escape

DEFAULT_DOC_KINDS = Checklist().doc_kinds


@dataclass(frozen=True)
class Topic:
    """One subcommand as help shows it."""

    name: str
    summary: str  # `{kinds}` becomes the workspace's doc kinds
    usage: str  # its examples, `  ·  ` between them
    usage_lines: tuple[str, ...]  # one example a line: one per action where actions have their own


@dataclass(frozen=True)
class Family:
    """Subcommands that belong together in help: `help kpi` shows one family."""

    name: str
    summary: str
    subcommands: tuple[str, ...]
    also: tuple[str, ...] = ()  # more words `help <topic>` takes for it


@dataclass(frozen=True)
class Guide:
    """What help and usage errors show, as the table of subcommands declares it."""

    topics: tuple[Topic, ...]
    families: tuple[Family, ...]
    usages: dict[str, str]  # by subcommand or action (`checkpoint add`): the usage an error about it shows

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.topics)

    def topic(self, name: str) -> Topic:
        return next(t for t in self.topics if t.name == name)

    def topic_words(self) -> dict[str, Family]:
        """Every word `help <topic>` knows: a family's name, its subcommands and the other words it goes by."""
        words: dict[str, Family] = {}
        for family in self.families:
            for word in (family.name, *family.subcommands, *family.also):
                words.setdefault(word, family)
        return words


ALL_TOPIC = "all"

HELP_FOOTER = (
    'Names can be quoted or shortened to an unambiguous prefix (`churn` for "Churn model v2"). '
    "In a channel that is home to one initiative, its name may be left out. "
    "Mention people with @ so Slack turns them into mentions. Anyone can view; phase changes, archiving and "
    "changes of name, channel or people are for the initiative's leads, embedded engineer, creator and "
    "workspace admins."
)


HELP_TITLE = "Handoff: DS and engineering, one finish line"
HELP_MORE = (
    "`/handoff help kpi` shows one family's commands with examples (any family or command works: `help checkpoints`, "
    "`help digest`); `/handoff help all` shows every command."
)
CHANNEL_INITIATIVE_NOTE = (
    "In a channel that is home to one initiative, leave its name out: `/handoff checkpoint done #3`, `/handoff kpis`."
)


def render_help(guide: Guide, doc_kinds: Sequence[str] = DEFAULT_DOC_KINDS, topic: str | None = None) -> Message:
    """`help`: one line a family; `help <topic>`: that family's commands; `help all`: every subcommand."""
    if topic is None:
        return render_help_overview(guide)
    if topic == ALL_TOPIC:
        return render_full_help(guide, doc_kinds)
    topics = guide.topic_words()
    family = topics.get(topic)
    if family is None:
        nearest = difflib.get_close_matches(topic, [*topics, ALL_TOPIC], n=1, cutoff=0.6)
        suggestion = f" Did you mean `{nearest[0]}`?" if nearest else ""
        return render_help_overview(guide, problem=f"`{escape(topic)}` is not a help topic.{suggestion}")
    return render_family_help(guide, family, doc_kinds)


def family_lines(guide: Guide) -> str:
    """One line a family: its name, its subcommands and what they are for."""
    return "\n".join(f"*{f.name}*  {' · '.join(f'`{c}`' for c in f.subcommands)}: {f.summary}" for f in guide.families)


def render_help_overview(guide: Guide, *, problem: str | None = None) -> Message:
    """The families of commands, one line each, and how to see more: short enough for one look."""
    blocks = [section(f":warning: {problem}")] if problem else []
    blocks += [header(HELP_TITLE), section(family_lines(guide)), context(HELP_MORE), context(CHANNEL_INITIATIVE_NOTE)]
    text = (f"{problem}\n" if problem else "") + "Handoff commands: " + ", ".join(guide.names)
    return Message(text=text, blocks=blocks)


def render_family_help(guide: Guide, family: Family, doc_kinds: Sequence[str] = DEFAULT_DOC_KINDS) -> Message:
    """One family's subcommands: what each does, then each usage on a line of its own."""
    kinds = ", ".join(f"`{k}`" for k in doc_kinds)
    blocks = [header(f"Handoff help: {family.name}")]
    for name in family.subcommands:
        topic = guide.topic(name)
        description = topic.summary.replace("{kinds}", kinds)
        usages = "\n".join(f"`{escape(u)}`" for u in topic.usage_lines)
        blocks.append(section(f"*{name}*  {description}\n{usages}"))
    blocks.append(context(f"{HELP_FOOTER} `/handoff help` lists every family."))
    text = f"Handoff {family.name}: " + ", ".join(family.subcommands)
    return Message(text=text, blocks=blocks)


def render_full_help(guide: Guide, doc_kinds: Sequence[str] = DEFAULT_DOC_KINDS) -> Message:
    """Every subcommand with an example; the doc kinds are the workspace's own."""
    blocks = [header(HELP_TITLE)]
    kinds = ", ".join(f"`{k}`" for k in doc_kinds)
    for topic in guide.topics:
        description = topic.summary.replace("{kinds}", kinds)
        blocks.append(section(f"*{topic.name}*  {description}\n`{escape(topic.usage)}`"))
    blocks.append(context(HELP_FOOTER))
    text = "Handoff commands: " + ", ".join(guide.names)
    return Message(text=text, blocks=blocks)


def render_problem(problem: str, *, usage: str | None = None, guide: Guide | None = None) -> Message:
    """A private answer naming what was wrong and, when it helps, the right usage; with `guide`, the text was
    not a command at all, so the families follow (not the whole help)."""
    blocks = [section(f":warning: {problem}")]
    text = problem
    if guide is not None:
        blocks.append(section(family_lines(guide)))
        text += "\nCommands: " + ", ".join(guide.names) + "."
    if usage is not None:
        blocks.append(context(f"Usage: `{escape(usage)}`"))
        text += f"\nUsage: {usage}"
    return Message(text=text, blocks=blocks)


def render_channel_initiative_note(message: Message, name: str, ref_key: str) -> Message:
    """An answer about this channel's initiative, opened by a line saying which one it took."""
    # An answer that already fills Slack's 50 blocks keeps the line in its fallback text only.
    note = f"_{escape(name)} (`{ref_key}`), this channel's initiative_"
    blocks = message.blocks if len(message.blocks) >= MAX_MESSAGE_BLOCKS else [context(note), *message.blocks]
    return Message(text=f"{escape(name)} ({ref_key}), this channel's initiative\n{message.text}", blocks=blocks)


def render_choose_initiative(choices: Sequence[tuple[str, str, str]], *, more: bool) -> Message:
    """Several initiatives at home here: each (name, key, typed command with the key) as a command to copy."""
    # Typed mentions and channels show as `@name` and `#name`: Slack resolves them again when pasted.
    lines = [
        f"• *{escape(name)}* (`{ref_key}`): `/handoff {escape(readable(typed))}`" for name, ref_key, typed in choices
    ]
    if more:
        lines.append("• … and more: `/handoff status` lists every initiative at home here.")
    problem = "This channel is home to several initiatives, so say which one you mean:"
    text = (
        problem
        + "\n"
        + "\n".join(
            f"{escape(name)} ({ref_key}): /handoff {escape(readable(typed))}" for name, ref_key, typed in choices
        )
    )
    return Message(text=text, blocks=[section(f":point_right: {problem}"), section("\n".join(lines))])


def render_notice(text: str) -> Message:
    return Message(text=text, blocks=[section(text)])


def render_error(error: HandoffError, *, usage: str | None = None) -> Message:
    """A domain error as a private answer: the problem, who can help, and the right usage."""
    message = describe(error)
    if isinstance(error, NotAllowed) and error.allowed_user_ids:
        message += " Ask " + ", ".join(f"<@{u}>" for u in error.allowed_user_ids) + "."
        usage = None  # the usage was right; the person was not
    return render_problem(message, usage=usage)
