"""The settings of the KPI sources: MLflow, Prometheus and the polling interval."""

from __future__ import annotations

import pytest

from bot.config import (
    DEFAULT_KPI_POLL_MINUTES,
    ConfigError,
    MlflowSettings,
    PrometheusSettings,
    load_settings,
)

MLFLOW_TOKEN = "mlflow-SECRET-token-17"
MLFLOW_PASSWORD = "mlflow-SECRET-password-23"
PROMETHEUS_TOKEN = "prometheus-SECRET-token-31"


def env(**values: str) -> dict[str, str]:
    return {"SLACK_BOT_TOKEN": "xoxb-1-2-token", "SLACK_SIGNING_SECRET": "signing-secret", **values}


def problems_of(values: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(values)
    return caught.value.problems


def test_without_the_settings_no_source_is_configured_and_kpis_are_read_hourly() -> None:
    settings = load_settings(env())
    assert settings.mlflow is None
    assert settings.prometheus is None
    assert settings.kpi_poll_minutes == DEFAULT_KPI_POLL_MINUTES == 60


def test_mlflow_with_a_token_and_prometheus_with_a_bearer_token() -> None:
    settings = load_settings(
        env(
            MLFLOW_TRACKING_URI="http://mlflow.internal:5000/",
            MLFLOW_TRACKING_TOKEN=MLFLOW_TOKEN,
            PROMETHEUS_URL="https://prometheus.internal:9090",
            PROMETHEUS_BEARER_TOKEN=PROMETHEUS_TOKEN,
            HANDOFF_KPI_POLL_MINUTES="15",
        )
    )
    assert settings.mlflow == MlflowSettings(url="http://mlflow.internal:5000", token=MLFLOW_TOKEN)
    assert settings.prometheus == PrometheusSettings(
        url="https://prometheus.internal:9090", bearer_token=PROMETHEUS_TOKEN
    )
    assert settings.kpi_poll_minutes == 15
    assert {MLFLOW_TOKEN, PROMETHEUS_TOKEN} <= set(settings.secrets)
    assert MLFLOW_TOKEN not in repr(settings) and PROMETHEUS_TOKEN not in repr(settings)


def test_mlflow_with_a_username_and_password() -> None:
    settings = load_settings(
        env(
            MLFLOW_TRACKING_URI="http://mlflow.internal:5000",
            MLFLOW_TRACKING_USERNAME="handoff",
            MLFLOW_TRACKING_PASSWORD=MLFLOW_PASSWORD,
        )
    )
    assert settings.mlflow == MlflowSettings(
        url="http://mlflow.internal:5000", username="handoff", password=MLFLOW_PASSWORD
    )
    assert MLFLOW_PASSWORD in settings.secrets
    assert MLFLOW_PASSWORD not in repr(settings)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"MLFLOW_TRACKING_URI": "file:///home/ds/mlruns"}, "MLFLOW_TRACKING_URI must be the http(s) URL"),
        ({"MLFLOW_TRACKING_TOKEN": MLFLOW_TOKEN}, "MLFLOW_TRACKING_URI is not"),
        (
            {
                "MLFLOW_TRACKING_URI": "http://m:5000",
                "MLFLOW_TRACKING_TOKEN": MLFLOW_TOKEN,
                "MLFLOW_TRACKING_USERNAME": "x",
            },
            "not both",
        ),
        ({"MLFLOW_TRACKING_URI": "http://m:5000", "MLFLOW_TRACKING_PASSWORD": MLFLOW_PASSWORD}, "go together"),
        ({"PROMETHEUS_URL": "prometheus:9090"}, "PROMETHEUS_URL must be an http(s) URL"),
        ({"PROMETHEUS_BEARER_TOKEN": PROMETHEUS_TOKEN}, "PROMETHEUS_URL is not"),
        ({"HANDOFF_KPI_POLL_MINUTES": "0"}, "HANDOFF_KPI_POLL_MINUTES must be a whole number from 1 to 1440"),
        ({"HANDOFF_KPI_POLL_MINUTES": "hourly"}, "HANDOFF_KPI_POLL_MINUTES must be a whole number from 1 to 1440"),
    ],
)
def test_unusable_source_settings_say_how_to_fix_them_without_showing_secrets(
    values: dict[str, str], expected: str
) -> None:
    problems = problems_of(env(**values))
    assert any(expected in problem for problem in problems), problems
    for problem in problems:
        assert MLFLOW_TOKEN not in problem and MLFLOW_PASSWORD not in problem and PROMETHEUS_TOKEN not in problem


def test_a_password_in_the_server_url_is_a_secret_too() -> None:
    settings = load_settings(env(MLFLOW_TRACKING_URI=f"https://handoff:{MLFLOW_PASSWORD}@mlflow.internal"))
    assert MLFLOW_PASSWORD in settings.secrets
