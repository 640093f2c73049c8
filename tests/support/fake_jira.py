"""A local stand-in for the Jira REST API (Cloud or Data Center), for tests.

``FakeJira`` serves the parts of Jira's REST API Handoff uses over real HTTP on 127.0.0.1, so the real
``jira`` client can talk to it unchanged. One instance plays one deployment, chosen at construction:

* ``flavor="cloud"``: basic auth with email and API token, REST v2 and v3, accountId users, the
  token-paged ``/search/jql`` search (the old ``/search`` answers 410 Gone, as on Cloud today).
* ``flavor="datacenter"``: a personal access token as ``Authorization: Bearer``, REST v2 only,
  name/key users, the offset-paged ``/search`` with ``total``, and the "Epic Link" custom field.

It answers with Jira's response shapes and error messages, understands a small but properly parsed
subset of JQL (dates are read in the searching user's time zone, as Jira does), records every request,
and can inject failures (rate limits, server errors) or a whole outage on demand.

Stdlib only.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import json
import operator
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NoReturn
from urllib.parse import parse_qsl, quote, unquote, urlsplit
from zoneinfo import ZoneInfo

__all__ = [
    "DEFAULT_ACTOR",
    "EPIC_LINK_FIELD",
    "FakeIssue",
    "FakeJira",
    "RecordedRequest",
]

# Display name of the person who "moves" issues in Jira when tests call set_status and friends.
DEFAULT_ACTOR = "Jordan Lee"
# Data Center's "Epic Link" field (the id varies per instance in real life; this one is fixed).
EPIC_LINK_FIELD = "customfield_10014"

_JSON_TYPE = "application/json;charset=UTF-8"
_HTML_TYPE = "text/html;charset=UTF-8"

_NOT_AUTHENTICATED = "You are not authenticated. Authentication required to perform this operation."
_ISSUE_NOT_FOUND = {
    "cloud": "Issue does not exist or you do not have permission to see it.",
    "datacenter": "Issue Does Not Exist",
}
_SEARCH_REMOVED = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)
_UNBOUNDED_JQL = "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
_JQL_OPERATORS = "'=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'"
_DATE_FORMAT_HELP = (
    "Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', "
    "or a period format e.g. '-5d', '4w 2d'."
)
_ISSUE_EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"

# Status categories exactly as Jira numbers and colours them.
_CATEGORIES: dict[str, tuple[int, str, str]] = {
    "new": (2, "blue-gray", "To Do"),
    "indeterminate": (4, "yellow", "In Progress"),
    "done": (3, "green", "Done"),
}

# Keys a POST search body may carry; Jira rejects any other. Data Center's bean has no "properties",
# which is why the jira client drops it from POSTed searches.
_CLOUD_SEARCH_KEYS = frozenset(
    {
        "jql",
        "nextPageToken",
        "maxResults",
        "fields",
        "expand",
        "properties",
        "fieldsByKeys",
        "reconcileIssues",
        "failFast",
    }
)
_DC_SEARCH_KEYS = frozenset({"jql", "startAt", "maxResults", "fields", "validateQuery", "expand", "fieldsByKeys"})

_CLOUD_VERSION = ("1001.0.0-SNAPSHOT", [1001, 0, 0], 100282)
_DC_VERSION = ("9.12.2", [9, 12, 2], 9120002)


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, Any]  # a value is a list when the parameter was repeated
    body: Any  # parsed JSON, the raw text when it was not JSON, or None
    status: int
    headers: dict[str, str]


@dataclass
class FakeIssue:
    key: str
    id: str
    project: str
    summary: str
    status: str
    assignee: str | None  # display name
    updated: datetime
    created: datetime
    issue_type: str = "Task"
    parent: str | None = None
    epic_link: str | None = None
    description: Any = None  # a wiki-markup string or an ADF document, as last written
    remote_links: list[dict] = field(default_factory=list)
    comments: list[dict] = field(default_factory=list)  # {"id", "body", "api_version", "created", "author"}
    changelog: list[dict] = field(default_factory=list)  # {"id", "author", "created", "items"}


@dataclass(frozen=True)
class _Status:
    id: str
    name: str
    category: str
    description: str
    icon: str


@dataclass(frozen=True)
class _IssueType:
    id: str
    name: str
    subtask: bool
    hierarchy: int


@dataclass
class _Project:
    key: str
    id: str
    name: str
    next_number: int = 1


@dataclass(frozen=True)
class _User:
    display_name: str
    account_id: str
    name: str
    key: str
    email: str


@dataclass
class _Failure:
    prefix: str
    method: str | None
    status: int
    retry_after: int | None
    body: Any
    remaining: int


class _ApiError(Exception):
    """An error answer; raised from handlers to short-circuit."""

    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def _errors(status: int, *messages: str, errors: dict[str, str] | None = None) -> _ApiError:
    return _ApiError(status, {"errorMessages": list(messages), "errors": dict(errors or {})})


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _jira_time(dt: datetime, tz: ZoneInfo) -> str:
    """``2027-01-04T09:30:00.000+0000``: Jira's timestamp format, in the given zone."""
    local = dt.astimezone(tz)
    return f"{local.strftime('%Y-%m-%dT%H:%M:%S')}.{local.microsecond // 1000:03d}{local.strftime('%z')}"


def _key_order(key: str) -> tuple[str, int]:
    project, _, number = key.rpartition("-")
    return project, int(number) if number.isdigit() else 0


def _is_adf(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and value.get("type") == "doc"
        and value.get("version") == 1
        and isinstance(value.get("content"), list)
    )


def _adf_text(node: Any) -> str:
    if isinstance(node, dict):
        if node.get("type") == "text":
            return str(node.get("text", ""))
        if node.get("type") == "hardBreak":
            return "\n"
        parts = [_adf_text(child) for child in node.get("content") or []]
        joiner = "\n" if node.get("type") == "doc" else ""
        return joiner.join(parts)
    return ""


def _text_adf(text: str) -> dict:
    content = [{"type": "paragraph", "content": [{"type": "text", "text": text}]}] if text else []
    return {"type": "doc", "version": 1, "content": content}


def _render_body(value: Any, version: str) -> Any:
    """A stored string/ADF body as the given API version shows it (v2 plain text, v3 ADF)."""
    if value is None:
        return None
    if version == "3":
        return value if _is_adf(value) else _text_adf(str(value))
    return _adf_text(value) if _is_adf(value) else value


