"""Charts render as real PNG images of the intended size, are not blank, say in words what they show, and come out
byte for byte the same for the same data."""

from __future__ import annotations

import io
import struct
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.chart_data import BurnUp, BurnUpPoint, FunnelData, KpiPoint, KpiSeries, PhaseBar
from bot.charts import Chart, burnup_chart, funnel_chart, kpi_trend_chart

START = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
AUC_READINGS = (0.84, 0.85, 0.83, 0.80, 0.79, 0.83)


def auc(values: tuple[float, ...] = AUC_READINGS) -> KpiSeries:
    points = tuple(KpiPoint(START + timedelta(days=3 * i), v, v < 0.82) for i, v in enumerate(values))
    return KpiSeries("AUC on holdout", None, ">=", 0.82, points)


def burn(days: int = 30) -> BurnUp:
    points = tuple(
        BurnUpPoint(date(2027, 1, 4) + timedelta(days=i), min(i // 4, 6), 4 + min(i // 6, 3)) for i in range(days)
    )
    return BurnUp("Checkpoints · Churn model v2", points, date(2027, 3, 1))


def funnel() -> FunnelData:
    bars = (
        PhaseBar("discovery", 20, 12.0, 30.0),
        PhaseBar("research", 16, 20.5, 41.0),
        PhaseBar("development", 9, 35.0, 70.0),
        PhaseBar("production", 6, None, None),
        PhaseBar("cancelled", 3, None, None),
    )
    return FunnelData("Funnel since 2026-10-01", bars, 6, 20)


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from the PNG header: the signature, then the IHDR chunk."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def colours(chart: Chart) -> set[tuple[float, ...]]:
    """The distinct colours of the decoded image."""
    from matplotlib.image import imread

    pixels = imread(io.BytesIO(chart.png), format="png")
    assert pixels.shape[:2] == (675, 1200)
    return {tuple(round(float(c), 2) for c in pixel) for pixel in pixels.reshape(-1, pixels.shape[2])[::37]}


ALL_CHARTS = {
    "funnel": lambda: funnel_chart(funnel()),
    "kpi trend": lambda: kpi_trend_chart(auc()),
    "burn-up": lambda: burnup_chart(burn()),
    "kpi without readings": lambda: kpi_trend_chart(auc(())),
    "kpi with one reading": lambda: kpi_trend_chart(auc((0.8,))),
    "burn-up without checkpoints": lambda: burnup_chart(BurnUp("Checkpoints · New", (), None)),
    "burn-up of one day": lambda: burnup_chart(burn(1)),
    "funnel without initiatives": lambda: funnel_chart(FunnelData("Funnel", (), 0, 0)),
}


@pytest.mark.parametrize("make", ALL_CHARTS.values(), ids=ALL_CHARTS.keys())
def test_every_chart_is_a_png_of_slacks_preview_size_that_is_not_blank(make) -> None:
    chart = make()

    assert png_size(chart.png) == (1200, 675)
    assert len(chart.png) < 150_000  # small enough to upload and preview quickly
    # Background, text and at least one coloured mark: a blank or single-colour image has one or two.
    assert len(colours(chart)) >= 5
    assert chart.filename.endswith(".png") and " " not in chart.filename
    assert chart.alt_text and len(chart.alt_text) <= 1000


@pytest.mark.parametrize("make", ALL_CHARTS.values(), ids=ALL_CHARTS.keys())
def test_the_same_data_gives_the_same_bytes(make) -> None:
    assert make().png == make().png


def test_the_png_carries_no_timestamp_or_software_stamp() -> None:
    png = kpi_trend_chart(auc()).png

    assert b"tIME" not in png
    assert b"Software" not in png


def test_kpi_trend_alt_text_gives_the_target_the_range_and_every_miss() -> None:
    chart = kpi_trend_chart(auc())

    assert chart.title == "AUC on holdout"
    assert chart.alt_text == (
        'Line chart of KPI "AUC on holdout" against its target ≥ 0.82: 6 readings from 2027-01-04 to 2027-01-19; '
        "latest 0.83 (met the target), lowest 0.79, highest 0.85. "
        "2 missed the target: 0.8 on 2027-01-13, 0.79 on 2027-01-16."
    )


def test_kpi_trend_in_a_unit_and_lower_is_better() -> None:
    latency = KpiSeries("p95 latency", "ms", "<=", 120, (KpiPoint(START, 130, True),))

    chart = kpi_trend_chart(latency)

    assert chart.alt_text == (
        'Line chart of KPI "p95 latency" against its target ≤ 120 ms: 1 reading from 2027-01-04 to 2027-01-04; '
        "latest 130 ms (missed the target), lowest 130 ms, highest 130 ms. 1 missed the target: 130 ms on 2027-01-04."
    )


def test_kpi_trend_without_readings_says_so() -> None:
    assert kpi_trend_chart(auc(())).alt_text == (
        'Line chart of KPI "AUC on holdout" against its target ≥ 0.82: no readings yet.'
    )


def test_burn_up_alt_text_gives_done_of_total_and_the_target_date() -> None:
    chart = burnup_chart(burn())

    assert chart.alt_text == (
        'Burn-up chart "Checkpoints · Churn model v2" of checkpoints done against the total from 2027-01-04 to '
        "2027-02-02: 0 of 4 done at the start, 6 of 7 done on 2027-02-02 (86%); target date 2027-03-01."
    )
    assert chart.filename == "checkpoints-churn-model-v2.png"


def test_burn_up_without_checkpoints_says_so() -> None:
    chart = burnup_chart(BurnUp("Checkpoints · New", (), None))

    assert chart.alt_text == (
        'Burn-up chart "Checkpoints · New" of checkpoints done against the total: no checkpoints yet; no target date.'
    )


def test_funnel_alt_text_gives_every_phase_with_lead_times_and_the_share_in_production() -> None:
    chart = funnel_chart(funnel())

    assert chart.alt_text == (
        'Bar chart "Funnel since 2026-10-01" of initiatives by phase entered: discovery 20 (median 12 days, p90 30 '
        "days); research 16 (median 20.5 days, p90 41 days); development 9 (median 35 days, p90 70 days); "
        "production 6; cancelled 3. 6 of 20 reached production (30%)."
    )


def test_a_long_series_keeps_its_alt_text_within_slacks_limit() -> None:
    values = tuple(0.7 + (i % 7) * 0.03 for i in range(200))

    chart = kpi_trend_chart(auc(values))

    assert len(chart.alt_text) <= 1000
    assert "and " in chart.alt_text and "more." in chart.alt_text


def test_charts_render_from_several_threads_at_once() -> None:
    from concurrent.futures import ThreadPoolExecutor

    expected = kpi_trend_chart(auc()).png
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: kpi_trend_chart(auc()).png, range(8)))

    assert results == [expected] * 8


def test_dollar_signs_in_names_are_drawn_as_typed_not_read_as_math() -> None:
    """People's text reaches the titles: `$x^$` would not parse as math notation and must not need to."""
    names = ("Pricing $x^$ model", "Price $5 to $10")
    charts = [burnup_chart(BurnUp(f"Checkpoints · {name}", burn().points, None)) for name in names]
    charts += [kpi_trend_chart(KpiSeries(f"Revenue · {name}", "$", ">=", 5.0, auc().points)) for name in names]
    charts += [funnel_chart(FunnelData(f"Funnel: {name}", funnel().bars, 6, 20)) for name in names]
    for chart in charts:
        assert png_size(chart.png) == (1200, 675)
        assert "$" in chart.alt_text
