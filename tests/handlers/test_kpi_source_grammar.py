"""`/handoff kpi source …` as Slack sends it (escaped, quotes as typed) to a typed command, or a usage error that
says what was wrong."""

from __future__ import annotations

from datetime import date

import pytest

from bot.kpi_sources.spec import MlflowSpec, PrometheusSpec, RunPick
from handlers.command_table import parse_command as parse_command_on
from handlers.grammar import UsageError
from handlers.kpis import KPI_USAGE, KpiSourceCommand
from handlers.subcommand import Command
from storage.models import SOURCE_FILTER_MAX, SOURCE_QUERY_MAX, SOURCE_TEXT_MAX

TODAY = date(2027, 1, 4)


def parse(text: str) -> Command:
    return parse_command_on(text, today=TODAY)


def usage_error(text: str) -> UsageError:
    with pytest.raises(UsageError) as caught:
        parse(text)
    assert caught.value.usage_of == "kpi source", caught.value.message
    return caught.value


def test_an_mlflow_source_with_every_option() -> None:
    command = parse(
        'kpi source churn "AUC on holdout" mlflow experiment:churn-model metric:val_auc run:best '
        "filter:\"tags.dataset = 'holdout'\" model:churn alias:champion"
    )

    assert command == KpiSourceCommand(
        "churn",
        "AUC on holdout",
        MlflowSpec(
            experiment="churn-model",
            metric="val_auc",
            run=RunPick.BEST,
            filter="tags.dataset = 'holdout'",
            model="churn",
            alias="champion",
        ),
    )


def test_an_mlflow_source_reads_the_latest_run_unless_told_and_words_are_any_case() -> None:
    command = parse('kpi source churn "AUC" MLflow experiment:"churn model" metric:auc run:LATEST')

    assert command == KpiSourceCommand("churn", "AUC", MlflowSpec("churn model", "auc", RunPick.LATEST))


def test_a_prometheus_query_keeps_its_single_quotes_and_what_slack_escaped() -> None:
    command = parse(
        'kpi source churn "p95 latency" prometheus query:"histogram_quantile(0.95, rate(latency_bucket{job=\'api\'}'
        '[5m])) &gt; 0"'
    )

    assert command == KpiSourceCommand(
        "churn",
        "p95 latency",
        PrometheusSpec("histogram_quantile(0.95, rate(latency_bucket{job='api'}[5m])) > 0"),
    )


def test_an_email_slack_made_a_link_of_is_read_as_typed() -> None:
    command = parse(
        'kpi source churn "AUC" mlflow experiment:"/Users/<mailto:alice@corp.com|alice@corp.com>/churn" metric:auc '
        "filter:\"tags.owner = '<mailto:bob@corp.com>'\""
    )

    assert command == KpiSourceCommand(
        "churn", "AUC", MlflowSpec("/Users/alice@corp.com/churn", "auc", filter="tags.owner = 'bob@corp.com'")
    )


def test_a_host_name_slack_made_a_link_of_is_read_as_typed_and_a_comparison_is_kept() -> None:
    command = parse(
        'kpi source churn "up" prometheus query:"up{instance=\'<http://api.example.com:9100|api.example.com:9100>\'} '
        "&lt; 1 or up{instance='<https://db.example.com>'} &gt; 0\""
    )

    assert command == KpiSourceCommand(
        "churn",
        "up",
        PrometheusSpec("up{instance='api.example.com:9100'} < 1 or up{instance='https://db.example.com'} > 0"),
    )


def test_the_initiative_may_be_left_out_when_the_name_is_quoted() -> None:
    assert parse('kpi source "AUC" mlflow experiment:e metric:m') == KpiSourceCommand(None, "AUC", MlflowSpec("e", "m"))
    assert parse('kpi source "AUC" off') == KpiSourceCommand(None, "AUC", off=True)
    assert parse('kpi source "AUC"') == KpiSourceCommand(None, "AUC")


