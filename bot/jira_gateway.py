"""The only module that touches the `jira` library: Jira Cloud and Data Center behind our own small types.

The client is built with `max_retries=0`: the library's own retry sleeps up to a minute per attempt on a
connection error and caps a `Retry-After` at 60 s, which would hold a user's command hostage and cut long
waits short. Here a 429/503 `Retry-After` is waited out in full (through an injected `sleep`) when it is
within the caller's patience, and otherwise raised as `JiraUnavailable` for the outbox to retry later.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from bot.config import JiraAuth, JiraSettings
from bot.errors import HandoffError, Problem
from bot.retry_after import retry_after_seconds

log = logging.getLogger(__name__)
T = TypeVar("T")

SEARCH_PAGE_SIZE = 100  # Cloud's search/jql returns at most 100 issues a page when fields are asked for
MAX_KEYS_PER_QUERY = 100
ISSUE_FIELDS = ("summary", "status", "assignee", "updated")
RATE_LIMIT_ATTEMPTS = 4
REQUEST_TIMEOUT_SECONDS = (5.0, 30.0)
_MISSING_KEY = re.compile(r"'([A-Za-z][A-Za-z0-9_]*-\d+)'")
_JIRA_TIME = "%Y-%m-%dT%H:%M:%S.%f%z"


class Flavor(StrEnum):
    CLOUD = "cloud"
    DATA_CENTER = "data_center"


class JiraError(HandoffError):
    """Jira refused or could not be reached; `reason` is plain text fit to show a user (no secrets, no URLs with
    tokens), Jira's own explanation included as Jira wrote it."""

    transient = False

    def __init__(self, reason: str, *, status: int | None = None):
        super().__init__(Problem.JIRA_FAILED, reason=reason)
        self.reason = reason
        self.status = status