def _first(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _as_list(value: Any) -> list[str]:
    """Comma-separated strings and lists (or both, as repeated parameters give) as one flat list."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        out.extend(part.strip() for part in str(item).split(",") if part.strip())
    return out


def _as_int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _field_filter(names: list[str], default: str) -> Callable[[str], bool]:
    """Jira's ``fields`` semantics: ``*all``/``*navigable``, plain names, and ``-name`` exclusions."""
    names = names or [default]
    include_all = False
    include: set[str] = set()
    exclude: set[str] = set()
    for name in names:
        if name in ("*all", "*navigable"):
            include_all = True
        elif name.startswith("-"):
            exclude.add(name[1:])
        else:
            include.add(name)
    if not include and exclude:
        include_all = True
    return lambda name: (include_all or name in include) and name not in exclude


# ---------------------------------------------------------------------------------------------- JQL


class _JqlError(Exception):
    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


@dataclass(frozen=True)
class _Token:
    kind: str  # word, string, op, lparen, rparen, comma, eof
    text: str  # as written
    value: str  # unquoted / unescaped
    pos: int  # 1-based character position


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
    |(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    |(?P<op>!=|>=|<=|!~|=|>|<|~)
    |(?P<lparen>\()|(?P<rparen>\))|(?P<comma>,)
    |(?P<word>cf\[\d+\]|[A-Za-z0-9_.\-/:+]+)
    """,
    re.VERBOSE | re.IGNORECASE,
)
_KEYWORDS = {"and", "or", "not", "in", "is", "empty", "null", "order", "by", "asc", "desc"}


def _unescape(quoted: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), quoted[1:-1])


def _tokenize(jql: str, prefix: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(jql):
        match = _TOKEN_RE.match(jql, i)
        if match is None:
            ch = jql[i]
            if ch in "\"'":
                raise _JqlError(
                    [f"{prefix} The quoted string '{jql[i + 1 :]}' has not been completed. (line 1, character {i + 1})"]
                )
            raise _JqlError(
                [
                    f"{prefix} The character '{ch}' is a reserved JQL character. You must enclose it in a string "
                    f"or use the escape '\\u{ord(ch):04x}' instead. (line 1, character {i + 1})"
                ]
            )
        kind = match.lastgroup or "ws"
        text = match.group(0)
        if kind != "ws":
            value = _unescape(text) if kind == "string" else text
            tokens.append(_Token(kind, text, value, i + 1))
        i = match.end()
    tokens.append(_Token("eof", "", "", len(jql) + 1))
    return tokens


@dataclass
class _Clause:
    field: str  # as written
    op: str  # lower case: "=", "!=", ">", ">=", "<", "<=", "~", "!~", "in", "not in", "is", "is not"
    values: list[_Token]
    is_list: bool


@dataclass
class _BoolNode:
    op: str  # "and", "or", "not"
    children: list[Any]


@dataclass
class _ParsedQuery:
    where: Any  # _Clause | _BoolNode | None
    order: list[tuple[str, bool]]  # (field as written, ascending)


class _Parser:
    """Recursive descent over Jira's grammar: OR binds looser than AND, NOT and parentheses bind tightest."""

    def __init__(self, jql: str, prefix: str) -> None:
        self.prefix = prefix
        self.tokens = _tokenize(jql, prefix)
        self.i = 0

    def parse(self) -> _ParsedQuery:
        where = None
        if not self._at_keyword("order") and self._peek().kind != "eof":
            where = self._or()
        order: list[tuple[str, bool]] = []
        if self._at_keyword("order"):
            self._next()
            if not self._at_keyword("by"):
                self._fail_expecting("'by'")
            self._next()
            while True:
                tok = self._next()
                if tok.kind not in ("word", "string") or tok.value.lower() in _KEYWORDS - {"asc", "desc"}:
                    self._fail_at(tok, "Expecting a field name")
                ascending = True
                if self._at_keyword("asc") or self._at_keyword("desc"):
                    ascending = self._next().value.lower() == "asc"
                order.append((tok.value, ascending))
                if self._peek().kind != "comma":
                    break
                self._next()
        tok = self._peek()
        if tok.kind != "eof":
            self._fail_at(tok, "Expecting either 'OR' or 'AND'")
        return _ParsedQuery(where, order)

    def _peek(self) -> _Token:
        return self.tokens[self.i]

    def _next(self) -> _Token:
        tok = self.tokens[self.i]
        if tok.kind != "eof":
            self.i += 1
        return tok

    def _at_keyword(self, word: str) -> bool:
        tok = self._peek()
        return tok.kind == "word" and tok.value.lower() == word

    def _fail_at(self, tok: _Token, expecting: str, extra: str = "") -> NoReturn:
        if tok.kind == "eof":
            raise _JqlError([f"{self.prefix} {expecting} before the end of the query.{extra}"])
        raise _JqlError([f"{self.prefix} {expecting} but got '{tok.text}'.{extra} (line 1, character {tok.pos})"])

    def _fail_expecting(self, what: str) -> NoReturn:
        self._fail_at(self._peek(), f"Expecting {what}")

    def _or(self) -> Any:
        children = [self._and()]
        while self._at_keyword("or"):
            self._next()
            children.append(self._and())
        return children[0] if len(children) == 1 else _BoolNode("or", children)

    def _and(self) -> Any:
        children = [self._not()]
        while self._at_keyword("and"):
            self._next()
            children.append(self._not())
        return children[0] if len(children) == 1 else _BoolNode("and", children)

    def _not(self) -> Any:
        if self._at_keyword("not"):
            self._next()
            return _BoolNode("not", [self._not()])
        if self._peek().kind == "lparen":
            self._next()
            inner = self._or()
            if self._peek().kind != "rparen":
                self._fail_expecting("')'")
            self._next()
            return inner
        return self._clause()

    def _clause(self) -> _Clause:
        tok = self._next()
        if tok.kind not in ("word", "string") or (tok.kind == "word" and tok.value.lower() in _KEYWORDS):
            self._fail_at(tok, "Expecting a field name")
        op_tok = self._next()
        op = ""
        if op_tok.kind == "op":
            op = op_tok.value
        elif op_tok.kind == "word" and op_tok.value.lower() in ("in", "is", "not"):
            op = op_tok.value.lower()
            if op == "not":
                if not self._at_keyword("in"):
                    self._fail_expecting("'IN'")
                self._next()
                op = "not in"
            elif op == "is" and self._at_keyword("not"):
                self._next()
                op = "is not"
        else:
            self._fail_at(op_tok, "Expecting operator", f" The valid operators are {_JQL_OPERATORS}.")
        if op in ("in", "not in"):
            if self._peek().kind != "lparen":
                self._fail_expecting("'('")
            self._next()
            values = [self._value()]
            while self._peek().kind == "comma":
                self._next()
                values.append(self._value())
            if self._peek().kind != "rparen":
                self._fail_expecting("')'")
            self._next()
            return _Clause(tok.value, op, values, True)
        return _Clause(tok.value, op, [self._value()], False)

    def _value(self) -> _Token:
        tok = self._next()
        if tok.kind == "string" or (tok.kind == "word" and tok.value.lower() not in _KEYWORDS - {"empty", "null"}):
            return tok
        self._fail_at(
            tok,
            "Expecting either a value, list or function",
            f" You must surround '{tok.text}' in quotation marks to use it as a value." if tok.text else "",
        )


_FIELD_ALIASES = {
    "key": "key",
    "issuekey": "key",
    "issue": "key",
    "id": "key",
    "project": "project",
    "updated": "updated",
    "updateddate": "updated",
    "created": "created",
    "createddate": "created",
    "status": "status",
    "statuscategory": "statusCategory",
}
_SORTABLE = {
    "key": "key",
    "issuekey": "key",
    "updated": "updated",
    "updateddate": "updated",
    "created": "created",
    "createddate": "created",
}
_ISSUE_KEY_RE = re.compile(r"^[A-Z][A-Z0-9_]*-\d+$", re.IGNORECASE)
_RELATIVE_RE = re.compile(r"^([-+]?)\s*((?:\d+\s*[wdhm]\s*)+)$")
_DATE_FORMATS = ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
_UNITS = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}


@dataclass
class _Match:
    """A bound clause: which attribute of an issue it tests and how."""

    kind: str  # "keys", "project", "status", "category", "date"
    negate: bool = False
    keys: set[str] = field(default_factory=set)  # for keys/project/status/category
    attr: str = ""  # for date: "updated" or "created"
    op: str = ""
    instant: datetime | None = None


# ------------------------------------------------------------------------------------------ HTTP


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: FakeJira, port: int) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", port), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "FakeJira/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        # pytest output would drown in one line per request.
        return

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        # Always drain the body, even for requests we reject, or the client sees a reset connection.
        body = self.rfile.read(length) if length > 0 else b""
        status, headers, payload = self.server.fake._handle_http(self.command, self.path, self.headers, body)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if status != HTTPStatus.NO_CONTENT:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)


_HttpAnswer = tuple[int, dict[str, str], bytes]


@dataclass
class _Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    version: str  # "2" or "3"
    base: str


