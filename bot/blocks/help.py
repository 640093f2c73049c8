"""`/handoff help` and the usage lines that every error message repeats."""

from __future__ import annotations

from collections.abc import Sequence

from bot.blocks.base import Message, context, header, section
from bot.checklist import Checklist
from bot.errors import HandoffError, NotAllowed
from bot.text import escape
from storage.models import Phase

DEFAULT_DOC_KINDS = Checklist().doc_kinds

PHASE_LIST = " → ".join(p.value for p in list(Phase)[:6]) + "; or paused, cancelled"

USAGE: dict[str, str] = {
    "help": "/handoff help",
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
    "help": "Show this help.",
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

HELP_FOOTER = (
    'Names can be quoted or shortened to an unambiguous prefix (`churn` for "Churn model v2"). '
    "Mention people with @ so Slack turns them into mentions. Anyone can view; phase changes, archiving and "
    "changes of name, channel or people are for the initiative's leads, embedded engineer, creator and "
    "workspace admins."
)


def render_help(doc_kinds: Sequence[str] = DEFAULT_DOC_KINDS) -> Message:
    """Every subcommand with an example; the doc kinds are the workspace's own."""
    blocks = [header("Handoff: DS and engineering, one finish line")]
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
    if usage is not None:
        blocks.append(context(f"Usage: `{escape(usage)}`"))
        text += f"\nUsage: {usage}"
    return Message(text=text, blocks=blocks)


def render_notice(text: str) -> Message:
    return Message(text=text, blocks=[section(text)])


def render_error(error: HandoffError, *, usage_of: str | None = None) -> Message:
    """A domain error as a private answer: the problem, who can help, and the right usage."""
    message = error.message
    if isinstance(error, NotAllowed) and error.allowed_user_ids:
        message += " Ask " + ", ".join(f"<@{u}>" for u in error.allowed_user_ids) + "."
        usage_of = None  # the usage was right; the person was not
    return render_problem(message, usage_of=usage_of)