def test_off_and_the_source_alone() -> None:
    assert parse('kpi source churn "AUC" off') == KpiSourceCommand("churn", "AUC", off=True)
    assert parse("kpi source churn AUC on holdout") == KpiSourceCommand("churn", "AUC on holdout")
    shown = parse('kpi source churn "AUC"')
    assert isinstance(shown, KpiSourceCommand) and shown.shows


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("mlfow experiment:e metric:m", "mlflow"),
        ("prometeus query:up", "prometheus"),
        ("of", "off"),
    ],
)
def test_a_mistyped_source_is_named_with_the_one_meant(typed: str, meant: str) -> None:
    error = usage_error(f'kpi source churn "AUC" {typed}')

    word = typed.split()[0]
    assert error.message == f'"{word}" is not a source. Did you mean `{meant}`? Sources: mlflow, prometheus, off.'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('kpi source churn "AUC" mlflow metric:auc', "MLflow needs an experiment."),
        ('kpi source churn "AUC" mlflow experiment:churn', "MLflow needs a metric."),
        ('kpi source churn "AUC" mlflow', "MLflow needs an experiment. MLflow needs a metric."),
        ('kpi source churn "AUC" prometheus', "Prometheus needs a query."),
        ('kpi source churn "AUC" prometheus query:""', "Prometheus needs a query."),
        (
            'kpi source churn "AUC" mlflow experiment:e metric:m model:churn',
            "A registered model and its alias go together: give both (`model:churn alias:champion`), or neither.",
        ),
        (
            'kpi source churn "AUC" mlflow experiment:e metric:m alias:champion',
            "A registered model and its alias go together: give both (`model:churn alias:champion`), or neither.",
        ),
        (
            'kpi source churn "AUC" mlflow experiment:e metric:m run:newest',
            '`run:` is `latest` or `best`, not "newest".',
        ),
        (
            'kpi source churn "AUC" mlflow experiment:e metric:m query:up',
            "`query:` is not an option here. Options: `alias:` `experiment:` `filter:` `metric:` `model:` `run:`.",
        ),
        (
            'kpi source churn "AUC" prometheus query:up metric:m',
            "`metric:` is not an option here. Options: `query:`.",
        ),
        ('kpi source churn "AUC" off now', '`off` takes nothing after it; "now" is one word too many.'),
        (
            "kpi source churn experiment:e metric:m",
            "`kpi source` needs where to read from before its options: `mlflow` or `prometheus`.",
        ),
        ("kpi source", '`kpi source` needs the initiative, then the KPI\'s name: `kpi source churn "AUC"`.'),
        ("kpi source churn", '`kpi source` needs the initiative, then the KPI\'s name: `kpi source churn "AUC"`.'),
    ],
)
def test_what_is_wrong_is_said(text: str, message: str) -> None:
    assert usage_error(text).message == message


@pytest.mark.parametrize(
    ("option", "limit"),
    [
        ("experiment", SOURCE_TEXT_MAX),
        ("metric", SOURCE_TEXT_MAX),
        ("filter", SOURCE_FILTER_MAX),
    ],
)
def test_mlflow_text_longer_than_its_column_is_refused(option: str, limit: int) -> None:
    values = {"experiment": "e", "metric": "m", option: "x" * (limit + 1)}
    typed = " ".join(f'{key}:"{value}"' for key, value in values.items())

    error = usage_error(f'kpi source churn "AUC" mlflow {typed}')

    assert error.message == f"The {option} is {limit + 1} characters long; the limit is {limit}."


def test_a_query_longer_than_its_column_is_refused() -> None:
    error = usage_error(f'kpi source churn "AUC" prometheus query:"{"u" * (SOURCE_QUERY_MAX + 1)}"')

    assert error.message == f"The query is {SOURCE_QUERY_MAX + 1} characters long; the limit is {SOURCE_QUERY_MAX}."


def test_a_mistyped_kpi_action_suggests_source() -> None:
    with pytest.raises(UsageError) as caught:
        parse('kpi sorce churn "AUC" off')

    assert "Did you mean `source`?" in caught.value.message


def test_the_usage_says_how_to_quote_promql_label_values() -> None:
    usage = dict(KPI_USAGE)["kpi source"]

    assert "single quotes" in usage and "cannot nest double quotes" in usage
