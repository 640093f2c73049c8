"""Charts as PNG images, drawn from `bot.chart_data` with matplotlib, for Slack to show inline.

Every chart carries its own light-neutral background with near-black text, so it reads the same in Slack's light
and dark themes (a transparent chart would put dark text on a dark theme); colours come from the Okabe-Ito
palette, which stays distinguishable for colour-blind readers, and breaches are marked by shape as well as colour.
Images are 1200x675 px (16:9 at twice Slack's 600 px preview width) and carry no timestamp, so the same data
gives the same bytes.

matplotlib is imported inside the functions, with the Agg backend and a `Figure` of its own per chart (not
pyplot's global state), so a server at rest does not load it and threads may render at once.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from bot.chart_data import BurnUp, FunnelData, KpiSeries
from bot.kpis import format_value

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

WIDTH_INCHES, HEIGHT_INCHES, DPI = 6.0, 3.375, 200  # 1200x675 px
BACKGROUND = "#F8F8F6"
TEXT = "#1D1C1D"
MUTED = "#616061"
GRID = "#DDDDDA"
BLUE = "#0072B2"
ORANGE = "#E69F00"
GREEN = "#009E73"
VERMILLION = "#D55E00"
SKY = "#56B4E9"
GREY = "#999999"
# Live phases blue, the ones that made it green, the ones that stopped grey.
PHASE_COLOURS = {"production": GREEN, "monitoring": GREEN, "paused": GREY, "cancelled": GREY}
ALT_TEXT_MAX = 1000  # Slack's limit on a file's alt text
ANNOTATED_POINTS_MAX = 12  # beyond this many readings only the ends, extremes and breaches carry their value


@dataclass(frozen=True)
class Chart:
    """A rendered chart: PNG bytes, the alt text that says what it shows, its title and a file name."""

    png: bytes
    alt_text: str
    title: str
    filename: str


def funnel_chart(data: FunnelData) -> Chart:
    """The phase funnel: how many initiatives entered each phase, with median and p90 days spent in it."""
    figure, axes = _canvas(data.title, _funnel_subtitle(data), left=0.16)
    bars = data.bars
    if not bars or all(bar.entered == 0 for bar in bars):
        _say_empty(axes, "No initiatives in this window yet")
    else:
        positions = list(range(len(bars)))
        counts = [bar.entered for bar in bars]
        colours = [PHASE_COLOURS.get(bar.phase, BLUE) for bar in bars]
        axes.barh(positions, counts, color=colours, height=0.62, zorder=2)
        axes.set_yticks(positions, [bar.phase.capitalize() for bar in bars])
        axes.invert_yaxis()
        axes.set_xlim(0, max(counts) * 1.55 + 0.5)
        axes.set_xlabel("Initiatives that entered the phase")
        axes.xaxis.get_major_locator().set_params(integer=True)  # type: ignore[call-arg]
        axes.grid(axis="x", color=GRID, zorder=0)
        for position, bar in zip(positions, bars, strict=True):
            axes.annotate(
                f"{bar.entered}   {_lead_time(bar.median_days, bar.p90_days)}",
                (bar.entered, position),
                xytext=(5, 0),
                textcoords="offset points",
                va="center",
                fontsize=7.5,
                color=TEXT,
            )
    return _finish(figure, data.title, _funnel_alt_text(data))


def kpi_trend_chart(series: KpiSeries) -> Chart:
    """A KPI's readings over time against its target line, the readings that missed it marked."""
    at_least = series.direction == ">="
    rule = f"{'≥' if at_least else '≤'} {format_value(series.target, series.unit)}"
    subtitle = f"Target {rule} ({'higher' if at_least else 'lower'} is better)"
    figure, axes = _canvas(series.title, subtitle)
    points = series.points
    axes.axhline(series.target, color=ORANGE, linestyle="--", linewidth=1.4, zorder=1, label=f"Target {rule}")
    if not points:
        _say_empty(axes, "No readings yet")
        axes.set_yticks([series.target], [format_value(series.target, series.unit)])
    else:
        from matplotlib.dates import date2num

        times = [date2num(point.at) for point in points]
        values = [point.value for point in points]
        axes.plot(times, values, color=BLUE, linewidth=1.6, marker="o", markersize=4, zorder=3, label="Reading")
        missed = [point for point in points if point.breached]
        if missed:
            axes.scatter(
                [date2num(point.at) for point in missed],
                [point.value for point in missed],
                s=70,
                marker="X",
                color=VERMILLION,
                zorder=4,
                label="Missed the target",
            )
        low, high = min(*values, series.target), max(*values, series.target)
        pad = (high - low) * 0.18 or abs(series.target) * 0.1 or 1.0
        axes.set_ylim(low - pad, high + pad)
        # The side of the line that misses the target is shaded, so a breach reads as "in the red zone".
        if at_least:
            axes.axhspan(low - pad, series.target, color=VERMILLION, alpha=0.06, zorder=0)
        else:
            axes.axhspan(series.target, high + pad, color=VERMILLION, alpha=0.06, zorder=0)
        for index in _annotated(points):
            point = points[index]
            axes.annotate(
                format_value(point.value, series.unit),
                (times[index], point.value),
                xytext=(0, -13 if point.breached == at_least else 7),
                textcoords="offset points",
                ha="center",
                fontsize=7,
                color=VERMILLION if point.breached else TEXT,
            )
        _date_axis(axes, points[0].at, points[-1].at)
        axes.legend(loc="best", fontsize=7, frameon=False)
    axes.set_ylabel(series.unit or "Value")
    axes.set_xlabel("Recorded")
    axes.grid(axis="y", color=GRID, zorder=0)
    return _finish(figure, series.title, _kpi_alt_text(series, rule))


