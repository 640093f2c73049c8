"""The thread's news of a registered model's new version: its run's metrics against the KPI targets, and a button
suggesting the next phase while the initiative is before production."""

from __future__ import annotations

import json

from bot import ids
from bot.blocks.base import Block, Message, actions, button, context, lines_as_sections, link, section
from bot.blocks.readiness import standing_mark
from bot.kpis import format_value
from bot.model_versions import KpiOnVersion, VersionNews
from bot.text import escape, truncate
from storage.models import Phase

NO_RUN = "The version has no run in MLflow, so there are no metrics to set against the targets."
MAX_KPI_BLOCKS = 10


def move_phase_value(initiative_id: int, phase: Phase) -> str:
    """What the suggestion's button carries: the initiative and the phase it suggests."""
    return json.dumps({"i": initiative_id, "p": phase.value}, separators=(",", ":"))


def render_model_version_news(news: VersionNews) -> Message:
    """Posted once in the initiative's thread when a version newly takes the alias a KPI watches."""
    version = news.version
    model, alias = escape(version.model), escape(version.alias)
    headline = f":package: Model *{model}* version {escape(version.version)} now has the alias *@{alias}*."
    if version.url:
        headline += f" {link(version.url, 'Open it in MLflow')}"
    blocks: list[Block] = [section(headline)]
    if version.run_id is None:
        blocks.append(section(NO_RUN))
    else:
        lines = [_kpi_line(k) for k in news.kpis]
        blocks += lines_as_sections(lines, max_blocks=MAX_KPI_BLOCKS, overflow="…and more KPIs watching it.")
        if news.other_metrics:
            shown = ", ".join(f"{escape(key)} {escape(format_value(value))}" for key, value in news.other_metrics)
            more = f", and {news.more_metrics} more" if news.more_metrics else ""
            blocks.append(context(truncate(f"Other metrics of its run: {shown}{more}.", 1900)))
    if news.suggested_phase is not None:
        phase = news.suggested_phase
        suggestion = button(
            f"Move to {phase.value}",
            ids.ACTION_MODEL_VERSION_PHASE,
            value=move_phase_value(news.initiative.id or 0, phase),
        )
        blocks.append(
            section(f"*{escape(news.initiative.name)}* is in *{news.initiative.phase}*: ready for the next phase?")
        )
        blocks.append(actions(suggestion))
    text = f"{version.model} version {version.version} now has the alias @{version.alias}"
    return Message(text=escape(text), blocks=blocks)


def _kpi_line(kpi: KpiOnVersion) -> str:
    """`:white_check_mark: *AUC* (metric auc): 0.91, which meets its 0.85 target.`"""
    name, metric = escape(kpi.kpi.name), escape(kpi.metric)
    where = kpi.standing
    if kpi.value is None or where is None:
        return f":grey_question: *{name}*: its run logged no metric {metric}."
    value = escape(format_value(kpi.value, kpi.kpi.unit))
    return f"{standing_mark(where)} *{name}* (metric {metric}): {value}, which {escape(where.phrase)}."
