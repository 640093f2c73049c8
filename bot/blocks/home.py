"""App Home: the viewer's dashboard. What waits on them (each with the button that does it), their initiatives with
the status cards' menu, and the workspace's portfolio by phase, within Slack's 100 blocks a view."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

from bot import ids
from bot.blocks.base import (
    MAX_ALT_TEXT,
    MAX_SECTION_TEXT,
    Block,
    Message,
    actions,
    button,
    context,
    day,
    divider,
    header,
    key_text,
    plural,
    section,
)
from bot.blocks.readiness import doc_button_value, kpi_status_text, readiness_line
from bot.blocks.standups import prompt_value
from bot.blocks.status import PHASE_EMOJI, NextStep, next_step_menu, page_value
from bot.checklist import ItemType
from bot.home import HomeDashboard, WaitingOnYou
from bot.status import InitiativeSummary
from bot.text import escape, truncate
from storage.models import BlockerDirection, Phase

HOME_SHOWN = "home"  # what the cards' menus on App Home carry as the message they were picked on
WAITING_SHOWN = 15  # items of "Waiting on you", then one line saying how many more
INITIATIVES_SHOWN = 40  # one block each, then one line saying how many more
PORTFOLIO_ALT_TEXT = "Funnel of the workspace's initiatives by phase, with the days spent in each"
NOTHING_WAITING = ":white_check_mark: Nothing waits on you right now."
NO_INITIATIVES = "You are not a lead, embedded engineer or creator of any active initiative."
WAITS_ON = {BlockerDirection.ON_ENG.value: "engineering", BlockerDirection.ON_DS.value: "DS"}


class UploadedFile(Protocol):
    """A file Slack holds (an uploaded chart): an `image` block can show it by id."""

    @property
    def file_id(self) -> str: ...

    @property
    def alt_text(self) -> str: ...


def home_value(step: NextStep, initiative_id: int) -> str:
    """What a Home button carries to open one of the card menu's steps for an initiative."""
    shown = json.loads(page_value(HOME_SHOWN))
    return json.dumps({"s": step.value, **shown, "i": initiative_id}, separators=(",", ":"))


def render_home(
    dashboard: HomeDashboard, *, portfolio_chart: UploadedFile | None = None, notice: Message | None = None
) -> dict[str, Any]:
    """The App Home tab; `notice` is the answer to what the viewer just did on it (Home has no private answers)."""
    blocks: list[Block] = [
        header("Handoff"),
        actions(button("New initiative", ids.ACTION_HOME_NEW, style="primary"), block_id="home_buttons"),
    ]
    if notice is not None:
        blocks.append(section(truncate(notice.text, MAX_SECTION_TEXT)))
    blocks += [divider(), header("Waiting on you"), *_waiting_blocks(dashboard)]
    blocks += [divider(), header("Your initiatives"), *_initiative_blocks(dashboard.initiatives)]
    blocks += [divider(), header("Portfolio"), section(_portfolio_text(dashboard.portfolio))]
    if portfolio_chart is not None:
        alt_text = truncate(portfolio_chart.alt_text or PORTFOLIO_ALT_TEXT, MAX_ALT_TEXT)
        blocks.append({"type": "image", "slack_file": {"id": portfolio_chart.file_id}, "alt_text": alt_text})
    return {"type": "home", "blocks": blocks}


def _waiting_blocks(dashboard: HomeDashboard) -> list[Block]:
    items = _waiting_items(dashboard.waiting)
    if not items:
        return [section(NOTHING_WAITING)]
    shown = items[:WAITING_SHOWN]
    blocks = [section(truncate(text, MAX_SECTION_TEXT), accessory=accessory) for text, accessory in shown]
    if len(items) > WAITING_SHOWN:
        blocks.append(context(f"…and {len(items) - WAITING_SHOWN} more waiting on you."))
    return blocks


