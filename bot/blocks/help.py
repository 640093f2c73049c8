"""`/handoff help` and the usage lines that every error message repeats."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from bot.blocks.base import MAX_MESSAGE_BLOCKS, Message, context, header, section
from bot.blocks.plain import readable
from bot.checklist import Checklist
from bot.errors import HandoffError, NotAllowed
from bot.text import escape
from storage.models import Phase

DEFAULT_DOC_KINDS = Checklist().doc_kinds

PHASE_LIST = " → ".join(p.value for p in list(Phase)[:6]) + "; or paused, cancelled"

USAGE: dict[str, str] = {
    "help": "/handoff help  ·  /handoff help kpi  ·  /handoff help all",
    "new": '/handoff new "Churn model v2" ds:@alice eng:@bob embedded:@carol jira:DS-12 due:2027-03-01 '
    'goal:"Cut churn by 5%" channel:#churn',
    "status": "/handoff status  ·  /handoff status churn  ·  /handoff status all",
    "list": "/handoff list",
    "phase": '/handoff phase churn research "kickoff done, data access granted"  ·  '
    '/handoff phase churn development --force "pilot for one customer"',
    "edit": '/handoff edit churn due:2027-04-01 goal:"Cut churn by 6%" embedded:@dave',
    "archive": "/handoff archive churn",
    "unarchive": "/handoff unarchive churn",
    "checkpoint": '/handoff checkpoint add churn "Model card reviewed" owner:@carol due:2027-02-15 jira:DS-42',
    "doc": '/handoff doc add churn model-card https://wiki.example.com/churn/card "v2, with slices"  ·  '
    "/handoff doc remove churn model-card",
    "docs": "/handoff docs churn",
    "checklist": '/handoff checklist churn waive privacy-review "aggregated counts only"  ·  '
    '/handoff checklist churn add fairness-review "credit decisions" for:production  ·  '
    "/handoff checklist churn remove fairness-review",
    "kpi": '/handoff kpi add churn "AUC on holdout" >= 0.82 unit:% owner:@bob  ·  '
    '/handoff kpi record churn "AUC on holdout" 0.84 "after retrain"  ·  /handoff kpi list churn  ·  '
    '/handoff kpi edit churn "AUC on holdout" target:0.85  ·  /handoff kpi reading remove churn "AUC on holdout"',
    "idea": '/handoff idea churn "Try gradient boosting"  ·  /handoff idea outcome churn#i2 failed "no lift"',
    "ideas": "/handoff ideas churn  ·  /handoff ideas search boosting",
    "digest": "/handoff digest at 09:30 Europe/Berlin mon,wed,fri  ·  /handoff digest off  ·  /handoff digest now  ·  "
    "/handoff digest preview  ·  /handoff digest quiet on  ·  /handoff digest",
    "nudges": "/handoff nudges off  ·  /handoff nudges on churn",
    "blocker": '/handoff blocker churn "No read access to the events table" on:eng  ·  '
    "/handoff blocker resolve churn#b1",
    "blockers": "/handoff blockers churn",
    "standup": "/handoff standup churn at 09:45 mon,wed,fri  ·  /handoff standup churn off  ·  "
    "/handoff standup churn questions  ·  /handoff standup churn",
    "away": "/handoff away 2027-01-11 2027-01-15  ·  /handoff away 3d  ·  /handoff away off  ·  /handoff away",
}

# Usage of each KPI action, shown with an error about it.
KPI_USAGE: dict[str, str] = {
    "kpi add": '/handoff kpi add churn "AUC on holdout" >= 0.82 unit:% owner:@bob  (>= higher is better, <= lower is)',
    "kpi record": '/handoff kpi record churn "AUC on holdout" 0.84 "after retrain"',
    "kpi list": "/handoff kpi list churn",
    "kpi edit": '/handoff kpi edit churn "AUC on holdout" name:"AUC on holdout v2" target:0.85 unit:% '
    "direction:>= owner:@bob  (direction also higher or lower; unit:none, owner:none clear)",
    "kpi remove": '/handoff kpi remove churn "AUC on holdout"  (with its readings)',
    "kpi reading remove": '/handoff kpi reading remove churn "AUC on holdout" 2  (1, the latest, by default; '
    "`kpi list` numbers them)",
}

# Usage of each checkpoint action, shown with an error about it; help shows them all under `checkpoint`.
CHECKPOINT_USAGE: dict[str, str] = {
    "checkpoint add": '/handoff checkpoint add churn "Model card reviewed" owner:@carol due:2027-02-15 jira:DS-42'
    "  ·  jira:new creates the issue  ·  no arguments: a form",
    "checkpoint done": "/handoff checkpoint done churn#3",
    "checkpoint reopen": "/handoff checkpoint reopen churn#3",
    "checkpoint list": "/handoff checkpoint list churn",
    "checkpoint edit": '/handoff checkpoint edit churn#3 due:2027-03-01 owner:@dave title:"Model card v2" jira:DS-43',
    "checkpoint remove": "/handoff checkpoint remove churn#3",
    "checkpoint mitigate": '/handoff checkpoint mitigate churn#3 "Ship with the v1 schema; v2 in March"',
}
CHECKPOINT_USAGE["checkpoint"] = "  ·  ".join(u.split("  ·  ")[0] for u in CHECKPOINT_USAGE.values())

DESCRIPTIONS: dict[str, str] = {
    "help": "The families of commands; with a family or a command (`help kpi`), its commands with examples; "
    "`help all`, every command.",
    "new": "Create an initiative. With no arguments, opens a form. Only the name is required; the home channel "
    "is the one you type in unless you give `channel:#x`. A kickoff message is posted there and becomes the "
    "initiative's thread.",
    "status": "With no argument: the initiatives whose home is this channel. With a name: one initiative in "
    "detail. `all`: every active initiative.",
    "list": "Every active initiative in the workspace (same as `status all`).",
    "phase": f"Move an initiative to another phase, with an optional note. Phases: {PHASE_LIST}. Entering a phase "
    "needs its readiness checklist; the leads and workspace admins can `--force` past it with a reason.",
    "edit": "Change fields: `name:` `channel:` `ds:` `eng:` `embedded:` `goal:` `jira:` `due:`. "
    "Use `field:none` to clear an optional one.",
    "archive": "Hide an initiative from status and lists; its history is kept. The answer has an *Undo* button.",
    "unarchive": "Bring an archived initiative back into status and lists (for the same people who may archive it).",
    "checkpoint": "Milestones to production, referenced like `churn#3`: `add` (no arguments: a form; `jira:KEY` links "
    "an issue, `jira:new` creates one), `done`, `reopen`, `list`, `edit` (`title:` `owner:` `due:` `jira:`), "
    "`remove`, `mitigate` (a plan for a missed one). Linked Jira issues stay in sync both ways.",
    "doc": "Attach a handoff doc (an http/https link) that satisfies a checklist item, attested by you; with "
    "missing arguments, a form. Kinds: {kinds}.",
    "docs": "The readiness checklist of the current and next phase: each item satisfied (with its docs), missing "
    "(with how to add it) or waived.",
    "checklist": "Change one initiative's checklist: `add` an item it needs, `waive` one it does not (with why), "
    "`remove` either change. `checklist churn` alone shows it.",
    "kpi": "The agreed measure of good: `add` with a target and direction, `record` readings (a decimal comma "
    "such as `0,85` counts as a point), `list` them with their trend; `edit` or `remove` a KPI and `reading remove` "
    "a wrong reading (the KPI's owner and the initiative's managers). A KPI name may be shortened to an unambiguous "
    "prefix. The thread is alerted once when a KPI misses its target.",
    "idea": "Log an idea tried, then its outcome (worked, failed or dropped), so nobody repeats a dead end.",
    "ideas": "An initiative's ideas, newest first; `search` finds ideas across the workspace.",
    "digest": "This channel's daily digest (default: weekdays at 09:00): `at` a time, with an optional time zone "
    "and days (`weekdays`, `daily`, `mon,wed,fri`); `off` and `on`; `now` posts it; `preview` shows it only to "
    "you; `quiet` posts nothing on days without news.",
    "blocker": "Report what blocks the work, optionally who waits on whom (`on:eng` DS waits on engineering, "
    "`on:ds` engineering waits on DS, `on:platform` both wait on data or platform); `resolve` it when it is gone. "
    "The thread hears of both, and the digest lists it until it is resolved.",
    "blockers": "An initiative's open blockers, oldest first, with how long each has been open.",
    "standup": "The embedded engineer's daily standup, sent by direct message at a time in their own time zone "
    "(default weekdays at 09:30): `at` a time with optional days (and a zone to pin it), `off`, `on`, `questions` "
    "(a form). Answers go to the initiative's thread; blockers are tracked until resolved.",
    "away": "Time away: no standup prompts for you from one date to another (or for `3d`, `2w` from today); `off` "
    "ends it; alone, it shows yours.",
    "nudges": "Daily reminders after the digest about missing docs and KPIs, stale or missed KPIs and overdue "
    "checkpoints, naming who can close each; `off`/`on` for this channel, or for one initiative (its leads).",
}


@dataclass(frozen=True)
class Family:
    """Subcommands that belong together in help: `help kpi` shows one family."""

    name: str
    summary: str
    subcommands: tuple[str, ...]
    also: tuple[str, ...] = ()  # more words `help <topic>` takes for it


FAMILIES = (
    Family(
        "initiatives",
        "create one, see them, move its phase, change, archive or unarchive it",
        ("new", "status", "list", "phase", "edit", "archive", "unarchive"),
        also=("initiative",),
    ),
    Family("checkpoints", "milestones to production, linked to Jira issues", ("checkpoint",)),
    Family("readiness", "the checklist each phase needs, and the docs that satisfy it", ("docs", "doc", "checklist")),
    Family("kpis", "agreed measures of good with targets, and their readings", ("kpi",)),
    Family("ideas", "what was tried and how it went", ("idea", "ideas")),
    Family("blockers", "what blocks the work and who waits on whom", ("blocker", "blockers")),
    Family(
        "standup", "the embedded engineer's daily standup, and your time away", ("standup", "away"), also=("standups",)
    ),
    Family("digest", "this channel's daily digest and nudges", ("digest", "nudges"), also=("digests", "nudge")),
)
ALL_TOPIC = "all"


def _topic_words() -> dict[str, Family]:
    """Every word `help <topic>` knows: a family's name, its subcommands and the other words it goes by."""
    words: dict[str, Family] = {}
    for family in FAMILIES:
        for word in (family.name, *family.subcommands, *family.also):
            words.setdefault(word, family)
    return words


