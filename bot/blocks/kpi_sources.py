"""Thread posts about sourced KPIs: a breach or recovery read from a source (with where it came from), a source
that started failing, and one that recovered. Everything a person or a source wrote is escaped here."""

from __future__ import annotations

from datetime import datetime

from bot.blocks.base import Message, context, link_if_fits, section
from bot.blocks.readiness import render_kpi_alert, render_kpi_recovered
from bot.kpi_sources.outcome import SourceReading
from bot.kpi_sources.spec import source_name
from bot.kpis import RecordResult, format_value
from bot.text import escape, truncate
from storage.models import Initiative, Kpi

REASON_MAX = 500


def moment(at: datetime) -> str:
    """A time Slack shows in each reader's own zone, with a UTC fallback for old clients."""
    fallback = at.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def source_line(kind: str, reading: SourceReading) -> str:
    """Where a reading came from, linked when the source has a page for it: `From MLflow run 3f2a9c1 (step 12)`."""
    label = escape(reading.label or source_name(kind))
    where = link_if_fits(reading.url, label) if reading.url else label
    return f":link: From {where}, as of {moment(reading.observed_at)}."


def render_sourced_alert(initiative: Initiative, result: RecordResult, reading: SourceReading, kind: str) -> Message:
    """The breach alert of a reading read from the KPI's source, saying where it came from."""
    message = render_kpi_alert(initiative, result)
    return Message(text=message.text, blocks=[*message.blocks, context(source_line(kind, reading))])


def render_sourced_recovered(
    initiative: Initiative, result: RecordResult, reading: SourceReading, kind: str
) -> Message:
    """The back-on-target post of a reading read from the KPI's source, saying where it came from."""
    message = render_kpi_recovered(initiative, result)
    return Message(text=message.text, blocks=[*message.blocks, context(source_line(kind, reading))])


def render_source_failure(
    initiative: Initiative,
    kpi: Kpi,
    kind: str,
    *,
    reason: str,
    last_good_at: datetime | None,
    retry_at: datetime,
    for_owner: bool = False,
) -> Message:
    """A source that stopped giving readings: why, since when it last did, and that Handoff keeps trying."""
    name, source = escape(kpi.name), source_name(kind)
    last = f"The last good reading was read {moment(last_good_at)}." if last_good_at else "It has not been read yet."
    lines = [
        f":warning: Handoff can't read *{name}* of *{escape(initiative.name)}* from {source}: "
        f"{escape(truncate(reason, REASON_MAX))}",
        f"{last} Handoff keeps trying, less often while it fails (next {moment(retry_at)}), and says so here "
        "when it reads it again.",
    ]
    if for_owner:
        lines.append("You own this KPI; `/handoff kpi source` shows or changes where it is read from.")
    text = f"{escape(initiative.name)}: can't read KPI {name} from {source}"
    return Message(text=text, blocks=[section("\n".join(lines))])


def render_source_recovered(
    initiative: Initiative, kpi: Kpi, kind: str, reading: SourceReading, failing_since: datetime | None
) -> Message:
    """A failing source gave a reading again."""
    name, source = escape(kpi.name), source_name(kind)
    since = f" (it failed from {moment(failing_since)})" if failing_since else ""
    line = (
        f":arrows_counterclockwise: *{name}* of *{escape(initiative.name)}* is read from {source} again{since}: "
        f"{escape(format_value(reading.value, kpi.unit))}."
    )
    text = f"{escape(initiative.name)}: KPI {name} read from {source} again"
    return Message(text=text, blocks=[section(line), context(source_line(kind, reading))])