def _waiting_items(waiting: WaitingOnYou) -> list[tuple[str, Block]]:
    """Each thing waiting on the viewer, most pressing first, with its button."""
    items: list[tuple[str, Block]] = []
    for standup in waiting.standups:
        items.append(
            (
                f":speech_balloon: Today's standup for *{escape(standup.initiative_name)}* waits for your answer",
                button("Answer", ids.ACTION_STANDUP_ANSWER, value=prompt_value(standup.prompt_id), style="primary"),
            )
        )
    for checkpoint in waiting.checkpoints:
        when = f"was due {day(checkpoint.due)}" if checkpoint.overdue else f"due {day(checkpoint.due)}"
        mark = ":rotating_light:" if checkpoint.overdue else ":calendar:"
        items.append(
            (
                f"{mark} `{checkpoint.ref}` *{escape(checkpoint.title)}* {when} · {escape(checkpoint.initiative_name)}",
                button("Mark done", ids.ACTION_CHECKPOINT_DONE, value=checkpoint.ref),
            )
        )
    for blocker in waiting.blockers:
        side = WAITS_ON.get(blocker.direction, "you")
        items.append(
            (
                f":no_entry: `{blocker.ref}` {escape(truncate(blocker.text, 300))} · "
                f"{escape(blocker.initiative_name)} waits on {side}, open {plural(blocker.days_open, 'day')}",
                button("Resolve", ids.ACTION_RESOLVE_BLOCKER, value=blocker.ref),
            )
        )
    for item in waiting.missing:
        text = f":page_facing_up: *{escape(item.initiative_name)}* needs *{escape(item.label)}* for {item.gate}"
        if item.item_type is ItemType.KPI:
            accessory = button("Add a KPI", ids.ACTION_CARD_MENU, value=home_value(NextStep.KPI, item.initiative_id))
        else:
            value = doc_button_value(item.initiative_id, item.item_key)
            accessory = button("Add the doc", ids.ACTION_ADD_DOC, value=value)
        items.append((text, accessory))
    for kpi in waiting.kpis:
        name = f"KPI *{escape(kpi.name)}* of *{escape(kpi.initiative_name)}*"
        if kpi.breached:
            text = f":red_circle: {name} misses its target: {escape(kpi.latest or '')}"
        else:
            text = f":hourglass: {name} has had no reading for {plural(kpi.stale_days, 'day')} or more"
        if kpi.breached and kpi.stale:
            text += " · no reading lately"
        value = home_value(NextStep.READING, kpi.initiative_id)
        items.append((text, button("Record a reading", ids.ACTION_CARD_MENU, value=value)))
    return items


def _initiative_blocks(summaries: Sequence[InitiativeSummary]) -> list[Block]:
    if not summaries:
        return [section(NO_INITIATIVES)]
    shown = page_value(HOME_SHOWN)
    blocks = [
        section(
            truncate(_initiative_text(s), MAX_SECTION_TEXT),
            accessory=next_step_menu(s.initiative.id, shown, details=False),
        )
        for s in summaries[:INITIATIVES_SHOWN]
    ]
    if len(summaries) > INITIATIVES_SHOWN:
        blocks.append(context(f"…and {len(summaries) - INITIATIVES_SHOWN} more: `/handoff whoami` lists them all."))
    return blocks


def _initiative_text(summary: InitiativeSummary) -> str:
    """Phase and days in it, home, goal, next gate's readiness, checkpoint progress and KPIs."""
    initiative = summary.initiative
    lines = [
        f"{PHASE_EMOJI.get(initiative.phase, '')} *{escape(initiative.name)}* {key_text(initiative.ref_key)} · "
        f"{initiative.phase} for {summary.days_in_phase}d · <#{initiative.home_channel_id}>"
    ]
    if initiative.goal:
        lines.append(escape(truncate(initiative.goal, 200)))
    facts = []
    ready = readiness_line(summary.readiness) if summary.readiness is not None else None
    if ready:
        facts.append(ready)
    progress = summary.progress
    if progress.total:
        checkpoints = f"Checkpoints {progress.done}/{progress.total} done"
        if progress.overdue:
            checkpoints += f" · :red_circle: {progress.overdue} overdue"
        facts.append(checkpoints)
    kpis = kpi_status_text(summary.kpis)
    if kpis:
        facts.append(kpis)
    lines += facts
    return "\n".join(lines)


def _portfolio_text(counts: dict[str, int]) -> str:
    if not counts:
        return "No active initiatives in this workspace yet."
    parts = [
        f"{PHASE_EMOJI.get(phase.value, '')} {phase.value} *{counts[phase.value]}*"
        for phase in Phase
        if counts.get(phase.value)
    ]
    return f"{plural(sum(counts.values()), 'active initiative')}: " + " · ".join(parts)