TOPICS = _topic_words()

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


def render_help(doc_kinds: Sequence[str] = DEFAULT_DOC_KINDS, topic: str | None = None) -> Message:
    """`help`: one line a family; `help <topic>`: that family's commands; `help all`: every subcommand."""
    if topic is None:
        return render_help_overview()
    if topic == ALL_TOPIC:
        return render_full_help(doc_kinds)
    family = TOPICS.get(topic)
    if family is None:
        nearest = difflib.get_close_matches(topic, [*TOPICS, ALL_TOPIC], n=1, cutoff=0.6)
        suggestion = f" Did you mean `{nearest[0]}`?" if nearest else ""
        return render_help_overview(problem=f"`{escape(topic)}` is not a help topic.{suggestion}")
    return render_family_help(family, doc_kinds)


def family_lines() -> str:
    """One line a family: its name, its subcommands and what they are for."""
    return "\n".join(f"*{f.name}*  {' · '.join(f'`{c}`' for c in f.subcommands)}: {f.summary}" for f in FAMILIES)


def render_help_overview(*, problem: str | None = None) -> Message:
    """The families of commands, one line each, and how to see more: short enough for one look."""
    blocks = [section(f":warning: {problem}")] if problem else []
    blocks += [header(HELP_TITLE), section(family_lines()), context(HELP_MORE), context(CHANNEL_INITIATIVE_NOTE)]
    text = (f"{problem}\n" if problem else "") + "Handoff commands: " + ", ".join(USAGE)
    return Message(text=text, blocks=blocks)


