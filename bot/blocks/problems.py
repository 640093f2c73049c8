"""The wording of every domain error, once per problem kind: mrkdwn for messages, plain text for modal fields.

Errors carry plain values (what the user typed, names and keys); only here do they become text, so each surface
gets its own escaping: mrkdwn escapes `&`, `<`, `>` in every typed or stored value, a modal's plain-text field
error shows them as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.checklist import ChecklistItem, ItemType
from bot.config import JIRA_NOT_CONFIGURED
from bot.dates import DateError
from bot.errors import FieldProblem, HandoffError, InvalidInput, Problem
from bot.kpi_sources.readers import settings_needed
from bot.kpi_sources.spec import source_name
from bot.recurrence import ScheduleError
from bot.text import echo, escape, unescape


@dataclass(frozen=True)
class Surface:
    """How values are shown on one surface."""

    value: Callable[[str], str]  # a typed or stored value, shown literally
    typed: Callable[[str], str]  # raw command text: a picked person or channel reads as `@alice` or `#general`
    bold: Callable[[str], str]


MRKDWN = Surface(value=escape, typed=echo, bold=lambda text: f"*{text}*")
PLAIN = Surface(value=str, typed=lambda text: unescape(echo(text)), bold=str)

Wording = Callable[[Surface, Mapping[str, Any]], str]
WORDINGS: dict[Problem, Wording] = {}  # filled by `_words` below, one entry per kind


def _words(kind: Problem) -> Callable[[Wording], Wording]:
    def register(wording: Wording) -> Wording:
        WORDINGS[kind] = wording
        return wording

    return register


def describe(error: HandoffError | ScheduleError, surface: Surface = MRKDWN) -> str:
    """The error as one message (mrkdwn unless `surface` says otherwise); an invalid input lists every problem."""
    if isinstance(error, InvalidInput):
        return " ".join(describe_field(p, surface) for p in error.problems)
    return WORDINGS[error.kind](surface, error.data)


def describe_field(problem: FieldProblem, surface: Surface = MRKDWN) -> str:
    """One wrong value, for a message (mrkdwn) or, with `PLAIN`, for the modal field that shows it."""
    return WORDINGS[problem.kind](surface, problem.data)


def field_error(problem: FieldProblem) -> str:
    """A modal field error: plain text, Slack shows it as typed."""
    return describe_field(problem, PLAIN)


def plain_text(error: HandoffError) -> str:
    """The error in plain text, as logs and the console's own lines want it."""
    return describe(error, PLAIN)


def command(surface: Surface, *words: str) -> str:
    """A command to type, from its words: `/handoff unarchive churn`."""
    return typed_command(surface, "/handoff", *words)


def typed_command(surface: Surface, *words: str) -> str:
    """Words to type after `/handoff` (or the whole command, given its first word), as inline code."""
    return "`" + " ".join(surface.value(w) for w in words) + "`"


def how_to_satisfy(ref_key: str, item: ChecklistItem, surface: Surface = MRKDWN) -> str:
    """The command that satisfies a checklist item of the initiative keyed `ref_key`."""
    if item.type is ItemType.KPI:
        return command(surface, "kpi", "add", ref_key, '"<name>"', ">=", "<target>")
    doc = command(surface, "doc", "add", ref_key, item.key, "<url>")
    if item.type is ItemType.OWNERS:
        return f"{command(surface, 'edit', ref_key, 'ds:@someone', 'eng:@someone')}, or {doc}"
    return doc


def _quoted_list(surface: Surface, names: Sequence[str]) -> str:
    return ", ".join(f'"{surface.value(n)}"' for n in names)


def _code_list(surface: Surface, keys: Sequence[str]) -> str:
    return ", ".join(f"`{surface.value(k)}`" for k in keys)


# --- initiatives -------------------------------------------------------------------------------------------------


@_words(Problem.NAME_MISSING)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return "The initiative needs a name."


@_words(Problem.NAME_RESERVED)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f'"{s.value(d["name"])}" is reserved; pick another name.'


@_words(Problem.DUPLICATE_NAME)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    hint = " (it is archived)" if d["archived"] else ""
    return f'An initiative called "{s.value(d["name"])}" already exists{hint}. Pick another name.'


