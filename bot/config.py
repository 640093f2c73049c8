"""One frozen `Settings`, built once from the environment and an optional `.env` file.

Every problem with the configuration is collected and reported together, so an operator fixes them in one
pass instead of discovering them one restart at a time. Secret values never appear in those messages.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.checklist import ChecklistConfig, ChecklistFileError, load_checklist_file

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE_URL = "sqlite:///handoff.db"
DEFAULT_PORT = 3000
DEFAULT_JIRA_ISSUE_TYPE = "Task"
DEFAULT_KPI_STALE_DAYS = 14
DEFAULT_NUDGE_COOLDOWN_DAYS = 3
DEFAULT_NUDGE_DELAY_MINUTES = 30
DEFAULT_JIRA_SYNC_MINUTES = 5
DEFAULT_KPI_POLL_MINUTES = 60
DEFAULT_STANDUP_REMINDER_HOURS = 3
DEFAULT_SLACK_POSTS_PER_MINUTE = 300
SAME_DAY = "same-day"
WEBHOOK_SECRET_MIN_LENGTH = 16
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# What Jira needs, in the words of every message that says Jira is not configured (backticks keep Slack from
# reading the underscores as italics).
JIRA_SETTINGS_NEEDED = (
    "`JIRA_URL` and either `JIRA_EMAIL` + `JIRA_API_TOKEN` (Jira Cloud) or `JIRA_TOKEN` (Jira Data Center personal "
    "access token)"
)
# What each KPI source needs, in the words of every message that says it is not configured.
MLFLOW_SETTINGS_NEEDED = (
    "`MLFLOW_TRACKING_URI` (the tracking server, such as http://mlflow.internal:5000), with `MLFLOW_TRACKING_TOKEN` "
    "or `MLFLOW_TRACKING_USERNAME` + `MLFLOW_TRACKING_PASSWORD` if the server asks for them"
)
PROMETHEUS_SETTINGS_NEEDED = (
    "`PROMETHEUS_URL` (such as http://prometheus.internal:9090), with `PROMETHEUS_BEARER_TOKEN` if the server asks "
    "for one"
)
JIRA_NOT_CONFIGURED = f"Jira is not configured for Handoff. Whoever runs Handoff can set {JIRA_SETTINGS_NEEDED}."


class ConfigError(Exception):
    """The configuration is unusable; `problems` lists every reason with how to fix it."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class RunMode(StrEnum):
    """What the process is about to do decides which settings are required."""

    SOCKET = "socket"
    HTTP = "http"
    JOB = "job"  # `handoff run …`: posts to Slack once, so it needs the bot token like `serve`, not the app token
    OFFLINE = "offline"  # the console and maintenance commands: no real Slack connection


class JiraAuth(StrEnum):
    CLOUD = "cloud"  # email + API token, basic auth
    DATA_CENTER = "data_center"  # personal access token, bearer auth


@dataclass(frozen=True)
class JiraSettings:
    url: str
    auth: JiraAuth
    email: str | None = field(default=None, repr=False)
    api_token: str | None = field(default=None, repr=False)
    personal_token: str | None = field(default=None, repr=False)
    webhook_secret: str | None = field(default=None, repr=False)
    issue_type: str = DEFAULT_JIRA_ISSUE_TYPE


