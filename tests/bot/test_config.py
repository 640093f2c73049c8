"""Settings from the environment, and the JSON-line logs that must never carry a secret."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

from bot.config import (
    DEFAULT_DATABASE_URL,
    DEFAULT_PORT,
    DEFAULT_SLACK_API_URL,
    ConfigError,
    JiraAuth,
    RunMode,
    Settings,
    load_settings,
    log_level_number,
)
from bot.logs import JsonLineFormatter, Redactor, correlation, current_correlation_id, new_correlation_id
from tests.support.paths import ROOT

BOT_TOKEN = "xoxb-1111-2222-SECRETBOTTOKEN"
APP_TOKEN = "xapp-1-A111-SECRETAPPTOKEN"
SIGNING_SECRET = "signing-SECRET-0123456789abcdef"
JIRA_API_TOKEN = "jira-api-SECRET-token-42"
JIRA_PAT = "jira-pat-SECRET-token-99"
DB_PASSWORD = "db-SECRET-hunter2"


def env(**values: str) -> dict[str, str]:
    base = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET}
    base.update(values)
    return base


def problems_of(values: dict[str, str], mode: RunMode = RunMode.HTTP) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(values, mode=mode)
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


# --- defaults ------------------------------------------------------------------------------------------------------


def test_defaults() -> None:
    settings = load_settings(env())
    assert settings == Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_app_token=None,
        slack_api_url=DEFAULT_SLACK_API_URL,
        database_url=DEFAULT_DATABASE_URL,
        jira=None,
        timezone="UTC",
        port=DEFAULT_PORT,
        log_level="INFO",
    )
    assert settings.tz == ZoneInfo("UTC")
    assert settings.secrets == (BOT_TOKEN, SIGNING_SECRET)
    assert log_level_number(settings) == logging.INFO


def test_every_setting_is_read() -> None:
    settings = load_settings(
        env(
            SLACK_APP_TOKEN=APP_TOKEN,
            SLACK_API_URL="https://slack-gov.com/api",
            DATABASE_URL="sqlite:////var/lib/handoff.db",
            HANDOFF_TIMEZONE="Europe/Berlin",
            PORT=" 8080 ",
            LOG_LEVEL="debug",
        ),
        mode=RunMode.SOCKET,
    )
    assert settings.slack_app_token == APP_TOKEN
    assert settings.slack_api_url == "https://slack-gov.com/api/"  # slack_sdk joins method names onto it
    assert settings.database_url == "sqlite:////var/lib/handoff.db"
    assert settings.tz == ZoneInfo("Europe/Berlin")
    assert settings.port == 8080
    assert settings.log_level == "DEBUG"
    assert log_level_number(settings) == logging.DEBUG
    assert set(settings.secrets) == {BOT_TOKEN, SIGNING_SECRET, APP_TOKEN}


def test_blank_values_count_as_unset() -> None:
    settings = load_settings(env(SLACK_API_URL="  ", HANDOFF_TIMEZONE="", PORT=" ", LOG_LEVEL="", JIRA_URL=" "))
    assert (settings.slack_api_url, settings.timezone, settings.port, settings.log_level) == (
        DEFAULT_SLACK_API_URL,
        "UTC",
        DEFAULT_PORT,
        "INFO",
    )
    assert settings.jira is None


def test_load_settings_with_an_explicit_env_ignores_the_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PORT", "not-a-port")
    assert load_settings(env()).port == DEFAULT_PORT


# --- problems, all at once -----------------------------------------------------------------------------------------


def test_every_problem_is_reported_at_once() -> None:
    problems = problems_of(
        {
            "SLACK_BOT_TOKEN": "xoxp-user-token",
            "SLACK_APP_TOKEN": "xoxb-wrong-kind",
            "SLACK_API_URL": "slack.com/api",
            "DATABASE_URL": "handoff.db",
            "HANDOFF_TIMEZONE": "Mars/Olympus",
            "PORT": "99999",
            "LOG_LEVEL": "LOUD",
            "JIRA_EMAIL": "me@example.com",
        }
    )
    assert len(problems) == 9
    starts = [p.split(" ", 1)[0] for p in problems]
    assert starts == [
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_APP_TOKEN",
        "SLACK_API_URL",
        "DATABASE_URL",
        "HANDOFF_TIMEZONE",
        "PORT",
        "LOG_LEVEL",
        "JIRA_EMAIL,",
    ]


def test_missing_slack_credentials_say_where_to_find_them() -> None:
    problems = problems_of({})
    assert len(problems) == 2
    assert "SLACK_BOT_TOKEN is not set" in problems[0] and "OAuth & Permissions" in problems[0]
    assert "SLACK_SIGNING_SECRET is not set" in problems[1] and "Basic Information" in problems[1]


@pytest.mark.parametrize("token", ["xoxp-user-token-1", "xapp-1-abc", "plain-SECRET-value", "Bearer xoxb-1"])
def test_bot_token_must_be_a_bot_token(token: str) -> None:
    problems = problems_of(env(SLACK_BOT_TOKEN=token))
    assert len(problems) == 1
    assert "must start with 'xoxb-'" in problems[0]
    assert token not in problems[0]


def test_app_token_must_be_an_app_token() -> None:
    problems = problems_of(env(SLACK_APP_TOKEN="xoxb-not-an-app-token"))
    assert len(problems) == 1
    assert "must start with 'xapp-'" in problems[0]
    assert "xoxb-not-an-app-token" not in problems[0]


def test_socket_mode_needs_an_app_token() -> None:
    problems = problems_of(env(), mode=RunMode.SOCKET)
    assert len(problems) == 1
    assert "SLACK_APP_TOKEN is not set, and Socket Mode needs it" in problems[0]
    assert load_settings(env(SLACK_APP_TOKEN=APP_TOKEN), mode=RunMode.SOCKET).slack_app_token == APP_TOKEN


def test_http_mode_does_not_need_an_app_token() -> None:
    assert load_settings(env(), mode=RunMode.HTTP).slack_app_token is None


def test_offline_mode_needs_no_slack_credentials() -> None:
    settings = load_settings({}, mode=RunMode.OFFLINE)
    assert (settings.slack_bot_token, settings.slack_signing_secret, settings.slack_app_token) == ("", "", None)
    assert settings.secrets == ()
    # A wrong token is still wrong, offline or not.
    assert "xapp-" in problems_of({"SLACK_APP_TOKEN": "nope-token"}, mode=RunMode.OFFLINE)[0]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://slack.com/api", "https://slack.com/api/"),
        ("https://slack.com/api/", "https://slack.com/api/"),
        ("http://127.0.0.1:8999/api", "http://127.0.0.1:8999/api/"),
    ],
)
def test_slack_api_url_gets_a_trailing_slash(url: str, expected: str) -> None:
    assert load_settings(env(SLACK_API_URL=url)).slack_api_url == expected


@pytest.mark.parametrize("url", ["slack.com/api", "ftp://slack.com/api", "https://", "not a url"])
def test_slack_api_url_must_be_http(url: str) -> None:
    problems = problems_of(env(SLACK_API_URL=url))
    assert len(problems) == 1
    assert problems[0].startswith("SLACK_API_URL must be an http(s) URL")


def test_database_url_must_be_a_url() -> None:
    problems = problems_of(env(DATABASE_URL="handoff.db"))
    assert problems == [
        "DATABASE_URL must be an SQLAlchemy URL such as sqlite:///handoff.db or postgresql+psycopg://user@host/handoff."
    ]


@pytest.mark.parametrize("zone", ["Mars/Olympus", "CEST", "../etc/passwd", "Europe/"])
def test_bad_timezone(zone: str) -> None:
    problems = problems_of(env(HANDOFF_TIMEZONE=zone))
    assert len(problems) == 1
    assert "is not a known IANA time zone" in problems[0]


@pytest.mark.parametrize("port", ["0", "65536", "-1", "80.5", "http", "3e3"])
def test_bad_port(port: str) -> None:
    problems = problems_of(env(PORT=port))
    assert problems == [f"PORT must be a whole number from 1 to 65535, got {port!r}."]


@pytest.mark.parametrize("port", ["1", "65535"])
def test_port_bounds(port: str) -> None:
    assert load_settings(env(PORT=port)).port == int(port)


def test_bad_log_level() -> None:
    problems = problems_of(env(LOG_LEVEL="verbose"))
    assert problems == ["LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got 'VERBOSE'."]


# --- Jira ----------------------------------------------------------------------------------------------------------


def test_jira_cloud() -> None:
    settings = load_settings(
        env(JIRA_URL="https://acme.atlassian.net/", JIRA_EMAIL="bot@acme.com", JIRA_API_TOKEN=JIRA_API_TOKEN)
    )
    assert settings.jira is not None
    assert settings.jira.auth is JiraAuth.CLOUD
    assert settings.jira.url == "https://acme.atlassian.net"
    assert (settings.jira.email, settings.jira.api_token, settings.jira.personal_token) == (
        "bot@acme.com",
        JIRA_API_TOKEN,
        None,
    )
    assert JIRA_API_TOKEN in settings.secrets


def test_jira_data_center() -> None:
    settings = load_settings(env(JIRA_URL="https://jira.acme.internal", JIRA_TOKEN=JIRA_PAT))
    assert settings.jira is not None
    assert settings.jira.auth is JiraAuth.DATA_CENTER
    assert settings.jira.personal_token == JIRA_PAT
    assert settings.jira.email is None and settings.jira.api_token is None
    assert JIRA_PAT in settings.secrets


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"JIRA_URL": "https://acme.atlassian.net", "JIRA_EMAIL": "bot@acme.com"}, "JIRA_API_TOKEN is missing"),
        ({"JIRA_URL": "https://acme.atlassian.net", "JIRA_API_TOKEN": JIRA_API_TOKEN}, "JIRA_EMAIL is missing"),
        ({"JIRA_URL": "https://acme.atlassian.net"}, "JIRA_URL is set but no credentials are"),
        ({"JIRA_TOKEN": JIRA_PAT}, "JIRA_URL is not"),
        ({"JIRA_EMAIL": "bot@acme.com", "JIRA_API_TOKEN": JIRA_API_TOKEN}, "JIRA_URL is not"),
        ({"JIRA_URL": "acme.atlassian.net", "JIRA_TOKEN": JIRA_PAT}, "JIRA_URL must be an http(s) URL"),
        (
            {
                "JIRA_URL": "https://acme.atlassian.net",
                "JIRA_EMAIL": "bot@acme.com",
                "JIRA_API_TOKEN": JIRA_API_TOKEN,
                "JIRA_TOKEN": JIRA_PAT,
            },
            "not both",
        ),
    ],
    ids=["email-only", "api-token-only", "url-only", "pat-without-url", "cloud-without-url", "bad-url", "both"],
)
def test_partial_or_mixed_jira_config(values: dict[str, str], expected: str) -> None:
    problems = problems_of(env(**values))
    assert len(problems) == 1
    assert expected in problems[0]


def test_a_command_that_needs_jira_reports_missing_jira_settings_with_the_others() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env(PORT="x"), mode=RunMode.OFFLINE, jira_needed_by="`handoff run jira-sync`")
    assert caught.value.problems == [
        "PORT must be a whole number from 1 to 65535, got 'x'.",
        "Jira is not configured, and `handoff run jira-sync` needs it: set `JIRA_URL` and either `JIRA_EMAIL` + "
        "`JIRA_API_TOKEN` (Jira Cloud) or `JIRA_TOKEN` (Jira Data Center personal access token).",
    ]
    # Half a Jira configuration is reported once, as it always is, not twice.
    half = problems_of_needing_jira(env(JIRA_TOKEN=JIRA_PAT))
    assert len(half) == 1 and "JIRA_URL is not" in half[0]
    configured = env(JIRA_URL="https://jira.acme.internal", JIRA_TOKEN=JIRA_PAT)
    assert load_settings(configured, mode=RunMode.OFFLINE, jira_needed_by="`handoff run jira-sync`").jira is not None


def problems_of_needing_jira(values: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(values, mode=RunMode.OFFLINE, jira_needed_by="`handoff run jira-sync`")
    return caught.value.problems


# --- secrets stay secret -------------------------------------------------------------------------------------------

SECRETS = (BOT_TOKEN, APP_TOKEN, SIGNING_SECRET, JIRA_API_TOKEN, JIRA_PAT, DB_PASSWORD)


@pytest.mark.parametrize(
    "values",
    [
        {"SLACK_BOT_TOKEN": "xoxq-" + BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "PORT": "x"},
        {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_APP_TOKEN": "x" + APP_TOKEN},
        {
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "JIRA_URL": "https://acme.atlassian.net",
            "JIRA_API_TOKEN": JIRA_API_TOKEN,
            "JIRA_TOKEN": JIRA_PAT,
        },
        {"SLACK_BOT_TOKEN": BOT_TOKEN, "JIRA_API_TOKEN": JIRA_API_TOKEN, "LOG_LEVEL": "x"},
        {"SLACK_BOT_TOKEN": BOT_TOKEN, "JIRA_URL": "https://acme.atlassian.net", "JIRA_TOKEN": "", "PORT": "0"},
        {"SLACK_BOT_TOKEN": BOT_TOKEN, "DATABASE_URL": f"postgresql:/handoff:{DB_PASSWORD}@db/handoff"},
    ],
)
def test_problems_never_contain_secret_values(values: dict[str, str]) -> None:
    problems = problems_of(values)
    assert problems
    for problem in problems:
        for secret in SECRETS:
            assert secret not in problem


def test_repr_of_settings_hides_secrets() -> None:
    settings = load_settings(
        env(
            SLACK_APP_TOKEN=APP_TOKEN,
            JIRA_URL="https://acme.atlassian.net",
            JIRA_EMAIL="bot@acme.com",
            JIRA_API_TOKEN=JIRA_API_TOKEN,
        ),
        mode=RunMode.SOCKET,
    )
    shown = repr(settings) + str(settings)
    for secret in SECRETS:
        assert secret not in shown
    assert "acme.atlassian.net" in shown  # the non-secret parts are still there to debug with
    data_center = load_settings(env(JIRA_URL="https://jira.acme.internal", JIRA_TOKEN=JIRA_PAT))
    assert JIRA_PAT not in repr(data_center)


def test_repr_of_settings_hides_the_database_password() -> None:
    settings = load_settings(env(DATABASE_URL=f"postgresql+psycopg://handoff:{DB_PASSWORD}@db.internal/handoff"))
    assert settings.database_url.endswith("@db.internal/handoff")
    assert DB_PASSWORD not in repr(settings)


# --- logs ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLineFormatter(Redactor([SIGNING_SECRET, JIRA_API_TOKEN, "short"])))
    logger = logging.getLogger("tests.handoff.logs")
    logger.handlers = [handler]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.handlers = []


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    raw = stream.getvalue().splitlines()
    return [json.loads(line) for line in raw]


def test_log_lines_are_json_objects(log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = log
    logger.info("hello %s", "world")
    logger.warning("two\nlines", extra={"initiative_id": 7, "channel": "C0CHURN", "ok": True})
    entries = lines(stream)
    assert len(entries) == 2
    first, second = entries
    assert first["msg"] == "hello world"
    assert (first["level"], first["logger"]) == ("info", "tests.handoff.logs")
    assert str(first["ts"]).endswith("+00:00")
    assert "id" not in first
    assert second["msg"] == "two\nlines"
    assert (second["initiative_id"], second["channel"], second["ok"]) == (7, "C0CHURN", True)


def test_log_lines_carry_the_correlation_id(log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = log
    with correlation("req-outer"):
        logger.info("outer")
        with correlation("job-inner") as inner:
            assert inner == "job-inner"
            logger.info("inner")
        logger.info("outer again")
    logger.info("outside")
    logger.info("explicit", extra={"correlation_id": "evt-1"})
    ids = [entry.get("id") for entry in lines(stream)]
    assert ids == ["req-outer", "job-inner", "req-outer", None, "evt-1"]
    assert current_correlation_id() is None


def test_new_correlation_ids_are_unique_and_prefixed() -> None:
    first, second = new_correlation_id(), new_correlation_id("job")
    assert first.startswith("req-") and second.startswith("job-")
    assert first != new_correlation_id()


def test_exceptions_are_one_line_and_redacted(log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = log
    try:
        raise RuntimeError(f"auth failed with {JIRA_API_TOKEN}")
    except RuntimeError:
        logger.exception("jira call failed")
    output = stream.getvalue()
    assert output.count("\n") == 1
    (entry,) = lines(stream)
    assert "RuntimeError: auth failed with [redacted]" in str(entry["exc"])
    assert JIRA_API_TOKEN not in output


def test_redactor_masks_configured_secrets_and_slack_token_shapes(log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = log
    logger.info("secret=%s", SIGNING_SECRET)
    logger.info("Authorization: Bearer xoxb-999-888-unconfiguredToken")
    logger.info("app xapp-1-A0B-123-abc, user xoxp-1-2 and xoxe-1 stays")
    logger.info("not secret: short", extra={"token": JIRA_API_TOKEN})
    output = stream.getvalue()
    for leaked in (SIGNING_SECRET, "xoxb-999", "xapp-1", "xoxp-1", JIRA_API_TOKEN):
        assert leaked not in output
    entries = lines(stream)
    assert entries[0]["msg"] == "secret=[redacted]"
    assert entries[1]["msg"] == "Authorization: Bearer [redacted]"
    assert entries[2]["msg"] == "app [redacted], user [redacted] and xoxe-1 stays"
    assert entries[3]["msg"] == "not secret: short"  # secrets under 6 characters would mask ordinary words
    assert entries[3]["token"] == "[redacted]"


def test_redactor_prefers_the_longest_secret() -> None:
    redact = Redactor(["abcdef", "abcdefghij", "", None])  # type: ignore[list-item]
    assert redact("x abcdefghij y abcdef") == "x [redacted] y [redacted]"


class RecordingEnv(dict[str, str]):
    """An environment that remembers every variable the settings asked for, set or not."""

    def __init__(self, values: dict[str, str]):
        super().__init__(values)
        self.asked: set[str] = set()

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.asked.add(str(key))
        return super().__contains__(key)


def test_env_example_lists_every_setting_the_code_reads() -> None:
    """`.env.example` is where people learn the settings: each one read in any mode is in it, and nothing else."""
    asked: set[str] = set()
    for mode in RunMode:
        recording = RecordingEnv(env(SLACK_APP_TOKEN=APP_TOKEN))
        load_settings(recording, mode=mode)
        asked |= recording.asked
    example = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", example, flags=re.MULTILINE))
    assert asked == listed