@_words(Problem.UNKNOWN_INITIATIVE)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f'No initiative called "{s.typed(d["reference"])}" in this workspace.'


@_words(Problem.AMBIGUOUS_INITIATIVE)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    listed = ", ".join(f'"{s.value(name)}" (`{s.value(key)}`)' for name, key in d["matches"])
    return f'"{s.typed(d["reference"])}" matches more than one initiative: {listed}. Give more of the name, or its key.'


@_words(Problem.ARCHIVED)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f'"{s.value(d["name"])}" is archived; {d["frozen"]}.'


@_words(Problem.ARCHIVED_EDIT)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    unarchive = command(s, "unarchive", d["ref_key"])
    return f'"{s.value(d["name"])}" is archived; {unarchive} brings it back first.'


@_words(Problem.ALREADY_ARCHIVED)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f'"{s.value(d["name"])}" is already archived.'


@_words(Problem.NOT_ARCHIVED)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f'"{s.value(d["name"])}" is not archived.'


@_words(Problem.NOT_A_PHASE)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f'"{s.typed(d["raw"])}" is not a phase. Phases: {", ".join(d["phases"])}.'


@_words(Problem.ALREADY_IN_PHASE)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f'"{s.value(d["name"])}" is already in {d["phase"]}.'


@_words(Problem.EDIT_SAYS_NOTHING)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return "Say what to change, e.g. " + typed_command(s, 'goal:"Cut churn by 5%"') + "."


@_words(Problem.CANNOT_CLEAR)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f"{d['label']} cannot be removed, only changed."


@_words(Problem.ALREADY_SET)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return "Those values are already set; nothing changed."


@_words(Problem.TOO_LONG)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f"The {d['what']} is {d['length']} characters long; the limit is {d['limit']}."


@_words(Problem.DATE_IN_PAST)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f"The {d['what']} {d['day'].isoformat()} is in the past."


@_words(Problem.NOT_A_JIRA_KEY)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f'"{s.typed(d["raw"])}" is not a Jira issue key; use the form DS-12.'


@_words(Problem.JIRA_NOT_CONFIGURED)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return JIRA_NOT_CONFIGURED


@_words(Problem.UNKNOWN_USER)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f"The user <@{d['user_id']}> {d['reason']}."


@_words(Problem.UNUSABLE_PERSON)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f"{d['label']}: The user <@{d['user_id']}> {d['reason']}."


@_words(Problem.NOT_ALLOWED)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f"Only the initiative's leads, embedded engineer, creator or a workspace admin can {d['action']}."


@_words(Problem.SLACK_CHANNEL_UNAVAILABLE)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    channel = f"<#{d['channel_id']}>"
    if d["error"] == "is_archived":
        return f"{channel} is archived, so I can't post there. Pick another channel."
    return f"I can't post in {channel}. Invite me first: in that channel, type `/invite @Handoff`, then try again."


@_words(Problem.NO_INITIATIVE_IN_CHANNEL)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return "No initiative has this channel as its home, so name the initiative."


@_words(Problem.SEVERAL_INITIATIVES_IN_CHANNEL)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return "This channel is home to several initiatives, so name the one you mean."


# --- checkpoints -------------------------------------------------------------------------------------------------


@_words(Problem.UNKNOWN_CHECKPOINT)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    unknown = f'No checkpoint "{s.typed(d["reference"])}".'
    if d.get("removed"):
        return f"{unknown} It was removed after the form was opened."
    if d.get("ref_key") is None:
        listing = typed_command(s, "checkpoint", "list", "churn")
        return f"{unknown} A checkpoint reference looks like `churn#3`; {listing} shows them."
    listing = command(s, "checkpoint", "list", d["ref_key"])
    return f"{unknown} {listing} shows the checkpoints of {s.value(d['name'])}."


@_words(Problem.TITLE_MISSING)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return "The checkpoint needs a title."


@_words(Problem.NOT_A_CHECKPOINT_JIRA_KEY)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f'"{s.typed(d["raw"])}" is not a Jira issue key; use the form DS-42 or `new`.'


@_words(Problem.JIRA_NEW_WITHOUT_PROJECT)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return (
        f"`jira:new` creates the issue in the initiative's Jira project, and {s.value(d['name'])} has none yet. "
        f"Set its epic first: {command(s, 'edit', d['ref_key'], 'jira:DS-12')}."
    )