@dataclass(frozen=True)
class MlflowSettings:
    """An MLflow tracking server, read over its REST API."""

    url: str
    token: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class PrometheusSettings:
    """A Prometheus server (or anything answering its HTTP API), read with instant queries."""

    url: str
    bearer_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str = field(repr=False)
    slack_signing_secret: str = field(repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_api_url: str = DEFAULT_SLACK_API_URL
    database_url: str = field(default=DEFAULT_DATABASE_URL, repr=False)  # may hold a password
    jira: JiraSettings | None = None
    mlflow: MlflowSettings | None = None
    prometheus: PrometheusSettings | None = None
    kpi_poll_minutes: int = DEFAULT_KPI_POLL_MINUTES  # sourced KPIs are read this often
    timezone: str = "UTC"
    port: int = DEFAULT_PORT
    log_level: str = "INFO"
    checklist: ChecklistConfig = field(default_factory=ChecklistConfig)
    kpi_stale_days: int = DEFAULT_KPI_STALE_DAYS
    # How late a missed digest or nudge may still run: None for "the same local day", else at most this long.
    catch_up_within: timedelta | None = None
    nudge_cooldown_days: int = DEFAULT_NUDGE_COOLDOWN_DAYS
    nudge_delay_minutes: int = DEFAULT_NUDGE_DELAY_MINUTES  # nudges follow the digest by this much
    jira_sync_minutes: int = DEFAULT_JIRA_SYNC_MINUTES
    standup_reminder_hours: int = DEFAULT_STANDUP_REMINDER_HOURS  # one reminder this long after an unanswered prompt
    # Scheduled posts (digests, nudges, prompts) across the workspace; Slack limits them beyond one a second a channel.
    slack_posts_per_minute: int = DEFAULT_SLACK_POSTS_PER_MINUTE

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value, so log redaction can mask them wherever they would appear."""
        values = [
            self.slack_bot_token,
            self.slack_signing_secret,
            self.slack_app_token,
            _url_password(self.database_url),
        ]
        if self.jira is not None:
            values += [self.jira.api_token, self.jira.personal_token, self.jira.webhook_secret]
        if self.mlflow is not None:
            values += [self.mlflow.token, self.mlflow.password, urlparse(self.mlflow.url).password]
        if self.prometheus is not None:
            values += [self.prometheus.bearer_token, urlparse(self.prometheus.url).password]
        return tuple(v for v in values if v)


def load_settings(
    env: Mapping[str, str] | None = None,
    *,
    mode: RunMode = RunMode.HTTP,
    dotenv_path: str | None = ".env",
    jira_needed_by: str | None = None,
) -> Settings:
    """Build `Settings` from `env` (default: `os.environ` after loading `.env`), or raise `ConfigError`.

    `jira_needed_by` names a command that cannot work without Jira; missing Jira settings are then a problem too.
    """
    if env is None:
        import os

        from dotenv import load_dotenv

        if dotenv_path:
            # The real environment wins over the file, as twelve-factor deployments expect.
            load_dotenv(dotenv_path, override=False)
        env = os.environ
    return _parse(env, mode, jira_needed_by)


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _parse(env: Mapping[str, str], mode: RunMode, jira_needed_by: str | None) -> Settings:
    problems: list[str] = []

    bot_token = _get(env, "SLACK_BOT_TOKEN")
    signing_secret = _get(env, "SLACK_SIGNING_SECRET")
    app_token = _get(env, "SLACK_APP_TOKEN")
    if mode is not RunMode.OFFLINE:
        if bot_token is None:
            problems.append(
                "SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token (xoxb-...) from your Slack app's "
                "OAuth & Permissions page."
            )
        elif not bot_token.startswith("xoxb-"):
            problems.append(
                "SLACK_BOT_TOKEN does not look like a bot token: it must start with 'xoxb-' "
                "(OAuth & Permissions > Bot User OAuth Token)."
            )
        if signing_secret is None:
            problems.append(
                "SLACK_SIGNING_SECRET is not set: copy the Signing Secret from your Slack app's Basic Information page."
            )
    if app_token is not None and not app_token.startswith("xapp-"):
        problems.append(
            "SLACK_APP_TOKEN does not look like an app-level token: it must start with 'xapp-' "
            "(Basic Information > App-Level Tokens, with the connections:write scope)."
        )
    elif mode is RunMode.SOCKET and app_token is None:
        problems.append(
            "SLACK_APP_TOKEN is not set, and Socket Mode needs it: create an app-level token with the "
            "connections:write scope (Basic Information > App-Level Tokens), or run `handoff serve --http`."
        )

    slack_api_url = _get(env, "SLACK_API_URL") or DEFAULT_SLACK_API_URL
    if not _is_http_url(slack_api_url):
        problems.append(f"SLACK_API_URL must be an http(s) URL such as {DEFAULT_SLACK_API_URL}, got {slack_api_url!r}.")
    elif not slack_api_url.endswith("/"):
        slack_api_url += "/"

    database_url = _get(env, "DATABASE_URL") or DEFAULT_DATABASE_URL
    if "://" not in database_url:
        problems.append(
            "DATABASE_URL must be an SQLAlchemy URL such as sqlite:///handoff.db or "
            "postgresql+psycopg://user@host/handoff."
        )

    timezone = _get(env, "HANDOFF_TIMEZONE") or "UTC"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(
            f"HANDOFF_TIMEZONE {timezone!r} is not a known IANA time zone: use a name like Europe/Berlin or UTC."
        )

    port = DEFAULT_PORT
    raw_port = _get(env, "PORT")
    if raw_port is not None:
        if _is_whole_number(raw_port) and 1 <= int(raw_port) <= 65535:
            port = int(raw_port)
        else:
            problems.append(f"PORT must be a whole number from 1 to 65535, got {raw_port!r}.")

    log_level = (_get(env, "LOG_LEVEL") or "INFO").upper()
    if log_level not in LOG_LEVELS:
        problems.append(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}.")

    jira = _parse_jira(env, problems, jira_needed_by)
    mlflow = _parse_mlflow(env, problems)
    prometheus = _parse_prometheus(env, problems)
    kpi_poll_minutes = _bounded(env, "HANDOFF_KPI_POLL_MINUTES", DEFAULT_KPI_POLL_MINUTES, 1, 1440, problems)

    checklist = ChecklistConfig()
    checklist_path = _get(env, "HANDOFF_CHECKLIST")
    if checklist_path is not None:
        try:
            checklist = load_checklist_file(checklist_path)
        except ChecklistFileError as error:
            problems += error.problems

    kpi_stale_days = DEFAULT_KPI_STALE_DAYS
    raw_stale = _get(env, "HANDOFF_KPI_STALE_DAYS")
    if raw_stale is not None:
        if _is_whole_number(raw_stale) and 1 <= int(raw_stale) <= 365:
            kpi_stale_days = int(raw_stale)
        else:
            problems.append(f"HANDOFF_KPI_STALE_DAYS must be a whole number of days from 1 to 365, got {raw_stale!r}.")

    catch_up_within = _parse_catch_up(_get(env, "HANDOFF_CATCH_UP"), problems)
    nudge_cooldown_days = _bounded(env, "HANDOFF_NUDGE_COOLDOWN_DAYS", DEFAULT_NUDGE_COOLDOWN_DAYS, 1, 90, problems)
    nudge_delay_minutes = _bounded(env, "HANDOFF_NUDGE_DELAY_MINUTES", DEFAULT_NUDGE_DELAY_MINUTES, 0, 720, problems)
    jira_sync_minutes = _bounded(env, "HANDOFF_JIRA_SYNC_MINUTES", DEFAULT_JIRA_SYNC_MINUTES, 1, 1440, problems)
    reminder_hours = _bounded(env, "HANDOFF_STANDUP_REMINDER_HOURS", DEFAULT_STANDUP_REMINDER_HOURS, 1, 12, problems)
    posts_per_minute = _bounded(
        env, "HANDOFF_SLACK_POSTS_PER_MINUTE", DEFAULT_SLACK_POSTS_PER_MINUTE, 10, 6000, problems
    )

    if problems:
        raise ConfigError(problems)
    return Settings(
        slack_bot_token=bot_token or "",
        slack_signing_secret=signing_secret or "",
        slack_app_token=app_token,
        slack_api_url=slack_api_url,
        database_url=database_url,
        jira=jira,
        mlflow=mlflow,
        prometheus=prometheus,
        kpi_poll_minutes=kpi_poll_minutes,
        timezone=timezone,
        port=port,
        log_level=log_level,
        checklist=checklist,
        kpi_stale_days=kpi_stale_days,
        catch_up_within=catch_up_within,
        nudge_cooldown_days=nudge_cooldown_days,
        nudge_delay_minutes=nudge_delay_minutes,
        jira_sync_minutes=jira_sync_minutes,
        standup_reminder_hours=reminder_hours,
        slack_posts_per_minute=posts_per_minute,
    )


def _bounded(env: Mapping[str, str], name: str, default: int, low: int, high: int, problems: list[str]) -> int:
    raw = _get(env, name)
    if raw is None:
        return default
    if _is_whole_number(raw) and low <= int(raw) <= high:
        return int(raw)
    problems.append(f"{name} must be a whole number from {low} to {high}, got {raw!r}.")
    return default


def _parse_catch_up(raw: str | None, problems: list[str]) -> timedelta | None:
    """`same-day` (the default), a number of hours such as `6h`, or `0` to never run a missed slot late."""
    if raw is None or raw.lower() == SAME_DAY:
        return None
    hours = raw.lower().removesuffix("h")
    if _is_whole_number(hours) and int(hours) <= 168:
        return timedelta(hours=int(hours))
    problems.append(f"HANDOFF_CATCH_UP must be {SAME_DAY}, a number of hours up to 168 such as 6h, or 0, got {raw!r}.")
    return None


def _parse_mlflow(env: Mapping[str, str], problems: list[str]) -> MlflowSettings | None:
    url = _get(env, "MLFLOW_TRACKING_URI")
    token = _get(env, "MLFLOW_TRACKING_TOKEN")
    username = _get(env, "MLFLOW_TRACKING_USERNAME")
    password = _get(env, "MLFLOW_TRACKING_PASSWORD")
    if url is None:
        if token or username or password:
            problems.append(
                "MLFLOW_TRACKING_TOKEN, MLFLOW_TRACKING_USERNAME or MLFLOW_TRACKING_PASSWORD is set but "
                "MLFLOW_TRACKING_URI is not: set it to the tracking server (http://mlflow.internal:5000)."
            )
        return None
    if not _is_http_url(url):
        problems.append(
            "MLFLOW_TRACKING_URI must be the http(s) URL of an MLflow tracking server, such as "
            f"http://mlflow.internal:5000, got {url!r} (Handoff reads MLflow over its REST API, not from a local "
            "folder or database)."
        )
        return None
    if token and (username or password):
        problems.append(
            "Set either MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME + MLFLOW_TRACKING_PASSWORD, not both."
        )
        return None
    if bool(username) != bool(password):
        problems.append("MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD go together: set both, or neither.")
        return None
    return MlflowSettings(url=url.rstrip("/"), token=token, username=username, password=password)


def _parse_prometheus(env: Mapping[str, str], problems: list[str]) -> PrometheusSettings | None:
    url = _get(env, "PROMETHEUS_URL")
    token = _get(env, "PROMETHEUS_BEARER_TOKEN")
    if url is None:
        if token:
            problems.append(
                "PROMETHEUS_BEARER_TOKEN is set but PROMETHEUS_URL is not: set it to the server "
                "(http://prometheus.internal:9090)."
            )
        return None
    if not _is_http_url(url):
        problems.append(f"PROMETHEUS_URL must be an http(s) URL such as http://prometheus.internal:9090, got {url!r}.")
        return None
    return PrometheusSettings(url=url.rstrip("/"), bearer_token=token)


def _parse_jira(env: Mapping[str, str], problems: list[str], needed_by: str | None) -> JiraSettings | None:
    url = _get(env, "JIRA_URL")
    email = _get(env, "JIRA_EMAIL")
    api_token = _get(env, "JIRA_API_TOKEN")
    personal_token = _get(env, "JIRA_TOKEN")
    webhook_secret = _get(env, "JIRA_WEBHOOK_SECRET")
    issue_type = _get(env, "JIRA_ISSUE_TYPE") or DEFAULT_JIRA_ISSUE_TYPE
    if webhook_secret is not None and len(webhook_secret) < WEBHOOK_SECRET_MIN_LENGTH:
        problems.append(
            f"JIRA_WEBHOOK_SECRET is too short to be a secret: use at least {WEBHOOK_SECRET_MIN_LENGTH} random "
            "characters, e.g. from `python3 -c 'import secrets; print(secrets.token_urlsafe(24))'`."
        )
    if url is None:
        if email or api_token or personal_token or webhook_secret:
            problems.append(
                "JIRA_EMAIL, JIRA_API_TOKEN, JIRA_TOKEN or JIRA_WEBHOOK_SECRET is set but JIRA_URL is not: set "
                "JIRA_URL to your site (https://your-company.atlassian.net), or remove the Jira settings."
            )
        elif needed_by is not None:
            problems.append(f"Jira is not configured, and {needed_by} needs it: set {JIRA_SETTINGS_NEEDED}.")
        return None
    if not _is_http_url(url):
        problems.append(f"JIRA_URL must be an http(s) URL such as https://your-company.atlassian.net, got {url!r}.")
        return None
    url = url.rstrip("/")
    if personal_token and (email or api_token):
        problems.append(
            "Set either JIRA_EMAIL + JIRA_API_TOKEN (Jira Cloud) or JIRA_TOKEN (Data Center personal access "
            "token), not both."
        )
        return None
    if personal_token:
        return JiraSettings(
            url=url,
            auth=JiraAuth.DATA_CENTER,
            personal_token=personal_token,
            webhook_secret=webhook_secret,
            issue_type=issue_type,
        )
    if email and api_token:
        return JiraSettings(
            url=url,
            auth=JiraAuth.CLOUD,
            email=email,
            api_token=api_token,
            webhook_secret=webhook_secret,
            issue_type=issue_type,
        )
    if email or api_token:
        missing = "JIRA_API_TOKEN" if email else "JIRA_EMAIL"
        problems.append(f"JIRA_URL is set for Jira Cloud but {missing} is missing: Cloud needs both.")
    else:
        problems.append(
            "JIRA_URL is set but no credentials are: set JIRA_EMAIL + JIRA_API_TOKEN (Jira Cloud) or JIRA_TOKEN "
            "(Data Center personal access token)."
        )
    return None


def _url_password(url: str) -> str | None:
    try:
        return make_url(url).password
    except ArgumentError:
        return None


def _is_http_url(value: str) -> bool:
    parsed = urlparse(value)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def log_level_number(settings: Settings) -> int:
    return logging.getLevelNamesMapping()[settings.log_level]


def _is_whole_number(value: str) -> bool:
    """ASCII digits only: `str.isdigit` also accepts characters such as "²" that `int` refuses."""
    return value.isascii() and value.isdigit()