def render_family_help(family: Family, doc_kinds: Sequence[str] = DEFAULT_DOC_KINDS) -> Message:
    """One family's subcommands: what each does, then each usage on a line of its own."""
    kinds = ", ".join(f"`{k}`" for k in doc_kinds)
    blocks = [header(f"Handoff help: {family.name}")]
    for name in family.subcommands:
        description = DESCRIPTIONS[name].replace("{kinds}", kinds)
        usages = "\n".join(f"`{escape(u)}`" for u in usage_lines(name))
        blocks.append(section(f"*{name}*  {description}\n{usages}"))
    blocks.append(context(f"{HELP_FOOTER} `/handoff help` lists every family."))
    text = f"Handoff {family.name}: " + ", ".join(family.subcommands)
    return Message(text=text, blocks=blocks)


def usage_lines(name: str) -> list[str]:
    """A subcommand's examples, one a line; checkpoints and KPIs have one per action."""
    if name == "checkpoint":
        return [usage for key, usage in CHECKPOINT_USAGE.items() if key != "checkpoint"]
    if name == "kpi":
        return list(KPI_USAGE.values())
    return USAGE[name].split("  ·  ")


def render_full_help(doc_kinds: Sequence[str] = DEFAULT_DOC_KINDS) -> Message:
    """Every subcommand with an example; the doc kinds are the workspace's own."""
    blocks = [header(HELP_TITLE)]
    kinds = ", ".join(f"`{k}`" for k in doc_kinds)
    for name, usage in USAGE.items():
        description = DESCRIPTIONS[name].replace("{kinds}", kinds)
        blocks.append(section(f"*{name}*  {description}\n`{escape(usage)}`"))
    blocks.append(context(HELP_FOOTER))
    text = "Handoff commands: " + ", ".join(USAGE)
    return Message(text=text, blocks=blocks)


def render_problem(problem: str, *, usage_of: str | None = None) -> Message:
    """A private answer naming what was wrong and, when it helps, the right usage."""
    blocks = [section(f":warning: {problem}")]
    text = problem
    usage = USAGE.get(usage_of) if usage_of else None
    if usage_of is not None and usage_of in CHECKPOINT_USAGE:
        usage = CHECKPOINT_USAGE[usage_of]
    if usage_of is not None and usage_of in KPI_USAGE:
        usage = KPI_USAGE[usage_of]
    if usage_of == "help":  # not a command at all: the families, not the whole help
        blocks.append(section(family_lines()))
        text += "\nCommands: " + ", ".join(USAGE) + "."
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


def render_error(error: HandoffError, *, usage_of: str | None = None) -> Message:
    """A domain error as a private answer: the problem, who can help, and the right usage."""
    message = error.message
    if isinstance(error, NotAllowed) and error.allowed_user_ids:
        message += " Ask " + ", ".join(f"<@{u}>" for u in error.allowed_user_ids) + "."
        usage_of = None  # the usage was right; the person was not
    return render_problem(message, usage_of=usage_of)