@_words(Problem.JIRA_NEW_ONLY_ON_ADD)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return "`jira:new` works with `checkpoint add`; here give an issue key."


@_words(Problem.JIRA_ALREADY_LINKED)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return (
        f"{s.value(d['key'])} is already linked to {s.value(d['reference'])} "
        f'("{s.value(d["title"])}"); a Jira issue tracks one checkpoint.'
    )


@_words(Problem.INITIATIVE_DELETED)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return "That initiative was deleted meanwhile."


@_words(Problem.ALREADY_DONE)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f"{s.value(d['reference'])} is already done."


@_words(Problem.NOT_DONE)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f"{s.value(d['reference'])} is not done, so there is nothing to reopen."


@_words(Problem.CHECKPOINT_EDIT_SAYS_NOTHING)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return (
        f"Say what to change, e.g. {typed_command(s, 'due:2027-03-01')} or "
        + typed_command(s, 'title:"Model card"')
        + "."
    )


@_words(Problem.CHECKPOINT_NOT_RESTORABLE)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return "That checkpoint is on the list already, or no longer exists."


@_words(Problem.PLAN_MISSING)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    example = typed_command(s, "checkpoint", "mitigate", "churn#3", '"Ship the v1 schema first"')
    return f"Say what the plan is, e.g. {example}."


@_words(Problem.NOT_MISSED)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    if d["done"]:
        state = "done"
    else:
        due = f"due {d['due'].isoformat()}" if d["due"] else "it has no due date"
        state = f"not missed ({due})"
    return f"{s.value(d['reference'])} is {state}; mitigation plans are for missed checkpoints."


# --- blockers and ideas ------------------------------------------------------------------------------------------


@_words(Problem.UNKNOWN_BLOCKER)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    unknown = f'No blocker "{s.typed(d["reference"])}".'
    if d.get("ref_key") is None:
        return (
            f"{unknown} A blocker reference looks like `churn#b2`; {typed_command(s, 'blockers', 'churn')} lists them."
        )
    return f"{unknown} {typed_command(s, 'blockers', d['ref_key'])} lists the open ones."


@_words(Problem.NOT_A_BLOCKER_DIRECTION)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return (
        f'"{s.typed(d["raw"])}" is not a direction: use `on:eng` (DS waits on engineering), `on:ds` (engineering '
        "waits on DS) or `on:platform` (both wait on data or platform)."
    )


@_words(Problem.BLOCKER_TEXT_MISSING)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return "Say what blocks the work, in quotes: " + typed_command(s, "blocker", "churn", '"No read access"') + "."


@_words(Problem.BLOCKERS_RACED)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return "Several blockers were reported at the same moment; try again."


@_words(Problem.ALREADY_RESOLVED)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f"`{s.value(d['reference'])}` was already resolved by <@{d['resolved_by']}>."


@_words(Problem.UNKNOWN_IDEA)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    unknown = f'No idea "{s.typed(d["reference"])}".'
    if d.get("ref_key") is None:
        return f"{unknown} An idea reference looks like `churn#i2`; {typed_command(s, 'ideas', 'churn')} lists them."
    return f"{unknown} {typed_command(s, 'ideas', d['ref_key'])} lists the ideas of {s.value(d['name'])}."


@_words(Problem.NOT_AN_OUTCOME)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f'"{s.typed(d["raw"])}" is not an outcome; use {_code_list(s, d["outcomes"])}.'


@_words(Problem.IDEA_TEXT_MISSING)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return "Say what the idea is, in quotes: " + typed_command(s, "idea", "churn", '"Try gradient boosting"') + "."


@_words(Problem.IDEAS_RACED)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return "Several ideas were logged at the same moment; try again."


@_words(Problem.SEARCH_WORDS_MISSING)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f"Give at least one word of two letters or more: {typed_command(s, 'ideas', 'search', 'boosting')}."


# --- KPIs --------------------------------------------------------------------------------------------------------


@_words(Problem.UNKNOWN_KPI)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    if d["known"]:
        hint = f" Its KPIs: {_quoted_list(s, d['known'])}."
    else:
        hint = " It has none yet: " + typed_command(s, "kpi", "add", d["ref_key"], '"<name>"', ">=", "<target>") + "."
    return f'{s.bold(s.value(d["initiative"]))} has no KPI called "{s.typed(d["name"])}".{hint}'