def burnup_chart(data: BurnUp) -> Chart:
    """An initiative's checkpoints done over time against the total, with its target date."""
    figure, axes = _canvas(data.title, _burnup_subtitle(data))
    points = data.points
    if not points:
        _say_empty(axes, "No checkpoints yet")
    else:
        from matplotlib.dates import date2num

        days = [date2num(point.day) for point in points]
        axes.step(days, [p.total for p in points], where="post", color=GREY, linewidth=1.6, label="Total", zorder=2)
        axes.step(days, [p.done for p in points], where="post", color=GREEN, linewidth=2.2, label="Done", zorder=3)
        axes.fill_between(days, [p.done for p in points], step="post", color=GREEN, alpha=0.15, zorder=1)
        last = points[-1]
        # Today's counts as dots too, so a burn-up of a single day still shows where it stands.
        axes.plot([days[-1]] * 2, [last.total, last.done], linestyle="none", marker="o", color=TEXT, markersize=3.5)
        axes.annotate(
            f"{last.done} of {last.total} done",
            (days[-1], last.done),
            xytext=(-4, 8),
            textcoords="offset points",
            ha="right",
            fontsize=7.5,
            color=TEXT,
        )
        axes.set_ylim(0, max(p.total for p in points) * 1.2 + 1)
        axes.yaxis.get_major_locator().set_params(integer=True)  # type: ignore[call-arg]
        start, end = points[0].day, points[-1].day
        if data.target_date is not None:
            axes.axvline(date2num(data.target_date), color=ORANGE, linestyle="--", linewidth=1.4, zorder=1)
            axes.annotate(
                f"Target {data.target_date.isoformat()}",
                (date2num(data.target_date), 1),
                xycoords=("data", "axes fraction"),
                xytext=(-3, -4),
                textcoords="offset points",
                ha="right",
                va="top",
                rotation=90,
                fontsize=7,
                color=TEXT,
            )
            start, end = min(start, data.target_date), max(end, data.target_date)
        _date_axis(axes, start, end)
        axes.legend(loc="upper left", fontsize=7, frameon=False)
    axes.set_ylabel("Checkpoints")
    axes.set_xlabel("Day")
    axes.grid(axis="y", color=GRID, zorder=0)
    return _finish(figure, data.title, _burnup_alt_text(data))