class FakeJira:
    """An in-process HTTP server that behaves like the parts of Jira Cloud or Data Center Handoff uses."""

    def __init__(
        self,
        flavor: str = "cloud",
        *,
        email: str = "bot@example.com",
        api_token: str = "cloud-token",
        personal_token: str = "dc-pat",
        user_timezone: str = "UTC",
        display_name: str = "Handoff Bot",
    ) -> None:
        if flavor not in ("cloud", "datacenter"):
            raise ValueError("flavor must be 'cloud' or 'datacenter'")
        self._flavor = flavor
        self.email = email
        self.api_token = api_token
        self.personal_token = personal_token
        self.user_timezone = user_timezone
        self._tz = ZoneInfo(user_timezone)
        self.clock: Callable[[], datetime] = _utc_now

        # RLock so predicates given to wait_for may call the inspection methods while it is held.
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

        self._ids = itertools.count(10000)
        self._changelog_ids = itertools.count(10000)
        self._comment_ids = itertools.count(10000)
        self._link_ids = itertools.count(10000)
        self._user_numbers = itertools.count(10100)

        self._statuses: dict[str, _Status] = {}
        self._default_transitions: dict[str, tuple[str, str]] = {}  # status name -> (transition id, name)
        self._transition_overrides: dict[str, list[tuple[str, str, str]]] = {}
        self._issue_types: dict[str, _IssueType] = {}
        self._projects: dict[str, _Project] = {}
        self._project_issues: dict[str, set[str]] = {}
        self._issues: dict[str, FakeIssue] = {}
        self._keys_by_id: dict[str, str] = {}
        self._order: dict[str, tuple[str, int]] = {}  # issue key -> (project, number), Jira's key order
        self._users: dict[str, _User] = {}
        self._requests: list[RecordedRequest] = []
        self._failures: list[_Failure] = []

        for status_id, name, category, icon, transition_id, transition_name in (
            ("10000", "To Do", "new", "open.png", "11", "Back to To Do"),
            ("3", "In Progress", "indeterminate", "inprogress.png", "21", "Start progress"),
            ("10002", "In Review", "indeterminate", "generic.png", "31", "Review"),
            ("10001", "Done", "done", "closed.png", "41", "Done"),
        ):
            self._statuses[name.lower()] = _Status(status_id, name, category, "", icon)
            self._default_transitions[name] = (transition_id, transition_name)
        subtask = "Subtask" if flavor == "cloud" else "Sub-task"
        for type_id, name, hierarchy in (
            ("10000", "Epic", 1),
            ("10001", "Story", 0),
            ("10002", "Task", 0),
            ("10003", subtask, -1),
            ("10004", "Bug", 0),
        ):
            self._issue_types[name.lower()] = _IssueType(type_id, name, hierarchy < 0, hierarchy)
        self._bot = _User(
            display_name=display_name,
            account_id=self._account_id(email),
            name=self._slug(display_name),
            key=f"JIRAUSER{next(self._user_numbers)}",
            email=email,
        )
        self._users[display_name] = self._bot

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeJira:
        """Serve on a free port of 127.0.0.1."""
        with self._lock:
            if self._server is not None:
                raise RuntimeError("FakeJira is already running")
            self._serve_on(0)
        return self

    def stop(self) -> None:
        """Stop serving for good."""
        self._shutdown()
        with self._lock:
            self._port = None

    def __enter__(self) -> FakeJira:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def go_down(self) -> None:
        """Close the listening socket, so connections are refused, keeping all state."""
        if self._port is None:
            raise RuntimeError("FakeJira is not running")
        self._shutdown()

    def come_back(self) -> None:
        """Serve again after go_down(), on the same port and with the same state."""
        with self._lock:
            if self._port is None:
                raise RuntimeError("FakeJira was never started")
            if self._server is None:
                self._serve_on(self._port)

    def _serve_on(self, port: int) -> None:
        self._server = _Server(self, port)
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            daemon=True,
            name="fake-jira",
        )
        self._thread.start()

    def _shutdown(self) -> None:
        with self._lock:
            server, thread = self._server, self._thread
            self._server, self._thread = None, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:8123`` (no trailing slash); stable across go_down/come_back."""
        port = self._port
        if port is None:
            raise RuntimeError("FakeJira is not running; call start() first")
        return f"http://127.0.0.1:{port}"

    @property
    def flavor(self) -> str:
        """``"cloud"`` or ``"datacenter"``."""
        return self._flavor

    @property
    def is_cloud(self) -> bool:
        """Whether this fake plays Jira Cloud."""
        return self._flavor == "cloud"

    def now(self) -> datetime:
        """The fake's clock: ``self.clock()``, which tests may replace; must be timezone-aware."""
        current = self.clock()
        if current.tzinfo is None:
            raise ValueError("FakeJira.clock must return an aware datetime")
        return current

    # ------------------------------------------------------------------ seeding

    def add_project(self, key: str, name: str | None = None) -> None:
        """Create a project (a no-op if it already exists)."""
        with self._cond:
            self._ensure_project(key.upper(), name)

    def add_status(self, name: str, category: str = "indeterminate") -> None:
        """Add a status to the workflow; every issue can then transition into it."""
        if category not in _CATEGORIES:
            raise ValueError(f"category must be one of {sorted(_CATEGORIES)}")
        with self._cond:
            if name.lower() in self._statuses:
                raise ValueError(f"status {name!r} already exists")
            self._statuses[name.lower()] = _Status(str(next(self._ids)), name, category, "", "generic.png")
            self._default_transitions[name] = (str(10 * len(self._statuses) + 1), name)

    def add_issue(
        self,
        key: str,
        summary: str,
        *,
        status: str = "To Do",
        assignee: str | None = None,
        updated: datetime | None = None,
        created: datetime | None = None,
        issue_type: str = "Task",
        parent: str | None = None,
        epic_link: str | None = None,
        description: Any = None,
    ) -> FakeIssue:
        """Seed an issue; its project is created if needed. Returns a snapshot of it."""
        key = key.upper()
        if not _ISSUE_KEY_RE.match(key):
            raise ValueError(f"not an issue key: {key!r}")
        with self._cond:
            if key in self._issues:
                raise ValueError(f"issue {key} already exists")
            project_key, number = _key_order(key)
            project = self._ensure_project(project_key, None)
            project.next_number = max(project.next_number, number + 1)
            when = updated or self.now()
            issue = FakeIssue(
                key=key,
                id=str(next(self._ids)),
                project=project_key,
                summary=summary,
                status=self._status(status).name,
                assignee=assignee,
                updated=when,
                created=created or when,
                issue_type=self._issue_type(issue_type, create=True).name,
                parent=parent.upper() if parent else None,
                epic_link=epic_link.upper() if epic_link else None,
                description=description,
            )
            if assignee is not None:
                self._user(assignee)
            self._store(issue)
            return copy.deepcopy(issue)

    def set_status(self, key: str, status_name: str, *, at: datetime | None = None, by: str | None = None) -> dict:
        """Someone moves the issue in Jira: new status, bumped ``updated``, a changelog entry (returned)."""
        with self._cond:
            issue = self._existing(key)
            new = self._status(status_name)
            return self._change_status(issue, new, at=at, by=by or DEFAULT_ACTOR)

    def set_summary(self, key: str, summary: str, *, at: datetime | None = None, by: str | None = None) -> dict:
        """Someone edits the summary; returns the changelog entry."""
        with self._cond:
            issue = self._existing(key)
            item = self._item("summary", None, issue.summary, None, summary)
            issue.summary = summary
            return self._record_change(issue, [item], at=at, by=by or DEFAULT_ACTOR)

    def set_assignee(self, key: str, name: str | None, *, at: datetime | None = None, by: str | None = None) -> dict:
        """Someone (un)assigns the issue; ``name`` is a display name or None. Returns the changelog entry."""
        with self._cond:
            issue = self._existing(key)
            old = self._user(issue.assignee) if issue.assignee else None
            new = self._user(name) if name else None
            item = self._item(
                "assignee",
                self._user_ref(old) if old else None,
                old.display_name if old else None,
                self._user_ref(new) if new else None,
                new.display_name if new else None,
            )
            issue.assignee = name
            return self._record_change(issue, [item], at=at, by=by or DEFAULT_ACTOR)

    def set_transitions(self, key: str, transitions: Iterable[tuple[str, str, str]] | None) -> None:
        """Offer exactly these ``(id, name, to_status_name)`` transitions on one issue; None restores the default."""
        with self._cond:
            issue = self._existing(key)
            if transitions is None:
                self._transition_overrides.pop(issue.key, None)
                return
            offered = [(str(tid), name, self._status(to).name) for tid, name, to in transitions]
            self._transition_overrides[issue.key] = offered

    def delete_issue(self, key: str) -> None:
        """Delete an issue, as if someone removed it in Jira."""
        with self._cond:
            issue = self._existing(key)
            del self._issues[issue.key]
            del self._keys_by_id[issue.id]
            del self._order[issue.key]
            self._project_issues[issue.project].discard(issue.key)
            self._transition_overrides.pop(issue.key, None)
            self._cond.notify_all()

    # ------------------------------------------------------------------ inspection

    def issue(self, key: str) -> FakeIssue:
        """A snapshot of one issue (KeyError if there is none)."""
        with self._lock:
            found = self._issues.get(key.upper())
            if found is None:
                raise KeyError(key)
            return copy.deepcopy(found)

    def account_id(self, display_name: str) -> str:
        """The Cloud accountId the fake gives the person with this display name."""
        with self._lock:
            return self._user(display_name).account_id

    @property
    def issues(self) -> int:
        """How many issues exist."""
        with self._lock:
            return len(self._issues)

    def webhook_payload(
        self, key: str, changelog_entry: dict | None = None, *, webhook_event: str = "jira:issue_updated"
    ) -> dict:
        """The body Jira would POST to a webhook for ``changelog_entry`` (as returned by set_status and friends)."""
        with self._lock:
            issue = self._existing(key)
            base = self.url
            actor = self._user(changelog_entry["author"]) if changelog_entry and changelog_entry["author"] else None
            # Webhook bodies are rendered for no particular user, so timestamps come in the server's zone.
            fields_json = self._fields_json(issue, "2", base, lambda _name: True, tz=ZoneInfo("UTC"))
            if changelog_entry is None:
                event_type = "issue_created" if webhook_event == "jira:issue_created" else "issue_updated"
            elif any(item["field"] == "status" for item in changelog_entry["items"]):
                event_type = "issue_generic"
            elif any(item["field"] == "assignee" for item in changelog_entry["items"]):
                event_type = "issue_assigned"
            else:
                event_type = "issue_updated"
            when = changelog_entry["created"] if changelog_entry else self.now()
            payload: dict[str, Any] = {
                "timestamp": int(when.timestamp() * 1000),
                "webhookEvent": webhook_event,
                "issue_event_type_name": event_type,
                "user": self._user_json(actor or self._bot, "2", base),
                "issue": {
                    "id": issue.id,
                    "self": f"{base}/rest/api/2/issue/{issue.id}",
                    "key": issue.key,
                    "fields": fields_json,
                },
            }
            if changelog_entry is not None:
                payload["changelog"] = {"id": changelog_entry["id"], "items": copy.deepcopy(changelog_entry["items"])}
            return payload

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    def count(self, path_prefix: str | None = None, method: str | None = None) -> int:
        """How many recorded requests match a path prefix and/or method."""
        with self._lock:
            return sum(
                1
                for r in self._requests
                if (path_prefix is None or r.path.startswith(path_prefix))
                and (method is None or r.method == method.upper())
            )

    def reset_requests(self) -> None:
        """Forget the recorded requests."""
        with self._cond:
            self._requests.clear()
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Wait until ``predicate()`` holds (re-checked on every request); False if ``timeout`` passes first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if predicate():
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return bool(predicate())
                # Woken by every request; the short cap also lets predicates that look at state outside
                # the fake (the bot's database, say) be re-checked promptly.
                self._cond.wait(min(remaining, 0.05))

    # ------------------------------------------------------------------ failure injection

    def fail_next(
        self,
        path_prefix: str,
        *,
        status: int = 429,
        retry_after: int | None = 1,
        times: int = 1,
        method: str | None = None,
        body: Any = None,
    ) -> None:
        """Answer the next ``times`` requests whose path starts with ``path_prefix`` with ``status``.

        429 and 503 carry ``Retry-After`` unless ``retry_after`` is None; ``body`` (JSON-able, str or bytes)
        replaces the realistic default body.
        """
        with self._lock:
            self._failures.append(
                _Failure(
                    prefix=path_prefix,
                    method=method.upper() if method else None,
                    status=status,
                    retry_after=retry_after,
                    body=body,
                    remaining=times,
                )
            )

    # ------------------------------------------------------------------ state helpers (lock held)

    def _ensure_project(self, key: str, name: str | None) -> _Project:
        project = self._projects.get(key)
        if project is None:
            project = _Project(key=key, id=str(next(self._ids)), name=name or key)
            self._projects[key] = project
            self._project_issues[key] = set()
        elif name:
            project.name = name
        return project

    def _store(self, issue: FakeIssue) -> None:
        self._issues[issue.key] = issue
        self._keys_by_id[issue.id] = issue.key
        self._order[issue.key] = _key_order(issue.key)
        self._project_issues[issue.project].add(issue.key)
        self._cond.notify_all()

    def _existing(self, key: str) -> FakeIssue:
        issue = self._issues.get(key.upper())
        if issue is None:
            raise KeyError(key)
        return issue

    def _status(self, name: str) -> _Status:
        status = self._statuses.get(name.lower())
        if status is None:
            raise ValueError(f"unknown status {name!r}; known: {[s.name for s in self._statuses.values()]}")
        return status

    def _issue_type(self, name: str, *, create: bool = False) -> _IssueType:
        found = self._issue_types.get(name.lower())
        if found is None:
            if not create:
                raise KeyError(name)
            found = _IssueType(str(next(self._ids)), name, False, 0)
            self._issue_types[name.lower()] = found
        return found

    @staticmethod
    def _slug(display_name: str) -> str:
        return re.sub(r"[^a-z0-9]+", ".", display_name.lower()).strip(".") or "user"

    @staticmethod
    def _account_id(seed: str) -> str:
        # Cloud account ids are 24 hex digits; derive a stable one so tests can predict it.
        return hashlib.sha1(seed.encode("utf-8")).hexdigest()[:24]

    def _user(self, display_name: str) -> _User:
        user = self._users.get(display_name)
        if user is None:
            slug = self._slug(display_name)
            user = _User(
                display_name=display_name,
                account_id=self._account_id(display_name),
                name=slug,
                key=f"JIRAUSER{next(self._user_numbers)}",
                email=f"{slug}@example.com",
            )
            self._users[display_name] = user
        return user

    def _user_ref(self, user: _User) -> str:
        return user.account_id if self.is_cloud else user.name

    def _item(self, name: str, frm: str | None, frm_str: str | None, to: str | None, to_str: str | None) -> dict:
        item: dict[str, Any] = {"field": name, "fieldtype": "jira"}
        if self.is_cloud:
            item["fieldId"] = name
        item.update({"from": frm, "fromString": frm_str, "to": to, "toString": to_str})
        return item

    def _change_status(self, issue: FakeIssue, new: _Status, *, at: datetime | None, by: str | None) -> dict:
        old = self._status(issue.status)
        item = self._item("status", old.id, old.name, new.id, new.name)
        issue.status = new.name
        return self._record_change(issue, [item], at=at, by=by)

    def _record_change(self, issue: FakeIssue, items: list[dict], *, at: datetime | None, by: str | None) -> dict:
        when = at or self.now()
        if by is not None:
            self._user(by)
        entry = {"id": str(next(self._changelog_ids)), "author": by, "created": when, "items": items}
        issue.changelog.append(entry)
        issue.updated = when
        self._cond.notify_all()
        return copy.deepcopy(entry)

    def _transitions_for(self, issue: FakeIssue) -> list[tuple[str, str, _Status]]:
        override = self._transition_overrides.get(issue.key)
        if override is not None:
            return [(tid, name, self._status(to)) for tid, name, to in override]
        return [
            (*self._default_transitions[status.name], status)
            for status in self._statuses.values()
            if status.name != issue.status
        ]

    # ------------------------------------------------------------------ JSON shapes

    def _avatars(self, base: str, seed: str) -> dict[str, str]:
        return {size: f"{base}/secure/useravatar?size={size}&ownerId={seed}" for size in ("48x48", "24x24", "16x16")}

    def _user_json(self, user: _User, version: str, base: str) -> dict:
        if self.is_cloud:
            return {
                "self": f"{base}/rest/api/{version}/user?accountId={user.account_id}",
                "accountId": user.account_id,
                "avatarUrls": self._avatars(base, user.account_id),
                "displayName": user.display_name,
                "active": True,
                "timeZone": self.user_timezone,
                "accountType": "atlassian",
            }
        return {
            "self": f"{base}/rest/api/2/user?username={quote(user.name)}",
            "name": user.name,
            "key": user.key,
            "emailAddress": user.email,
            "avatarUrls": self._avatars(base, user.key),
            "displayName": user.display_name,
            "active": True,
            "timeZone": self.user_timezone,
        }

    def _category_json(self, category: str, version: str, base: str) -> dict:
        cat_id, colour, name = _CATEGORIES[category]
        return {
            "self": f"{base}/rest/api/{version}/statuscategory/{cat_id}",
            "id": cat_id,
            "key": category,
            "colorName": colour,
            "name": name,
        }

    def _status_json(self, status: _Status, version: str, base: str) -> dict:
        return {
            "self": f"{base}/rest/api/{version}/status/{status.id}",
            "description": status.description,
            "iconUrl": f"{base}/images/icons/statuses/{status.icon}",
            "name": status.name,
            "id": status.id,
            "statusCategory": self._category_json(status.category, version, base),
        }

    def _issue_type_json(self, issue_type: _IssueType, version: str, base: str) -> dict:
        out: dict[str, Any] = {
            "self": f"{base}/rest/api/{version}/issuetype/{issue_type.id}",
            "id": issue_type.id,
            "description": "",
            "iconUrl": f"{base}/secure/viewavatar?size=xsmall&avatarId=10318&avatarType=issuetype",
            "name": issue_type.name,
            "subtask": issue_type.subtask,
            "avatarId": 10318,
        }
        if self.is_cloud:
            out["hierarchyLevel"] = issue_type.hierarchy
        return out

    def _project_json(self, project: _Project, version: str, base: str) -> dict:
        out: dict[str, Any] = {
            "self": f"{base}/rest/api/{version}/project/{project.id}",
            "id": project.id,
            "key": project.key,
            "name": project.name,
            "projectTypeKey": "software",
            "avatarUrls": {s: f"{base}/secure/projectavatar?size={s}&pid={project.id}" for s in ("48x48", "24x24")},
        }
        if self.is_cloud:
            out["simplified"] = False
        return out

    def _fields_json(
        self,
        issue: FakeIssue,
        version: str,
        base: str,
        want: Callable[[str], bool],
        *,
        tz: ZoneInfo | None = None,
    ) -> dict:
        # Jira renders timestamps in the requesting user's time zone, with that zone's offset.
        zone = tz or self._tz
        out: dict[str, Any] = {}
        if want("summary"):
            out["summary"] = issue.summary
        if want("issuetype"):
            out["issuetype"] = self._issue_type_json(self._issue_type(issue.issue_type, create=True), version, base)
        if want("project"):
            out["project"] = self._project_json(self._projects[issue.project], version, base)
        if want("status"):
            out["status"] = self._status_json(self._status(issue.status), version, base)
        if want("assignee"):
            out["assignee"] = self._user_json(self._user(issue.assignee), version, base) if issue.assignee else None
        if want("created"):
            out["created"] = _jira_time(issue.created, zone)
        if want("updated"):
            out["updated"] = _jira_time(issue.updated, zone)
        if want("description"):
            out["description"] = _render_body(issue.description, version)
        if want("parent") and issue.parent and (self.is_cloud or self._issue_type(issue.issue_type).subtask):
            parent = self._issues.get(issue.parent)
            if parent is not None:
                out["parent"] = {
                    "id": parent.id,
                    "key": parent.key,
                    "self": f"{base}/rest/api/{version}/issue/{parent.id}",
                    "fields": {
                        "summary": parent.summary,
                        "status": self._status_json(self._status(parent.status), version, base),
                        "issuetype": self._issue_type_json(self._issue_type(parent.issue_type), version, base),
                    },
                }
        if not self.is_cloud and want(EPIC_LINK_FIELD):
            out[EPIC_LINK_FIELD] = issue.epic_link
        return out

    def _changelog_json(self, issue: FakeIssue, version: str, base: str) -> dict:
        histories = [
            {
                "id": entry["id"],
                "author": self._user_json(self._user(entry["author"]), version, base) if entry["author"] else None,
                "created": _jira_time(entry["created"], self._tz),
                "items": copy.deepcopy(entry["items"]),
            }
            for entry in reversed(issue.changelog)  # Jira lists the most recent change first
        ]
        return {"startAt": 0, "maxResults": len(histories), "total": len(histories), "histories": histories}

    def _issue_json(
        self, issue: FakeIssue, version: str, base: str, want: Callable[[str], bool], expand: list[str]
    ) -> dict:
        out: dict[str, Any] = {
            "expand": _ISSUE_EXPAND,
            "id": issue.id,
            "self": f"{base}/rest/api/{version}/issue/{issue.id}",
            "key": issue.key,
            "fields": self._fields_json(issue, version, base, want),
        }
        if "changelog" in expand:
            out["changelog"] = self._changelog_json(issue, version, base)
        return out

    def _comment_json(self, comment: dict, issue: FakeIssue, version: str, base: str) -> dict:
        author = self._user_json(self._user(comment["author"]), version, base)
        out: dict[str, Any] = {
            "self": f"{base}/rest/api/{version}/issue/{issue.id}/comment/{comment['id']}",
            "id": comment["id"],
            "author": author,
            "body": _render_body(comment["body"], version),
            "updateAuthor": author,
            "created": _jira_time(comment["created"], self._tz),
            "updated": _jira_time(comment["created"], self._tz),
        }
        if self.is_cloud:
            out["jsdPublic"] = True
        return out

    def _field_list(self) -> list[dict]:
        def system(fid: str, name: str, clauses: list[str], schema: dict | None, **flags: bool) -> dict:
            entry: dict[str, Any] = {
                "id": fid,
                "key": fid,
                "name": name,
                "custom": False,
                "orderable": flags.get("orderable", True),
                "navigable": flags.get("navigable", True),
                "searchable": flags.get("searchable", True),
                "clauseNames": clauses,
            }
            if self.is_cloud:
                entry["untranslatedName"] = name
            if schema is not None:
                entry["schema"] = schema
            return entry

        fields = [
            system("issuekey", "Key", ["id", "issue", "issuekey", "key"], None, orderable=False),
            system("summary", "Summary", ["summary"], {"type": "string", "system": "summary"}),
            system("status", "Status", ["status"], {"type": "status", "system": "status"}, orderable=False),
            system("statusCategory", "Status Category", ["statusCategory"], None, orderable=False, navigable=False),
            system("assignee", "Assignee", ["assignee"], {"type": "user", "system": "assignee"}),
            system("updated", "Updated", ["updated", "updatedDate"], {"type": "datetime", "system": "updated"}),
            system("created", "Created", ["created", "createdDate"], {"type": "datetime", "system": "created"}),
            system("issuetype", "Issue Type", ["issuetype", "type"], {"type": "issuetype", "system": "issuetype"}),
            system("project", "Project", ["project"], {"type": "project", "system": "project"}),
            system("description", "Description", ["description"], {"type": "string", "system": "description"}),
            system(
                "parent",
                "Parent",
                ["parent"],
                {"type": "issuelink", "system": "parent"} if self.is_cloud else None,
                orderable=self.is_cloud,
                searchable=self.is_cloud,
            ),
        ]
        if not self.is_cloud:
            fields.append(
                {
                    "id": EPIC_LINK_FIELD,
                    "key": EPIC_LINK_FIELD,
                    "name": "Epic Link",
                    "custom": True,
                    "orderable": True,
                    "navigable": True,
                    "searchable": True,
                    "clauseNames": ["cf[10014]", "Epic Link"],
                    "schema": {"type": "any", "custom": "com.pyxis.greenhopper.jira:gh-epic-link", "customId": 10014},
                }
            )
        return fields

    # ------------------------------------------------------------------ HTTP plumbing

    def _handle_http(self, method: str, raw_path: str, headers: Message, body: bytes) -> _HttpAnswer:
        parts = urlsplit(raw_path)
        path = unquote(parts.path)
        query: dict[str, list[str]] = {}
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            query.setdefault(name, []).append(value)
        parsed_body: Any = None
        if body:
            text = body.decode("utf-8", "replace")
            try:
                parsed_body = json.loads(text)
            except json.JSONDecodeError:
                parsed_body = text
        with self._cond:
            status, out_headers, payload = self._answer(method, path, query, headers, body, parsed_body)
            self._requests.append(
                RecordedRequest(
                    method=method,
                    path=path,
                    query={k: v[0] if len(v) == 1 else list(v) for k, v in query.items()},
                    body=parsed_body,
                    status=status,
                    headers=dict(headers.items()),
                )
            )
            self._cond.notify_all()
        return status, out_headers, payload

    def _encode(self, status: int, body: Any, headers: dict[str, str]) -> _HttpAnswer:
        out = {"X-AREQUESTID": f"{int(time.time()) % 100000}x{len(self._requests)}x1", **headers}
        if status == HTTPStatus.NO_CONTENT or body is None:
            return status, out, b""
        if isinstance(body, bytes):
            out.setdefault("Content-Type", "application/octet-stream")
            return status, out, body
        if isinstance(body, str):
            out.setdefault("Content-Type", _HTML_TYPE)
            return status, out, body.encode("utf-8")
        out.setdefault("Content-Type", _JSON_TYPE)
        return status, out, json.dumps(body).encode("utf-8")

    def _answer(
        self, method: str, path: str, query: dict[str, list[str]], headers: Message, raw: bytes, body: Any
    ) -> _HttpAnswer:
        try:
            failure = self._take_failure(method, path)
            if failure is not None:
                raise self._injected(failure, path)
            if path.startswith("/browse/"):
                return self._encode(*self._browse(path[len("/browse/") :]))
            if path == "/rest/applinks/latest/listApplicationlinks":
                self._authenticate(headers)
                # Listing application links needs a Jira administrator, which a bot account is not.
                raise _ApiError(
                    401,
                    {
                        "status-code": 401,
                        "message": "Client must be authenticated as an administrator to access this resource.",
                    },
                )
            match = re.fullmatch(r"/rest/api/(2|3|latest)(/.*)?", path)
            if match is None or (match.group(1) == "3" and not self.is_cloud):
                raise _ApiError(404, "<html><head><title>Oops, you've found a dead link.</title></head></html>")
            version = "2" if match.group(1) == "latest" else match.group(1)
            sub = (match.group(2) or "/").rstrip("/") or "/"
            # serverInfo answers anonymous callers, but bad credentials are refused everywhere.
            anonymous_ok = sub == "/serverInfo" and not headers.get("Authorization")
            user = None if anonymous_ok else self._authenticate(headers)
            if method in ("POST", "PUT") and raw and "application/json" not in (headers.get("Content-Type") or ""):
                raise _ApiError(415)
            if isinstance(body, str):
                raise _errors(400, f"Unexpected character in JSON body: {body[:40]!r}")
            request = _Request(method, path, query, body, version, self.url)
            status, payload, extra = self._route(request, sub)
            extra = dict(extra)
            extra.setdefault("X-Seraph-LoginReason", "OK")
            if user is not None and not self.is_cloud:
                extra.setdefault("X-AUSERNAME", user.name)
            return self._encode(status, payload, extra)
        except _ApiError as e:
            return self._encode(e.status, e.body, e.headers)

    def _take_failure(self, method: str, path: str) -> _Failure | None:
        for failure in self._failures:
            if path.startswith(failure.prefix) and (failure.method is None or failure.method == method):
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    def _injected(self, failure: _Failure, path: str) -> _ApiError:
        status = failure.status
        headers: dict[str, str] = {}
        if status in (429, 503) and failure.retry_after is not None:
            headers["Retry-After"] = str(failure.retry_after)
        if status == 429:
            reset = self.now() + timedelta(seconds=failure.retry_after or 1)
            headers.update(
                {
                    "X-RateLimit-Limit": "100",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": reset.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ"),
                    "RateLimit-Reason": "jira-burst-based",
                }
            )
        if failure.body is not None:
            return _ApiError(status, failure.body, headers)
        if status == 401:
            headers.update(self._auth_failure_headers(failed=True))
            return _ApiError(status, {"errorMessages": [_NOT_AUTHENTICATED], "errors": {}}, headers)
        default_bodies: dict[int, Any] = {
            403: {"errorMessages": ["You do not have permission to perform this operation."], "errors": {}},
            404: {"errorMessages": [_ISSUE_NOT_FOUND[self._flavor]], "errors": {}},
            429: {"errorMessages": ["Rate limit exceeded."], "errors": {}},
            500: {"errorMessages": ["Internal server error"], "errors": {}},
            502: "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>",
            503: {"errorMessages": ["Service Unavailable"], "errors": {}},
        }
        if "/issue/" not in path:
            default_bodies[404] = {"errorMessages": ["The requested resource could not be found."], "errors": {}}
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        return _ApiError(status, default_bodies.get(status, {"errorMessages": [phrase], "errors": {}}), headers)

    def _auth_failure_headers(self, *, failed: bool) -> dict[str, str]:
        realm = 'Basic realm="protected-area"' if self.is_cloud else 'OAuth realm="http%3A%2F%2F127.0.0.1"'
        reason = "AUTHENTICATED_FAILED" if failed else "AUTHENTICATION_DENIED"
        return {"WWW-Authenticate": realm, "X-Seraph-LoginReason": reason}

    def _authenticate(self, headers: Message) -> _User:
        auth = (headers.get("Authorization") or "").strip()
        if not auth:
            raise _ApiError(
                401,
                {"errorMessages": [_NOT_AUTHENTICATED], "errors": {}},
                self._auth_failure_headers(failed=False),
            )
        scheme, _, credentials = auth.partition(" ")
        ok = False
        if self.is_cloud and scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                decoded = ""
            ok = decoded == f"{self.email}:{self.api_token}"
        elif not self.is_cloud and scheme.lower() == "bearer":
            ok = credentials.strip() == self.personal_token
        if not ok:
            raise _ApiError(
                401,
                {"errorMessages": [_NOT_AUTHENTICATED], "errors": {}},
                self._auth_failure_headers(failed=True),
            )
        return self._bot

    def _browse(self, key: str) -> tuple[int, Any, dict[str, str]]:
        issue = self._issues.get(key.upper())
        if issue is None:
            return 404, "<html><head><title>Issue does not exist - Jira</title></head><body></body></html>", {}
        return 200, f"<html><head><title>[{issue.key}] {issue.summary} - Jira</title></head><body></body></html>", {}

    # ------------------------------------------------------------------ routing

    def _route(self, req: _Request, sub: str) -> tuple[int, Any, dict[str, str]]:
        routes: list[tuple[str, dict[str, Callable[..., tuple[int, Any]]]]] = [
            (r"/serverInfo", {"GET": self._server_info}),
            (r"/myself", {"GET": self._myself}),
            (r"/field", {"GET": self._fields}),
            (r"/issuetype", {"GET": self._issue_types_list}),
            (r"/project/([^/]+)", {"GET": self._get_project}),
            (r"/issue", {"POST": self._create_issue}),
            (r"/issue/([^/]+)", {"GET": self._get_issue}),
            (r"/issue/([^/]+)/remotelink", {"GET": self._get_remote_links, "POST": self._post_remote_link}),
            (r"/issue/([^/]+)/transitions", {"GET": self._get_transitions, "POST": self._post_transition}),
            (r"/issue/([^/]+)/comment", {"GET": self._get_comments, "POST": self._post_comment}),
            (r"/search/jql", {"GET": self._search_jql, "POST": self._search_jql}),
            (r"/search", {"GET": self._search, "POST": self._search}),
        ]
        for pattern, handlers in routes:
            match = re.fullmatch(pattern, sub)
            if match is None:
                continue
            handler = handlers.get(req.method)
            if handler is None:
                raise _ApiError(405)
            status, payload = handler(req, *match.groups())
            return status, payload, {}
        raise _ApiError(404, {"message": f"null for uri: {req.base}{req.path}", "status-code": 404})

    def _issue_or_404(self, id_or_key: str) -> FakeIssue:
        key = self._keys_by_id.get(id_or_key, id_or_key.upper())
        issue = self._issues.get(key)
        if issue is None:
            raise _errors(404, _ISSUE_NOT_FOUND[self._flavor])
        return issue

    def _server_info(self, req: _Request) -> tuple[int, Any]:
        version, numbers, build = _CLOUD_VERSION if self.is_cloud else _DC_VERSION
        info: dict[str, Any] = {
            "baseUrl": req.base,
            "version": version,
            "versionNumbers": numbers,
            "deploymentType": "Cloud" if self.is_cloud else "Server",
            "buildNumber": build,
            "buildDate": "2026-11-30T00:00:00.000+0000" if self.is_cloud else "2023-12-07T00:00:00.000+0000",
            "serverTime": _jira_time(self.now(), self._tz),
            "scmInfo": hashlib.sha1(version.encode()).hexdigest(),
            "serverTitle": "Jira",
        }
        if self.is_cloud:
            info["defaultLocale"] = {"locale": "en_US"}
            info["serverTimeZone"] = "Etc/UTC"
        else:
            info["databaseBuildNumber"] = build
        return 200, info

    def _myself(self, req: _Request) -> tuple[int, Any]:
        me = self._user_json(self._bot, req.version, req.base)
        me.update(
            {
                "emailAddress": self._bot.email,
                "locale": "en_US",
                "groups": {"size": 1, "items": []},
                "applicationRoles": {"size": 1, "items": []},
                "expand": "groups,applicationRoles",
            }
        )
        if not self.is_cloud:
            me["deleted"] = False
        return 200, me

    def _fields(self, req: _Request) -> tuple[int, Any]:
        return 200, self._field_list()

    def _issue_types_list(self, req: _Request) -> tuple[int, Any]:
        return 200, [self._issue_type_json(t, req.version, req.base) for t in self._issue_types.values()]

    def _get_project(self, req: _Request, id_or_key: str) -> tuple[int, Any]:
        project = self._projects.get(id_or_key.upper()) or next(
            (p for p in self._projects.values() if p.id == id_or_key), None
        )
        if project is None:
            raise _errors(404, f"No project could be found with key '{id_or_key}'.")
        out = self._project_json(project, req.version, req.base)
        out["expand"] = "description,lead,issueTypes,url,projectKeys,permissions,insight"
        out["issueTypes"] = [self._issue_type_json(t, req.version, req.base) for t in self._issue_types.values()]
        return 200, out

    def _get_issue(self, req: _Request, id_or_key: str) -> tuple[int, Any]:
        issue = self._issue_or_404(id_or_key)
        want = _field_filter(_as_list(req.query.get("fields")), "*all")
        expand = _as_list(req.query.get("expand"))
        return 200, self._issue_json(issue, req.version, req.base, want, expand)

    # ---- create

    def _create_issue(self, req: _Request) -> tuple[int, Any]:
        body = req.body if isinstance(req.body, dict) else {}
        fields = body.get("fields")
        if not isinstance(fields, dict):
            raise _errors(400, "Can not instantiate value of type [simple type, class IssueFields] from JSON.")
        errors: dict[str, str] = {}
        project = self._resolve_project(fields.get("project"))
        if project is None:
            errors["project"] = "valid project is required"
        issue_type = self._resolve_issue_type(fields.get("issuetype"))
        if issue_type is None:
            errors["issuetype"] = "valid issue type is required"
        summary = fields.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            errors["summary"] = "You must specify a summary of the issue."
        elif len(summary) > 255:
            errors["summary"] = "Summary must be less than 255 characters."
        description = fields.get("description")
        if description is not None:
            if req.version == "3" and not _is_adf(description):
                errors["description"] = "Operation value must be an Atlassian Document"
            elif req.version == "2" and not isinstance(description, str):
                errors["description"] = "Operation value must be a string"
        parent_key: str | None = None
        subtask = issue_type is not None and issue_type.subtask
        if "parent" in fields and (self.is_cloud or subtask):
            parent_key = self._resolve_issue_ref(fields.get("parent"))
            if parent_key is None:
                errors["parent"] = "Could not find issue by id or key."
        elif subtask:
            errors["parent"] = "Sub-task issues must have a parent."
        epic_key: str | None = None
        if not self.is_cloud and fields.get(EPIC_LINK_FIELD) is not None:
            raw_epic = str(fields[EPIC_LINK_FIELD])
            epic = self._issues.get(raw_epic.upper())
            if epic is None:
                errors[EPIC_LINK_FIELD] = f"The epic with key '{raw_epic}' does not exist."
            elif epic.issue_type != "Epic":
                errors[EPIC_LINK_FIELD] = f"Issue '{epic.key}' is not an epic."
            else:
                epic_key = epic.key
        assignee = None
        if fields.get("assignee") is not None:
            assignee = self._resolve_user(fields["assignee"])
            if assignee is None:
                errors["assignee"] = (
                    "Specified user does not exist or you do not have required permissions"
                    if self.is_cloud
                    else f"User '{(fields['assignee'] or {}).get('name')}' does not exist."
                )
        known = {"project", "issuetype", "summary", "description", "assignee"}
        if self.is_cloud or subtask:
            known.add("parent")
        if not self.is_cloud:
            known.add(EPIC_LINK_FIELD)
        for name in fields:
            if name not in known:
                errors[name] = f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
        if errors:
            raise _errors(400, errors=errors)
        assert project is not None and issue_type is not None and isinstance(summary, str)
        now = self.now()
        issue = FakeIssue(
            key=f"{project.key}-{project.next_number}",
            id=str(next(self._ids)),
            project=project.key,
            summary=summary,
            status="To Do",
            assignee=assignee.display_name if assignee else None,
            updated=now,
            created=now,
            issue_type=issue_type.name,
            parent=parent_key,
            epic_link=epic_key,
            description=description,
        )
        project.next_number += 1
        self._store(issue)
        return 201, {"id": issue.id, "key": issue.key, "self": f"{req.base}/rest/api/{req.version}/issue/{issue.id}"}

    def _resolve_project(self, ref: Any) -> _Project | None:
        if isinstance(ref, dict):
            if ref.get("key") is not None:
                return self._projects.get(str(ref["key"]).upper())
            if ref.get("id") is not None:
                return next((p for p in self._projects.values() if p.id == str(ref["id"])), None)
        return None

    def _resolve_issue_type(self, ref: Any) -> _IssueType | None:
        if isinstance(ref, dict):
            if ref.get("name") is not None:
                return self._issue_types.get(str(ref["name"]).lower())
            if ref.get("id") is not None:
                return next((t for t in self._issue_types.values() if t.id == str(ref["id"])), None)
        return None

    def _resolve_issue_ref(self, ref: Any) -> str | None:
        if isinstance(ref, dict):
            raw = ref.get("key") or ref.get("id")
            if raw is not None:
                key = self._keys_by_id.get(str(raw), str(raw).upper())
                return key if key in self._issues else None
        return None

    def _resolve_user(self, ref: Any) -> _User | None:
        if not isinstance(ref, dict):
            return None
        if self.is_cloud:
            wanted = ref.get("accountId") or ref.get("id")
            return next((u for u in self._users.values() if u.account_id == wanted), None)
        return next((u for u in self._users.values() if u.name == ref.get("name")), None)

    # ---- remote links

    def _remote_link_json(self, link: dict, issue: FakeIssue, version: str, base: str) -> dict:
        out: dict[str, Any] = {
            "id": link["id"],
            "self": f"{base}/rest/api/{version}/issue/{issue.key}/remotelink/{link['id']}",
        }
        for name in ("globalId", "application", "relationship", "object"):
            if name in link:
                out[name] = copy.deepcopy(link[name])
        return out

    def _get_remote_links(self, req: _Request, id_or_key: str) -> tuple[int, Any]:
        issue = self._issue_or_404(id_or_key)
        global_id = _first(req.query, "globalId")
        if global_id is not None:
            link = next((lk for lk in issue.remote_links if lk.get("globalId") == global_id), None)
            if link is None:
                raise _errors(404, f"No remote link with globalId '{global_id}' exists for this issue.")
            return 200, self._remote_link_json(link, issue, req.version, req.base)
        return 200, [self._remote_link_json(lk, issue, req.version, req.base) for lk in issue.remote_links]

    def _post_remote_link(self, req: _Request, id_or_key: str) -> tuple[int, Any]:
        issue = self._issue_or_404(id_or_key)
        body = req.body if isinstance(req.body, dict) else {}
        obj = body.get("object")
        errors: dict[str, str] = {}
        if not isinstance(obj, dict) or not obj.get("title"):
            errors["title"] = "'title' is required."
        if not isinstance(obj, dict) or not obj.get("url"):
            errors["url"] = "'url' is required."
        if errors:
            raise _errors(400, errors=errors)
        stored = {k: copy.deepcopy(body[k]) for k in ("globalId", "application", "relationship", "object") if k in body}
        global_id = body.get("globalId")
        existing = (
            next((lk for lk in issue.remote_links if lk.get("globalId") == global_id), None) if global_id else None
        )
        if existing is not None:
            # An upsert replaces the link wholesale: anything not sent is cleared, as Jira documents.
            link_id = existing["id"]
            existing.clear()
            existing.update({"id": link_id, **stored})
            status = 200
        else:
            link_id = next(self._link_ids)
            issue.remote_links.append({"id": link_id, **stored})
            status = 201
        self._cond.notify_all()
        return status, {
            "id": link_id,
            "self": f"{req.base}/rest/api/{req.version}/issue/{issue.key}/remotelink/{link_id}",
        }

    # ---- transitions

    def _transition_json(self, tid: str, name: str, to: _Status, req: _Request, with_fields: bool) -> dict:
        out: dict[str, Any] = {"id": tid, "name": name, "to": self._status_json(to, req.version, req.base)}
        if self.is_cloud:
            out.update(
                {
                    "hasScreen": False,
                    "isGlobal": True,
                    "isInitial": False,
                    "isAvailable": True,
                    "isConditional": False,
                    "isLooped": False,
                }
            )
        if with_fields:
            out["fields"] = {}
        return out

    def _get_transitions(self, req: _Request, id_or_key: str) -> tuple[int, Any]:
        issue = self._issue_or_404(id_or_key)
        with_fields = "transitions.fields" in _as_list(req.query.get("expand"))
        only = _first(req.query, "transitionId")
        transitions = [
            self._transition_json(tid, name, to, req, with_fields)
            for tid, name, to in self._transitions_for(issue)
            if only is None or tid == only
        ]
        return 200, {"expand": "transitions", "transitions": transitions}

    def _post_transition(self, req: _Request, id_or_key: str) -> tuple[int, Any]:
        issue = self._issue_or_404(id_or_key)
        body = req.body if isinstance(req.body, dict) else {}
        transition = body.get("transition")
        if not isinstance(transition, dict) or transition.get("id") in (None, ""):
            raise _errors(400, "Missing 'transition' identifier")
        wanted = str(transition["id"])
        chosen = next((t for t in self._transitions_for(issue) if t[0] == wanted), None)
        if chosen is None:
            raise _errors(400, f"Transition id '{wanted}' is not valid for this issue.")
        fields = body.get("fields") or {}
        if isinstance(fields, dict) and fields:
            raise _errors(
                400,
                errors={
                    name: f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
                    for name in fields
                },
            )
        comments = []
        for op in (body.get("update") or {}).get("comment") or []:
            added = op.get("add") if isinstance(op, dict) else None
            if isinstance(added, dict):
                comments.append(self._valid_comment_body(added.get("body"), req.version))
        self._change_status(issue, chosen[2], at=None, by=self._bot.display_name)
        for comment_body in comments:
            self._add_comment(issue, comment_body, req.version)
        return 204, None

    # ---- comments

    def _valid_comment_body(self, value: Any, version: str) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            raise _errors(400, errors={"comment": "Comment body can not be empty!"})
        if version == "3" and not _is_adf(value):
            raise _errors(400, errors={"comment": "Comment body is not valid!"})
        if version == "2" and not isinstance(value, str):
            raise _errors(
                400,
                "Can not deserialize instance of java.lang.String out of START_OBJECT token",
            )
        return value

    def _add_comment(self, issue: FakeIssue, body: Any, version: str) -> dict:
        now = self.now()
        comment = {
            "id": str(next(self._comment_ids)),
            "body": copy.deepcopy(body),
            "api_version": version,
            "created": now,
            "author": self._bot.display_name,
        }
        issue.comments.append(comment)
        issue.updated = now
        self._cond.notify_all()
        return comment

    def _post_comment(self, req: _Request, id_or_key: str) -> tuple[int, Any]:
        issue = self._issue_or_404(id_or_key)
        body = req.body if isinstance(req.body, dict) else {}
        comment = self._add_comment(issue, self._valid_comment_body(body.get("body"), req.version), req.version)
        return 201, self._comment_json(comment, issue, req.version, req.base)

    def _get_comments(self, req: _Request, id_or_key: str) -> tuple[int, Any]:
        issue = self._issue_or_404(id_or_key)
        comments = [self._comment_json(c, issue, req.version, req.base) for c in issue.comments]
        return 200, {"startAt": 0, "maxResults": len(comments), "total": len(comments), "comments": comments}

    # ---- search

    def _params(self, req: _Request, allowed: frozenset[str], bean: str) -> dict[str, Any]:
        """Search parameters from the query string (GET) or the JSON body (POST)."""
        if req.method == "GET":
            return {
                k: (v if k in ("fields", "expand", "properties", "reconcileIssues") else v[-1])
                for k, v in req.query.items()
            }
        body = req.body if isinstance(req.body, dict) else {}
        unknown = [k for k in body if k not in allowed]
        if unknown:
            raise _errors(400, f'Unrecognized field "{unknown[0]}" (Class {bean}), not marked as ignorable')
        return dict(body)

    def _search_jql(self, req: _Request) -> tuple[int, Any]:
        if not self.is_cloud:
            raise _ApiError(404, {"message": f"null for uri: {req.base}{req.path}", "status-code": 404})
        params = self._params(
            req, _CLOUD_SEARCH_KEYS, "com.atlassian.jira.rest.v2.search.SearchAndReconcileRequestBean"
        )
        jql = str(params.get("jql") or "")
        parsed = self._parse_jql(jql)
        if parsed.where is None:
            raise _errors(400, _UNBOUNDED_JQL)
        found = self._execute(parsed, strict=True)[0]
        max_results = min(max(_as_int(params.get("maxResults"), 50), 1), 100)
        digest = hashlib.sha1(jql.encode("utf-8")).hexdigest()[:12]
        offset = 0
        token = params.get("nextPageToken")
        if token:
            offset = self._decode_token(str(token), digest)
        page = found[offset : offset + max_results]
        want = _field_filter(_as_list(params.get("fields")), "id")
        expand = _as_list(params.get("expand"))
        issues = [self._issue_json(i, req.version, req.base, want, expand) for i in page]
        out: dict[str, Any] = {"issues": issues}
        end = offset + len(page)
        if end < len(found):
            raw = json.dumps({"o": end, "q": digest}).encode("utf-8")
            out["nextPageToken"] = base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
        out["isLast"] = end >= len(found)
        return 200, out

    @staticmethod
    def _decode_token(token: str, digest: str) -> int:
        try:
            data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            if data["q"] == digest:
                return int(data["o"])
        except (ValueError, KeyError, TypeError):
            pass
        raise _errors(400, "The provided next page token is invalid or expired.")

    def _search(self, req: _Request) -> tuple[int, Any]:
        if self.is_cloud:
            raise _errors(410, _SEARCH_REMOVED)
        params = self._params(req, _DC_SEARCH_KEYS, "com.atlassian.jira.rest.v2.search.SearchRequestBean")
        validate = str(params.get("validateQuery", "strict")).lower()
        mode = {"true": "strict", "strict": "strict", "warn": "warn", "false": "none", "none": "none"}.get(validate)
        parsed = self._parse_jql(str(params.get("jql") or ""))
        found, warnings = self._execute(parsed, strict=mode in (None, "strict"))
        start_at = max(_as_int(params.get("startAt"), 0), 0)
        max_results = _as_int(params.get("maxResults"), 50)
        max_results = 50 if max_results < 0 else min(max_results, 1000)
        page = found[start_at : start_at + max_results]
        want = _field_filter(_as_list(params.get("fields")), "*navigable")
        expand = _as_list(params.get("expand"))
        out: dict[str, Any] = {
            "expand": "schema,names",
            "startAt": start_at,
            "maxResults": max_results,
            "total": len(found),
            "issues": [self._issue_json(i, req.version, req.base, want, expand) for i in page],
        }
        if mode == "warn" and warnings:
            out["warningMessages"] = warnings
        return 200, out

    # ---- JQL evaluation

    def _parse_jql(self, jql: str) -> _ParsedQuery:
        # Cloud and Data Center word this prefix differently.
        prefix = "Error in JQL Query:" if self.is_cloud else "Error in the JQL Query:"
        try:
            return _Parser(jql, prefix).parse()
        except _JqlError as e:
            raise _errors(400, *e.messages) from e

    def _execute(self, parsed: _ParsedQuery, *, strict: bool) -> tuple[list[FakeIssue], list[str]]:
        """Matching issues in the query's order, and the value problems a lenient search only warns about."""
        errors: list[str] = []
        value_errors: list[str] = []
        where = self._bind(parsed.where, errors, value_errors) if parsed.where is not None else None
        sorts: list[tuple[str, bool]] = []
        for name, ascending in parsed.order:
            canonical = _SORTABLE.get(name.lower())
            if canonical is None:
                errors.append(f"Not able to sort using field '{name}'.")
            else:
                sorts.append((canonical, ascending))
        if strict:
            errors.extend(value_errors)
        if errors:
            raise _errors(400, *dict.fromkeys(errors))
        candidates = self._candidates(where) if where is not None else None
        pool: Iterable[FakeIssue]
        if candidates is None:
            pool = self._issues.values()
        else:
            pool = (self._issues[k] for k in candidates if k in self._issues)
        found = [i for i in pool if where is None or self._matches(where, i)]
        order = self._order
        found.sort(key=lambda i: order[i.key])
        for attr, ascending in reversed(sorts):
            if attr == "key":
                found.sort(key=lambda i: order[i.key], reverse=not ascending)
            else:
                found.sort(key=operator.attrgetter(attr), reverse=not ascending)
        return found, list(dict.fromkeys(value_errors))

    def _bind(self, node: Any, errors: list[str], value_errors: list[str]) -> Any:
        if isinstance(node, _BoolNode):
            return _BoolNode(node.op, [self._bind(c, errors, value_errors) for c in node.children])
        clause: _Clause = node
        canonical = _FIELD_ALIASES.get(clause.field.lower())
        if canonical is None:
            errors.append(f"Field '{clause.field}' does not exist or you do not have permission to view it.")
            return _Match("keys", negate=True)
        op = clause.op
        equality = {"=": False, "!=": True, "in": False, "not in": True}
        if canonical in ("updated", "created"):
            if op not in ("=", "!=", ">", ">=", "<", "<=") or clause.is_list:
                errors.append(f"The operator '{op}' is not supported by the '{clause.field}' field.")
                return _Match("keys", negate=True)
            instant = self._jql_instant(clause.values[0].value, clause.field, errors)
            return _Match("date", attr=canonical, op=op, instant=instant)
        if op not in equality:
            errors.append(f"The operator '{op}' is not supported by the '{clause.field}' field.")
            return _Match("keys", negate=True)
        negate = equality[op]
        values = [t.value for t in clause.values]
        if canonical == "key":
            keys: set[str] = set()
            for raw in values:
                if raw.isdigit():
                    key = self._keys_by_id.get(raw)
                elif _ISSUE_KEY_RE.match(raw):
                    key = raw.upper() if raw.upper() in self._issues else None
                else:
                    errors.append(f"The issue key '{raw}' for field '{clause.field}' is invalid.")
                    continue
                if key is None:
                    value_errors.append(
                        f"The value '{raw}' does not exist for the field '{clause.field}'."
                        if self.is_cloud
                        else f"An issue with key '{raw}' does not exist for field '{clause.field}'."
                    )
                else:
                    keys.add(key)
            return _Match("keys", negate=negate, keys=keys)
        if canonical == "project":
            projects: set[str] = set()
            for raw in values:
                project = self._projects.get(raw.upper()) or next(
                    (p for p in self._projects.values() if raw in (p.id, p.name)), None
                )
                if project is None:
                    value_errors.append(f"The value '{raw}' does not exist for the field '{clause.field}'.")
                else:
                    projects.add(project.key)
            return _Match("project", negate=negate, keys=projects)
        if canonical == "status":
            names: set[str] = set()
            for raw in values:
                status = self._statuses.get(raw.lower()) or next(
                    (s for s in self._statuses.values() if s.id == raw), None
                )
                if status is None:
                    value_errors.append(f"The value '{raw}' does not exist for the field '{clause.field}'.")
                else:
                    names.add(status.name)
            return _Match("status", negate=negate, keys=names)
        categories: set[str] = set()
        for raw in values:
            found = next(
                (k for k, (cid, _c, name) in _CATEGORIES.items() if raw.lower() in (k, name.lower(), str(cid))),
                None,
            )
            if found is None:
                value_errors.append(f"The value '{raw}' does not exist for the field '{clause.field}'.")
            else:
                categories.add(found)
        return _Match("category", negate=negate, keys=categories)

    def _jql_instant(self, raw: str, field_name: str, errors: list[str]) -> datetime | None:
        text = raw.strip()
        relative = _RELATIVE_RE.match(text)
        if relative:
            delta = sum(
                (int(n) * _UNITS[unit] for n, unit in re.findall(r"(\d+)\s*([wdhm])", relative.group(2))),
                timedelta(),
            )
            return self.now() + (-delta if relative.group(1) == "-" else delta)
        for fmt in _DATE_FORMATS:
            try:
                naive = datetime.strptime(text, fmt)
            except ValueError:
                continue
            # Jira reads JQL dates in the searching user's time zone.
            return naive.replace(tzinfo=self._tz)
        errors.append(f"Date value '{raw}' for field '{field_name}' is invalid. {_DATE_FORMAT_HELP}")
        return None

    def _candidates(self, node: Any) -> set[str] | None:
        """Keys that could match (None: any), so key and project clauses need no full scan."""
        if isinstance(node, _Match):
            if node.negate:
                return None
            if node.kind == "keys":
                return node.keys
            if node.kind == "project":
                out: set[str] = set()
                for project in node.keys:
                    out |= self._project_issues.get(project, set())
                return out
            return None
        if node.op == "and":
            sets = [s for s in (self._candidates(c) for c in node.children) if s is not None]
            return min(sets, key=len) if sets else None
        if node.op == "or":
            union: set[str] = set()
            for child in node.children:
                child_set = self._candidates(child)
                if child_set is None:
                    return None
                union |= child_set
            return union
        return None

    def _matches(self, node: Any, issue: FakeIssue) -> bool:
        if isinstance(node, _BoolNode):
            if node.op == "and":
                return all(self._matches(c, issue) for c in node.children)
            if node.op == "or":
                return any(self._matches(c, issue) for c in node.children)
            return not self._matches(node.children[0], issue)
        match: _Match = node
        if match.kind == "date":
            return match.instant is not None and _COMPARE[match.op](getattr(issue, match.attr), match.instant)
        if match.kind == "keys":
            attribute = issue.key
        elif match.kind == "project":
            attribute = issue.project
        elif match.kind == "status":
            attribute = issue.status
        else:
            attribute = self._status(issue.status).category
        return (attribute in match.keys) != match.negate