@_words(Problem.AMBIGUOUS_KPI)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return (
        f'"{s.value(d["name"])}" matches more than one KPI of {s.bold(s.value(d["initiative"]))}: '
        f"{_quoted_list(s, d['matches'])}. Give more of the name."
    )


@_words(Problem.KPI_NOT_ALLOWED)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return (
        "Only the KPI's owner, the initiative's leads, embedded engineer, creator or a workspace admin can "
        f"{d['action']}."
    )


@_words(Problem.NOT_A_KPI_DIRECTION)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    words = ", or `higher`/`lower`" if d["named"] else ""
    return f'"{s.typed(d["raw"])}" is not a direction; use `>=` (higher is better) or `<=` (lower is better){words}.'


@_words(Problem.AMBIGUOUS_NUMBER)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    whole, decimal, what = s.value(d["whole"]), s.value(d["decimal"]), d["what"]
    return f'"{s.typed(d["raw"])}" could mean {whole} or {decimal}; type the {what} as `{whole}` or `{decimal}`.'


@_words(Problem.UNREADABLE_NUMBER)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return (
        f'"{s.typed(d["raw"])}" is not a number I can read; type the {d["what"]} with a point for decimals and no '
        "thousands separators, like 1234.5 or 0.85."
    )


@_words(Problem.NOT_A_NUMBER)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f'"{s.typed(d["raw"])}" is not a number; the {d["what"]} must be one, like 0.82 or 120.'


@_words(Problem.KPI_NAME_MISSING)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return "The KPI needs a name, in quotes: e.g. " + typed_command(s, '"AUC on holdout"') + "."


@_words(Problem.KPI_NEW_NAME_MISSING)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return "`name:` needs the new name, in quotes."


@_words(Problem.DUPLICATE_KPI)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f'{s.bold(s.value(d["initiative"]))} already has a KPI called "{s.value(d["name"])}".'


@_words(Problem.UNIT_LENGTH)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f"A unit is 1 to {d['limit']} characters, like `%` or `ms`."


@_words(Problem.KPI_UNCHANGED)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f"{s.bold(s.value(d['kpi']))} already is as asked; nothing changed."


@_words(Problem.NO_SUCH_READING)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    count = d["count"]
    has = "no readings" if count == 0 else f"only {count} reading{'s' if count != 1 else ''}"
    listing = typed_command(s, "kpi", "list", d["ref_key"])
    return f"{s.bold(s.value(d['kpi']))} has {has}; {listing} numbers them, 1 for the newest."


@_words(Problem.SOURCE_NOT_CONFIGURED)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    needed = settings_needed(d["kind"])
    return (
        f"{source_name(d['kind'])} is not configured for Handoff, so no KPI can be read from it. Whoever runs "
        f"Handoff can set {needed if s is MRKDWN else needed.replace('`', '')}."
    )


@_words(Problem.SOURCE_CHECK_FAILED)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return (
        f"{s.bold(s.value(d['kpi']))} could not be read from {source_name(d['kind'])}: "
        f"{s.value(d['reason'].rstrip('.'))}. The source was not set."
    )


@_words(Problem.SOURCE_FIELD_MISSING)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f"{source_name(d['kind'])} needs {d['what']}."


@_words(Problem.SOURCE_MODEL_AND_ALIAS)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return "A registered model and its alias go together: give both (`model:churn alias:champion`), or neither."


@_words(Problem.NO_SOURCE)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f"{s.bold(s.value(d['kpi']))} has no source; its readings are typed by people."


# --- readiness ---------------------------------------------------------------------------------------------------


@_words(Problem.UNKNOWN_ITEM)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    listed = _code_list(s, d["known"]) or "none"
    return f'"{s.typed(d["key"])}" is not a {d["what"]} here. Known: {listed}.'


@_words(Problem.NOT_A_WEB_LINK)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f'"{s.value(d["url"])}" is not a web link; a doc is an http:// or https:// URL.'


@_words(Problem.LINK_HAS_SPACES)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return "A link cannot contain spaces."