def _canvas(title: str, subtitle: str, *, left: float = 0.1) -> tuple[Figure, Axes]:
    """A figure of the chart size with the house look, its title and subtitle, and one axes."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    # Names are people's text: a `$` in one would otherwise be read as the start of math notation (and `$x^$`
    # would fail to parse), so every string is drawn as typed.
    matplotlib.rcParams["text.parse_math"] = False
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI, facecolor=BACKGROUND)
    figure.text(0.02, 0.955, title, fontsize=10.5, fontweight="bold", color=TEXT, va="top")
    figure.text(0.02, 0.885, subtitle, fontsize=7.5, color=MUTED, va="top")
    axes = figure.add_axes((left, 0.17, 0.96 - left, 0.63))
    axes.set_facecolor(BACKGROUND)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        axes.spines[side].set_color(MUTED)
    axes.tick_params(colors=TEXT, labelsize=7)
    axes.xaxis.label.set_color(TEXT)
    axes.yaxis.label.set_color(TEXT)
    axes.xaxis.label.set_fontsize(7.5)
    axes.yaxis.label.set_fontsize(7.5)
    return figure, axes


def _finish(figure: Figure, title: str, alt_text: str) -> Chart:
    buffer = io.BytesIO()
    # No Software/date entries in the PNG: the same data gives the same bytes.
    figure.savefig(buffer, format="png", facecolor=BACKGROUND, metadata={"Software": None})
    return Chart(png=buffer.getvalue(), alt_text=_clip(alt_text), title=title, filename=_filename(title))


def _say_empty(axes: Axes, message: str) -> None:
    axes.text(0.5, 0.5, message, transform=axes.transAxes, ha="center", va="center", fontsize=9, color=MUTED)
    axes.set_xticks([])


def _date_axis(axes: Axes, start: date | datetime, end: date | datetime) -> None:
    """Dates as `Mar 03`, at most about six of them; a single day is widened so it is not a zero-width axis."""
    from matplotlib.dates import AutoDateLocator, DateFormatter, DayLocator, date2num

    low, high = date2num(start), date2num(end)
    margin = max((high - low) * 0.04, 1.0)
    axes.set_xlim(low - margin, high + margin)
    # Under a week, one tick a day: the automatic locator would put hours there, and `%b %d` would repeat days.
    axes.xaxis.set_major_locator(DayLocator() if high - low < 7 else AutoDateLocator(minticks=3, maxticks=7))
    axes.xaxis.set_major_formatter(DateFormatter("%b %d" if (high - low) < 300 else "%b %Y"))


def _annotated(points: tuple[Any, ...]) -> list[int]:
    """Which readings carry their value: all of a short series; of a long one the ends, extremes and breaches."""
    if len(points) <= ANNOTATED_POINTS_MAX:
        return list(range(len(points)))
    values = [point.value for point in points]
    chosen = {0, len(points) - 1, values.index(min(values)), values.index(max(values))}
    chosen |= {i for i, point in enumerate(points) if point.breached}
    return sorted(chosen)[: ANNOTATED_POINTS_MAX * 2]


def _lead_time(median_days: float | None, p90_days: float | None) -> str:
    if median_days is None:
        return ""
    text = f"median {_days(median_days)}"
    return text if p90_days is None else f"{text}, p90 {_days(p90_days)}"


def _days(value: float) -> str:
    shown = f"{value:.1f}".removesuffix(".0")
    return f"{shown} day" if shown == "1" else f"{shown} days"


def _share(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "0%"


def _funnel_subtitle(data: FunnelData) -> str:
    return (
        f"{data.reached_production} of {data.total} reached production ({_share(data.reached_production, data.total)})"
    )


def _funnel_alt_text(data: FunnelData) -> str:
    if not data.bars:
        return f'Bar chart "{data.title}": no initiatives.'
    phases = "; ".join(_phrase_bar(bar.phase, bar.entered, bar.median_days, bar.p90_days) for bar in data.bars)
    return f'Bar chart "{data.title}" of initiatives by phase entered: {phases}. {_funnel_subtitle(data)}.'


def _phrase_bar(phase: str, entered: int, median_days: float | None, p90_days: float | None) -> str:
    lead = _lead_time(median_days, p90_days)
    return f"{phase} {entered}" + (f" ({lead})" if lead else "")


def _kpi_alt_text(series: KpiSeries, rule: str) -> str:
    opening = f'Line chart of KPI "{series.title}" against its target {rule}'
    points = series.points
    if not points:
        return f"{opening}: no readings yet."
    unit = series.unit
    values = [point.value for point in points]
    latest = points[-1]
    text = (
        f"{opening}: {len(points)} reading{'s' if len(points) != 1 else ''} "
        f"from {_day(points[0].at)} to {_day(latest.at)}; latest {format_value(latest.value, unit)} "
        f"({'missed' if latest.breached else 'met'} the target), lowest {format_value(min(values), unit)}, "
        f"highest {format_value(max(values), unit)}."
    )
    missed = [point for point in points if point.breached]
    if not missed:
        return text + " Every reading met the target."
    listed = ", ".join(f"{format_value(p.value, unit)} on {_day(p.at)}" for p in missed[:10])
    more = f" and {len(missed) - 10} more" if len(missed) > 10 else ""
    return text + f" {len(missed)} missed the target: {listed}{more}."


def _burnup_subtitle(data: BurnUp) -> str:
    due = f"target date {data.target_date.isoformat()}" if data.target_date else "no target date"
    if not data.points:
        return f"Checkpoints done over time; {due}"
    last = data.points[-1]
    return f"{last.done} of {last.total} checkpoints done ({_share(last.done, last.total)}); {due}"


def _burnup_alt_text(data: BurnUp) -> str:
    due = f"target date {data.target_date.isoformat()}" if data.target_date else "no target date"
    opening = f'Burn-up chart "{data.title}" of checkpoints done against the total'
    if not data.points:
        return f"{opening}: no checkpoints yet; {due}."
    first, last = data.points[0], data.points[-1]
    return (
        f"{opening} from {first.day.isoformat()} to {last.day.isoformat()}: {first.done} of {first.total} done at "
        f"the start, {last.done} of {last.total} done on {last.day.isoformat()} "
        f"({_share(last.done, last.total)}); {due}."
    )


def _day(moment: datetime) -> str:
    return moment.date().isoformat()


def _clip(text: str) -> str:
    return text if len(text) <= ALT_TEXT_MAX else text[: ALT_TEXT_MAX - 1] + "…"


def _filename(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60].rstrip("-")
    return f"{slug or 'chart'}.png"