class JiraUnavailable(JiraError):
    """Down, overloaded or rate-limiting beyond our patience: worth retrying later."""

    transient = True

    def __init__(self, reason: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(reason, status=status)
        self.retry_after = retry_after


class JiraAuthFailed(JiraError):
    """401/403: the credentials are wrong or lack permission; retrying will not help."""


class JiraIssueNotFound(JiraError):
    def __init__(self, key: str):
        super().__init__(f"Jira has no issue {key}, or Handoff's Jira account cannot see it.", status=404)
        self.key = key


class JiraRejected(JiraError):
    """400: Jira understood the request and said no (a bad field, an invalid transition)."""


class JiraIssueIncomplete(JiraError):
    """Issue JSON without a status: taken as it is, it would blank the checkpoint's Jira status and reopen it."""

    def __init__(self, key: str):
        super().__init__(f"Jira's answer for {key} carries no status.")
        self.key = key


@dataclass(frozen=True)
class JiraIssue:
    key: str
    summary: str
    status: str
    status_category: str  # new, indeterminate or done
    assignee: str | None
    updated: datetime | None
    url: str


@dataclass(frozen=True)
class JiraTransition:
    id: str
    name: str
    to_status: str
    to_category: str


@dataclass(frozen=True)
class KeySearch:
    """Issues found for a batch of keys, and the keys Jira says do not exist (deleted or not visible)."""

    issues: list[JiraIssue]
    missing: set[str]


class _Connection:
    """One connected client, shared by gateways that differ only in patience."""

    def __init__(self, settings: JiraSettings, clock: Callable[[], datetime]):
        self.settings = settings
        self.clock = clock
        self.lock = threading.Lock()
        self.client: Any = None
        self.flavor: Flavor | None = None
        self.skew = timedelta(0)  # Jira's clock minus ours, from serverInfo

    def open(self) -> None:
        from jira import JIRA  # imported on first use: the library is large and many teams never configure Jira

        probe = JIRA(
            server=self.settings.url,
            get_server_info=False,
            max_retries=0,
            timeout=REQUEST_TIMEOUT_SECONDS,
            **self.auth(),
        )
        info = probe.server_info()
        flavor = Flavor.CLOUD if info.get("deploymentType") == "Cloud" else Flavor.DATA_CENTER
        if info.get("serverTime"):
            self.skew = parse_jira_time(info["serverTime"]) - self.clock()
        client = probe
        if flavor is Flavor.CLOUD:
            # Cloud's current APIs (search/jql, ADF comments) are v3; the probe spoke v2, which both flavours have.
            client = JIRA(
                server=self.settings.url,
                get_server_info=False,
                max_retries=0,
                timeout=REQUEST_TIMEOUT_SECONDS,
                options={"rest_api_version": "3"},
                **self.auth(),
            )
        client.deploymentType = info.get("deploymentType")  # what the library's Cloud-only methods check
        self.flavor = flavor
        self.client = client
        log.info("connected to Jira", extra={"flavor": flavor.value, "version": info.get("version")})

    def auth(self) -> dict[str, Any]:
        if self.settings.auth is JiraAuth.DATA_CENTER:
            return {"token_auth": self.settings.personal_token}
        return {"basic_auth": (self.settings.email, self.settings.api_token)}


class JiraGateway:
    """Jira for Handoff: issues, search, transitions, comments and remote links, as plain values.

    The client connects lazily (one `serverInfo` call) and is reused, so steady-state calls cost exactly the
    requests they need. `patience` is how long one call may wait out rate limits before giving up.
    """

    def __init__(
        self,
        settings: JiraSettings,
        *,
        patience: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        connection: _Connection | None = None,
    ):
        self._settings = settings
        self._patience = patience
        self._sleep = sleep
        self._connection = connection or _Connection(settings, clock)

    @property
    def site_url(self) -> str:
        return self._settings.url

    def browse_url(self, key: str) -> str:
        return f"{self._settings.url}/browse/{key}"

    def with_patience(self, patience: float) -> JiraGateway:
        """The same connection, with another limit on waiting out rate limits (short for people, long for jobs)."""
        return JiraGateway(self._settings, patience=patience, sleep=self._sleep, connection=self._connection)

    def flavor(self) -> Flavor:
        self._connect()
        assert self._connection.flavor is not None
        return self._connection.flavor

    def jira_now(self) -> datetime:
        """Jira's idea of now, from our clock and the skew measured at connection."""
        self._connect()
        return self._connection.clock() + self._connection.skew

    def _connect(self) -> Any:
        connection = self._connection
        if connection.client is None:
            with connection.lock:
                if connection.client is None:
                    self._call(connection.open)
        return connection.client

    # --- issues -------------------------------------------------------------------------------------

    def issue(self, key: str) -> JiraIssue:
        client = self._connect()
        raw = self._call(lambda: client.issue(key, fields=",".join(ISSUE_FIELDS)).raw, issue_key=key)
        return self._to_issue(raw)

    def create_issue(self, *, project: str, summary: str, issue_type: str, epic_key: str | None) -> JiraIssue:
        """Create an issue, under the epic when given: `parent` on Cloud, the Epic Link field on Data Center."""
        client = self._connect()
        fields: dict[str, Any] = {"project": {"key": project}, "summary": summary, "issuetype": {"name": issue_type}}
        if epic_key:
            epic_field = self._epic_link_field() if self.flavor() is Flavor.DATA_CENTER else None
            if epic_field:
                fields[epic_field] = epic_key
            else:
                fields["parent"] = {"key": epic_key}
        # The library would fetch the new issue with every field; we fetch it once, with ours.
        created = self._call(lambda: client.create_issue(fields=fields, prefetch=False))
        return self.issue(created.key)

    def _epic_link_field(self) -> str | None:
        client = self._connect()
        fields = self._call(client.fields)
        return next((f["id"] for f in fields if f.get("name") == "Epic Link"), None)

    def upsert_remote_link(self, key: str, *, global_id: str, url: str, title: str) -> None:
        """Link the issue back to Slack; Jira updates the link with the same `globalId` instead of adding one."""
        client = self._connect()
        destination = {"url": url, "title": title, "icon": {"title": "Slack", "url16x16": SLACK_ICON}}

        def add() -> None:
            # The library first lists application links, which most accounts may not do; it only warns then.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                client.add_remote_link(key, destination, globalId=global_id, application={"name": "Slack"})

        self._call(add, issue_key=key)

    # --- transitions and comments -----------------------------------------------------------------------

    def transitions(self, key: str) -> list[JiraTransition]:
        client = self._connect()
        raw = self._call(lambda: client.transitions(key), issue_key=key)
        return [
            JiraTransition(
                id=str(t["id"]),
                name=t.get("name", ""),
                to_status=(t.get("to") or {}).get("name", ""),
                to_category=((t.get("to") or {}).get("statusCategory") or {}).get("key", ""),
            )
            for t in raw
        ]

    def transition(self, key: str, transition_id: str) -> None:
        client = self._connect()
        self._call(lambda: client.transition_issue(key, transition_id), issue_key=key)

    def comment(self, key: str, *, text: str, link_text: str, link_url: str) -> None:
        """Comment `text` followed by a link: an ADF document on Cloud (v3), wiki markup on Data Center."""
        client = self._connect()
        body: Any
        if self.flavor() is Flavor.CLOUD:
            body = {
                "type": "doc",
                "version": 1,
                "content": [
                    {
                        "type": "paragraph",
                        "content": [
                            {"type": "text", "text": text + " "},
                            {
                                "type": "text",
                                "text": link_text,
                                "marks": [{"type": "link", "attrs": {"href": link_url}}],
                            },
                        ],
                    }
                ],
            }
        else:
            body = f"{_wiki_escape(text)} [{_wiki_escape(link_text)}|{link_url}]"
        self._call(lambda: client.add_comment(key, body), issue_key=key)

    # --- search -----------------------------------------------------------------------------------------

    def search_keys(self, keys: Sequence[str]) -> KeySearch:
        """The current state of up to 100 issues in one query; keys Jira does not know are reported, not fatal.

        Jira rejects a whole `key in (...)` query if one key does not exist, naming it; the query is then
        repeated without the missing keys.
        """
        if len(keys) > MAX_KEYS_PER_QUERY:
            raise ValueError(f"at most {MAX_KEYS_PER_QUERY} keys a query")
        remaining = list(dict.fromkeys(keys))
        missing: set[str] = set()
        while remaining:
            jql = f"key in ({', '.join(remaining)})"
            try:
                return KeySearch(list(self._search(jql)), missing)
            except JiraRejected as error:
                named = {k.upper() for k in _MISSING_KEY.findall(error.reason)} & set(remaining)
                if not named:
                    raise
                missing |= named
                remaining = [k for k in remaining if k not in named]
        return KeySearch([], missing)

    def search_updated_since(self, projects: Sequence[str], since: datetime) -> Iterator[JiraIssue]:
        """Issues of these projects updated at or after `since` (Jira's clock), oldest first.

        JQL reads absolute dates in the searching user's time zone; a relative `-Nm` needs no time zone, and
        our clock is mapped to Jira's with the skew measured at connection.
        """
        minutes = max(1, int((self.jira_now() - since).total_seconds() // 60) + 1)
        quoted = ", ".join(f'"{p}"' for p in projects)
        jql = f'project in ({quoted}) AND updated >= "-{minutes}m" ORDER BY updated ASC'
        return self._search(jql)

    def _search(self, jql: str) -> Iterator[JiraIssue]:
        client = self._connect()
        fields = list(ISSUE_FIELDS)
        if self.flavor() is Flavor.CLOUD:
            token: str | None = None
            while True:
                page: dict[str, Any] = self._call(
                    lambda token=token: client.enhanced_search_issues(  # type: ignore[misc]
                        jql,
                        nextPageToken=token,
                        maxResults=SEARCH_PAGE_SIZE,
                        fields=list(fields),
                        json_result=True,
                        use_post=True,
                    )
                )
                yield from self._issues_of(page)
                token = page.get("nextPageToken")
                if not token or page.get("isLast"):
                    return
        start = 0
        while True:
            page = self._call(
                lambda start=start: client.search_issues(  # type: ignore[misc]
                    jql,
                    startAt=start,
                    maxResults=SEARCH_PAGE_SIZE,
                    fields=list(fields),
                    json_result=True,
                    use_post=True,
                )
            )
            issues = page.get("issues", [])
            yield from self._issues_of(page)
            start += len(issues)
            if not issues or start >= int(page.get("total", 0)):
                return

    # --- plumbing ---------------------------------------------------------------------------------------

    def _to_issue(self, raw: dict[str, Any]) -> JiraIssue:
        return issue_from_json(raw, self._settings.url)

    def _issues_of(self, page: dict[str, Any]) -> Iterator[JiraIssue]:
        """A search page's issues; one without a status is left out (and logged), so it cannot stop the others."""
        for raw in page.get("issues", []):
            try:
                yield self._to_issue(raw)
            except JiraIssueIncomplete as error:
                log.warning("Jira issue without a status left out of a search", extra={"issue": error.key})

    def _call(self, action: Callable[[], T], *, issue_key: str | None = None) -> T:
        """Run one client call, waiting out rate limits within our patience and mapping failures to our types."""
        from jira.exceptions import JIRAError
        from requests.exceptions import ConnectionError, Timeout

        waited = 0.0
        for attempt in range(1, RATE_LIMIT_ATTEMPTS + 1):
            try:
                return action()
            except (ConnectionError, Timeout) as error:
                raise JiraUnavailable(f"Jira at {self._settings.url} did not answer.") from error
            except JIRAError as error:
                status = error.status_code
                if status in (429, 503):
                    headers = getattr(getattr(error, "response", None), "headers", None)
                    retry_after = retry_after_seconds(headers, default=5.0, at_least=0.0)
                    if attempt < RATE_LIMIT_ATTEMPTS and waited + retry_after <= self._patience:
                        log.warning("Jira asked us to wait", extra={"status": status, "retry_after": retry_after})
                        self._sleep(retry_after)
                        waited += retry_after
                        continue
                    raise JiraUnavailable(
                        "Jira is rate-limiting or overloaded; try again later.", status=status, retry_after=retry_after
                    ) from error
                raise _map_error(error, issue_key) from error
        raise AssertionError("unreachable")


SLACK_ICON = "https://a.slack-edge.com/80588/marketing/img/meta/favicon-32.png"


def issue_from_json(raw: dict[str, Any], site_url: str) -> JiraIssue:
    """An issue from the REST API's issue JSON, which webhooks carry in the same shape; raises
    `JiraIssueIncomplete` when it has no status, rather than make one up."""
    fields = raw.get("fields") or {}
    status = fields.get("status") or {}
    status_name = status.get("name")
    category = (status.get("statusCategory") or {}).get("key")
    if not status_name or not category:
        raise JiraIssueIncomplete(str(raw.get("key") or "an issue"))
    assignee = fields.get("assignee") or {}
    updated = fields.get("updated")
    return JiraIssue(
        key=raw["key"],
        summary=fields.get("summary") or "",
        status=status_name,
        status_category=category,
        assignee=assignee.get("displayName") if assignee else None,
        updated=parse_jira_time(updated) if updated else None,
        url=f"{site_url}/browse/{raw['key']}",
    )


def missing_issue_fields(raw: dict[str, Any]) -> list[str]:
    """The fields Handoff keeps of an issue (`ISSUE_FIELDS`) that issue JSON lacks, a status without its name or
    category counting as missing.

    Jira's own webhooks carry them all; Jira Automation's "Send web request" with a custom body, and relays that
    trim payloads, may send only `id`, `self` and `key`.
    """
    fields = raw.get("fields")
    if not isinstance(fields, dict):
        return list(ISSUE_FIELDS)
    missing = [name for name in ISSUE_FIELDS if name not in fields]
    status = fields.get("status")
    if "status" not in missing and not (
        isinstance(status, dict) and status.get("name") and (status.get("statusCategory") or {}).get("key")
    ):
        missing.append("status")
    return missing


def _map_error(error: Any, issue_key: str | None) -> JiraError:
    status = error.status_code
    if status == 404 and issue_key:
        return JiraIssueNotFound(issue_key)
    if status in (401, 403):
        return JiraAuthFailed(
            "Jira refused Handoff's credentials (check JIRA_EMAIL/JIRA_API_TOKEN or JIRA_TOKEN and the account's "
            "permissions).",
            status=status,
        )
    if status is not None and status >= 500:
        return JiraUnavailable(f"Jira answered with an error ({status}); try again later.", status=status)
    if status is None:
        return JiraUnavailable("Jira did not answer.")
    return JiraRejected(_messages_of(error) or f"Jira refused the request ({status}).", status=status)


def _messages_of(error: Any) -> str:
    """Jira's own explanation from an error body: `errorMessages` plus field `errors`, as Jira wrote them.

    Jira admins write validator messages such as "Story points must be <= 13"; the renderer escapes them for
    mrkdwn, where their `<`, `>` and `&` would garble the text, or turn into links and mentions.
    """
    response = getattr(error, "response", None)
    try:
        body = response.json() if response is not None else {}
    except ValueError:
        return str(getattr(error, "text", "") or "")
    if not isinstance(body, dict):
        return ""
    parts = [str(m) for m in body.get("errorMessages") or []]
    parts += [f"{field}: {message}" for field, message in (body.get("errors") or {}).items()]
    return " ".join(parts)


def parse_jira_time(value: str) -> datetime:
    """Jira's `2027-01-04T09:30:00.000+0000`."""
    return datetime.strptime(value, _JIRA_TIME).astimezone(UTC)


def _wiki_escape(text: str) -> str:
    """Keep user text from turning into wiki markup (links, macros, images, formatting) in a Data Center comment.

    A backslash cannot be escaped in wiki markup (a doubled one is a line break), so it becomes a look-alike.
    """
    return re.sub(r"([\[\]{}|*_+^~?#!-])", r"\\\1", text.replace("\\", "\u29f5"))