@_words(Problem.NOT_A_DOC_KIND)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f'"{s.value(d["kind"])}" is not a doc kind. Kinds: {_code_list(s, d["kinds"])}.'


@_words(Problem.DOC_ALREADY_ADDED)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f"That link is already the {s.value(d['kind'])} doc of {s.bold(s.value(d['initiative']))}."


@_words(Problem.NO_SUCH_DOC)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    which = f" with the link {s.value(d['url'])}" if d["url"] else ""
    listing = typed_command(s, "docs", d["ref_key"])
    return f"{s.bold(s.value(d['initiative']))} has no {s.value(d['kind'])} doc{which}. {listing} lists them."


@_words(Problem.SEVERAL_DOCS)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    links = ", ".join(s.value(url) for url in d["urls"])
    return (
        f"{s.bold(s.value(d['initiative']))} has {len(d['urls'])} {s.value(d['kind'])} docs ({links}); "
        "add the link to remove."
    )


@_words(Problem.DOC_NOT_RESTORABLE)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return "That doc is on the checklist already, or no longer exists."


@_words(Problem.DOC_ADDED_AGAIN)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f"{s.value(d['url'])} was added again since; it is on the checklist."


@_words(Problem.NOT_AN_ITEM_KEY)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f'"{s.typed(d["key"])}" cannot be an item key: use 2 to 32 lowercase letters, digits or hyphens.'


@_words(Problem.ITEM_ALREADY_LISTED)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f"`{s.value(d['key'])}` is already on the checklist of {s.bold(s.value(d['initiative']))}."


@_words(Problem.GATE_MISSING)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f"Say which phase the item is needed for, e.g. `for:production` ({', '.join(d['phases'])})."


@_words(Problem.NOT_A_GATE)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f"`for:{d['phase']}` is not a phase a checklist guards; use one of {', '.join(d['phases'])}."


@_words(Problem.ALREADY_WAIVED)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f"`{s.value(d['key'])}` is already waived for {s.bold(s.value(d['initiative']))}."


@_words(Problem.REASON_MISSING)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return "Say why, in quotes: e.g. " + typed_command(s, '"no personal data: aggregated counts only"') + "."


@_words(Problem.GATE_REFUSED)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    ref, target, missing = d["ref_key"], d["target"], d["missing"]
    lines = [
        f"• {s.bold(s.value(item.label))} (`{s.value(item.key)}`): {how_to_satisfy(ref, item, s)}" for item in missing
    ]
    waive = command(s, "checklist", ref, "waive", "<item>", '"<reason>"')
    force = command(s, "phase", ref, target, "--force", '"<reason>"')
    return (
        f"{s.bold(s.value(d['initiative']))} can't move to {s.bold(target)} yet: "
        f"{len(missing)} required {'item is' if len(missing) == 1 else 'items are'} missing.\n"
        + "\n".join(lines)
        + f"\nTo waive an item: {waive}. To move anyway (leads and workspace admins): {force}."
    )


@_words(Problem.FORCE_NOT_ALLOWED)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return "Only the initiative's DS lead, engineering lead or a workspace admin can force it past a gate."


# --- standups, nudges, digests -------------------------------------------------------------------------------------


@_words(Problem.NO_EMBEDDED_ENGINEER)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return (
        f'"{s.value(d["name"])}" has no embedded engineer to ask: set one with '
        f"{command(s, 'edit', d['ref_key'], 'embedded:@someone')}."
    )


@_words(Problem.NO_QUESTIONS)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return "Keep at least one question."


@_words(Problem.TOO_MANY_QUESTIONS)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f"At most {d['limit']} questions."


@_words(Problem.QUESTION_TOO_LONG)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f"A question is at most {d['limit']} characters."


@_words(Problem.NOT_THE_ASKED_ENGINEER)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return "Only the engineer who was asked can answer this standup."


@_words(Problem.INITIATIVE_GONE)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return "That initiative no longer exists."


@_words(Problem.NO_EARLIER_ANSWER)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return "There is no earlier answer to repeat; answer with the form."


@_words(Problem.AWAY_SPAN)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f"Time away is 1 to {d['limit']} days."


@_words(Problem.NOT_A_DATE)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f"`{s.typed(d['text'])}` {s.value(d['reason'])}"


def unreadable_date(label: str, error: DateError, surface: Surface = MRKDWN) -> str:
    """Why a date could not be read, quoting it as `label` (`due:2027-02-30`)."""
    return describe_field(FieldProblem(label, Problem.NOT_A_DATE, text=label, reason=error.reason), surface)


@_words(Problem.AWAY_BACKWARDS)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return "The time away ends before it starts."


@_words(Problem.AWAY_OVER)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return "That time away is already over."


@_words(Problem.AWAY_TOO_LONG)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f"Time away is at most {d['limit']} days at once."


@_words(Problem.AWAY_WORDS)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return "Give two dates, one date or a length such as `3d`."


@_words(Problem.NO_AWAY)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return "You have no time away set."


@_words(Problem.SNOOZE_DAYS)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return "A nudge can be snoozed for 1 day or 1 week."


@_words(Problem.NUDGES_ALREADY)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f'Nudges about "{s.value(d["name"])}" are already {"on" if d["enabled"] else "off"}.'


@_words(Problem.DIGEST_ALREADY)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f"The digest in this channel is already {'on' if d['enabled'] else 'off'}."


# --- schedules ---------------------------------------------------------------------------------------------------

_IANA_EXAMPLES = "use an IANA name such as Europe/Berlin or America/New_York"
_DAYS_EXAMPLES = "use weekdays, daily, or days such as mon,wed,fri"


@_words(Problem.NOT_A_TIME_OF_DAY)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f"`{s.typed(d['text'])}` is not a time of day: use 24-hour HH:MM, such as 09:30 or 17:00."


@_words(Problem.ZONE_SUGGESTION)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f"`{s.typed(d['name'])}` is not a time zone name; did you mean `{s.value(d['suggestion'])}`?"


@_words(Problem.NOT_A_ZONE_NAME)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f"`{s.typed(d['name'])}` is not a time zone: {_IANA_EXAMPLES}."


@_words(Problem.UNKNOWN_ZONE)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f"`{s.typed(d['name'])}` is not a known time zone: {_IANA_EXAMPLES}."


@_words(Problem.NO_DAYS)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f"`{s.typed(d['text'])}` names no days: {_DAYS_EXAMPLES}."


@_words(Problem.NOT_DAYS)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f"`{s.typed(d['text'])}` is not a list of days: {_DAYS_EXAMPLES}."


@_words(Problem.EXTRA_SCHEDULE_WORD)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f"`{s.typed(d['word'])}` is one word too many: give a time, then a time zone and days."


# --- Jira --------------------------------------------------------------------------------------------------------


@_words(Problem.JIRA_FAILED)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return s.value(d["reason"])


@_words(Problem.NO_MATCHING_TRANSITION)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return (
        f"{s.value(d['reason'])} Move it in Jira, or ask a Jira admin to add a transition; "
        "the checkpoint was left as it was."
    )


@_words(Problem.JIRA_UPDATE_REFUSED)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f"Jira refused to update {s.value(d['key'])}: {s.value(d['reason'])} The checkpoint was left as it was."


@_words(Problem.JIRA_LOOKUP_FAILED)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    retry = "; try again" if d["retry"] else ""
    return f"{s.value(d['reason'])} {d['nothing_done']}{retry}."


@_words(Problem.STANDUP_GONE)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return "That standup is no longer there; wait for the next prompt."


@_words(Problem.NOT_YOUR_STANDUP)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return f"This standup is <@{d['user_id']}>'s to answer."


@_words(Problem.SAID)
def _(s: Surface, d: Mapping[str, Any]) -> str:
    return s.value(d["text"])


def jira_comment_refused(key: str, error: HandoffError) -> str:
    """The note under a confirmation when Jira moved the issue but refused the comment."""
    return f":warning: {escape(key)} moved in Jira, but Jira refused the comment: {describe(error)}"


def jira_link_refused(error: HandoffError) -> str:
    """The note under a confirmation when Jira refused the link back to the thread."""
    return f"\n:warning: Jira refused the link back to this thread: {describe(error)}"


def thread_post_failed(confirmation: str, error: HandoffError) -> str:
    """A confirmation whose change was saved but whose thread update could not be posted."""
    return f"{confirmation}\n:warning: Saved, but I couldn't post it in the thread: {describe(error)}"
