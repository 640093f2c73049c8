"""A local stand-in for the Slack Web API, for tests and the ``handoff console`` command.

``FakeSlack`` serves the Web API methods Handoff uses over real HTTP on 127.0.0.1, so the bot's own
``slack_sdk.WebClient(base_url=fake.api_url)`` (and Bolt's ``respond`` via response URLs) can talk to it
unchanged. It parses requests the way slack_sdk sends them (JSON body, form body or query string), answers
with Slack's documented response shapes and error codes, records every call for inspection, and can inject
failures (rate limits, arbitrary errors) on demand.

Stdlib only: this module ships in the package and runs in the console, not just in tests.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "METHOD_SCOPES",
    "FakeChannel",
    "FakeFile",
    "FakeMessage",
    "FakeSlack",
    "FakeUser",
    "FileShare",
    "RecordedCall",
    "ResponseUrlPost",
]

# Bot scope each implemented method needs (None: no scope). conversations.info is special-cased for
# private channels (groups:read) and DMs (im:read); conversations.open for group DMs (mpim:write).
METHOD_SCOPES: dict[str, str | None] = {
    "api.test": None,
    "auth.test": None,
    "apps.connections.open": None,
    "chat.postMessage": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.update": "chat:write",
    "chat.delete": "chat:write",
    "chat.getPermalink": None,
    "chat.unfurl": "links:write",
    "conversations.info": "channels:read",
    "conversations.open": "im:write",
    "conversations.history": "channels:history",
    "conversations.replies": "channels:history",
    "users.info": "users:read",
    "views.open": None,
    "views.update": None,
    "views.push": None,
    "views.publish": None,
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
}

# Slack's Block Kit / message limits.
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT_CHARS = 40_000
MAX_SECTION_TEXT_CHARS = 3000
MAX_SECTION_FIELDS = 10
MAX_SECTION_FIELD_CHARS = 2000
MAX_HEADER_TEXT_CHARS = 150
MAX_BLOCK_ID_CHARS = 255
MAX_MODAL_TITLE_CHARS = 24
MAX_PRIVATE_METADATA_CHARS = 3000
RESPONSE_URL_MAX_USES = 5

# Arguments Slack accepts as JSON-encoded strings in form bodies; decoded so recordings look the same
# whichever encoding the client chose.
_JSON_ARGS = ("blocks", "attachments", "view", "metadata", "files")

_JSON_CONTENT_TYPE = "application/json; charset=utf-8"
_UPLOAD_PATH = "/upload/v1/"
_TEXT_CONTENT_TYPE = "text/html"


@dataclass
class RecordedCall:
    method: str
    args: dict
    token: str | None
    response: dict
    status: int


@dataclass
class FakeUser:
    id: str
    name: str
    real_name: str = ""
    tz: str = "UTC"
    is_admin: bool = False
    is_owner: bool = False
    is_bot: bool = False
    deleted: bool = False


@dataclass
class FakeChannel:
    id: str
    name: str
    is_private: bool = False
    is_archived: bool = False
    members: set[str] = field(default_factory=set)  # user ids, including the bot user id if the bot is in it
    is_im: bool = False  # set on the DM channels the fake opens itself


@dataclass
class FakeMessage:
    channel: str
    ts: str
    text: str
    blocks: list | None
    thread_ts: str | None
    user: str  # bot user id for bot posts
    ephemeral_to: str | None = None  # user id for chat.postEphemeral messages
    deleted: bool = False
    attachments: list | None = None
    metadata: dict | None = None  # chat.postMessage's `metadata`: {"event_type": ..., "event_payload": {...}}
    files: list | None = None  # the files a file share carries, as Slack describes them


@dataclass
class FileShare:
    """Where files.completeUploadExternal shared a file: the channel, the thread if any, and the message's ts."""

    channel: str
    thread_ts: str | None
    ts: str
    initial_comment: str | None


@dataclass
class FakeFile:
    """A file announced by files.getUploadURLExternal; `content` is what was posted to its upload URL."""

    id: str
    filename: str
    length: int
    alt_txt: str | None
    upload_key: str
    content: bytes | None = None
    title: str | None = None
    completed: bool = False
    shares: list[FileShare] = field(default_factory=list)


@dataclass
class ResponseUrlPost:
    key: str  # the id in the response_url path
    body: dict  # JSON body posted to the response_url


@dataclass
class _Failure:
    error: str
    status: int | None
    retry_after: int


class _SlackError(Exception):
    """An ``{"ok": false}`` answer; raised from method handlers to short-circuit."""

    def __init__(
        self,
        error: str,
        *,
        status: int = 200,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})

    def body(self) -> dict:
        return {"ok": False, "error": self.error, **self.extra}


def _invalid_arguments(*messages: str) -> _SlackError:
    return _SlackError("invalid_arguments", extra={"response_metadata": {"messages": list(messages)}})


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def _text_len(obj: Any) -> int:
    if isinstance(obj, dict):
        return len(str(obj.get("text", "")))
    return 0


def block_errors(blocks: Any, *, max_blocks: int) -> list[str]:
    """Problems Slack would report for ``blocks``, phrased like its response_metadata messages."""
    if not isinstance(blocks, list):
        return ["must be an array [json-pointer:/blocks]"]
    problems: list[str] = []
    if len(blocks) > max_blocks:
        problems.append(f"must be less than {max_blocks + 1} items [json-pointer:/blocks]")
    for i, block in enumerate(blocks):
        where = f"/blocks/{i}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            problems.append(f"missing required field: type [json-pointer:{where}]")
            continue
        block_id = block.get("block_id")
        if block_id is not None and len(str(block_id)) > MAX_BLOCK_ID_CHARS:
            problems.append(f"must be less than {MAX_BLOCK_ID_CHARS + 1} characters [json-pointer:{where}/block_id]")
        kind = block["type"]
        if kind == "section":
            text, fields = block.get("text"), block.get("fields")
            if text is None and not fields:
                problems.append(f"must provide either text or fields [json-pointer:{where}]")
            if _text_len(text) > MAX_SECTION_TEXT_CHARS:
                problems.append(
                    f"must be less than {MAX_SECTION_TEXT_CHARS + 1} characters [json-pointer:{where}/text/text]"
                )
            if isinstance(fields, list):
                if len(fields) > MAX_SECTION_FIELDS:
                    problems.append(f"must be less than {MAX_SECTION_FIELDS + 1} items [json-pointer:{where}/fields]")
                for j, f in enumerate(fields):
                    if _text_len(f) > MAX_SECTION_FIELD_CHARS:
                        problems.append(
                            f"must be less than {MAX_SECTION_FIELD_CHARS + 1} characters "
                            f"[json-pointer:{where}/fields/{j}/text]"
                        )
        elif kind == "header" and _text_len(block.get("text")) > MAX_HEADER_TEXT_CHARS:
            problems.append(
                f"must be less than {MAX_HEADER_TEXT_CHARS + 1} characters [json-pointer:{where}/text/text]"
            )
    return problems


def _tz_details(tz: str) -> tuple[str, int]:
    try:
        now = datetime.now(ZoneInfo(tz))
    except (ZoneInfoNotFoundError, ValueError):
        return "Coordinated Universal Time", 0
    offset = now.utcoffset()
    label = now.tzname() or tz
    if label == "UTC":
        label = "Coordinated Universal Time"
    return label, int(offset.total_seconds()) if offset is not None else 0


def _decode_body(content_type: str, body: bytes) -> dict[str, Any]:
    """Body arguments, whichever encoding slack_sdk (or anything else) used."""
    if not body.strip():
        return {}
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime == "application/json":
        try:
            parsed = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise _SlackError("invalid_json") from e
        if not isinstance(parsed, dict):
            raise _SlackError("json_not_object")
        return parsed
    if mime == "multipart/form-data":
        msg = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
        )
        if not msg.is_multipart():
            raise _SlackError("invalid_form_data")
        out: dict[str, Any] = {}
        for part in msg.iter_parts():
            assert isinstance(part, Message)
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str):
                continue
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            out[name] = data if part.get_filename() else data.decode("utf-8", "replace")
        return out
    if mime in ("application/x-www-form-urlencoded", "", "text/plain"):
        try:
            return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError as e:
            raise _SlackError("invalid_charset") from e
    raise _SlackError("invalid_post_type")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "FakeSlack/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        # The console and pytest output would drown in one line per request.
        return

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        # Always drain the body, even for requests we reject, or the client sees a reset connection.
        body = self.rfile.read(length) if length > 0 else b""
        status, headers, payload = self.server.fake._handle_http(self.path, self.headers, body)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


_HttpAnswer = tuple[int, dict[str, str], bytes]


class FakeSlack:
    """An in-process HTTP server that behaves like the parts of the Slack Web API Handoff uses."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-fake-token",
        team_id: str = "T0001",
        team_domain: str = "handoff-test",
        bot_user_id: str = "UBOT",
        granted_scopes: set[str] | None = None,
        public_write: bool = True,
        app_token: str | None = None,
        bot_id: str = "B0001",
        app_id: str = "A0001",
        team_name: str = "Handoff Test",
        enterprise_id: str | None = None,
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.team_id = team_id
        self.team_domain = team_domain
        self.team_name = team_name
        # Set for an org-wide (Enterprise Grid) install: the token then speaks for the whole org.
        self.enterprise_id = enterprise_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.granted_scopes = set(granted_scopes) if granted_scopes is not None else None
        self.public_write = public_write
        # Tests point this at their own Socket Mode server; the default refuses connections (port 9).
        self.socket_mode_url = "ws://127.0.0.1:9/"

        # RLock so predicates given to wait_for may call the inspection methods while it is held.
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

        self._users: dict[str, FakeUser] = {}
        self._channels: dict[str, FakeChannel] = {}
        self._dm_by_user: dict[str, str] = {}
        self._calls: list[RecordedCall] = []
        self._messages: list[FakeMessage] = []
        self._response_posts: list[ResponseUrlPost] = []
        self._response_url_uses: dict[str, int] = {}
        self._triggers: dict[str, bool] = {}  # trigger id -> already used
        self._views: dict[str, dict] = {}
        self._home_views: dict[str, dict] = {}
        self._files: dict[str, FakeFile] = {}  # by file id, in announcing order
        self._failures: dict[str, deque[_Failure]] = {}
        self._slow_answers: dict[str, float] = {}  # method -> seconds its answer is held back after it took effect
        self._rate_limit: tuple[float, int] | None = None
        self._rate_clock: Callable[[], float] = time.monotonic
        self._workspace_limit: tuple[float, int] | None = None
        self.rate_limited = 0  # 429s answered since rate limits were enforced
        self._rate_buckets: dict[str, tuple[float, float]] = {}  # channel -> (tokens, last refill)
        # Anchored at real time so ts values look current to code that ages messages, and driven by a
        # counter so they are unique and sort in posting order.
        self._ts_base_us = int(time.time()) * 1_000_000
        self._ts_counter = itertools.count(1)
        self._id_counter = itertools.count(1)

        self.add_user(FakeUser(id=bot_user_id, name="handoff", real_name="Handoff", is_bot=True))

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeSlack:
        with self._lock:
            if self._server is not None:
                raise RuntimeError("FakeSlack is already running")
            self._server = _Server(self)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                daemon=True,
                name="fake-slack",
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        with self._lock:
            server, thread = self._server, self._thread
            self._server, self._thread = None, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        server = self._server
        if server is None:
            raise RuntimeError("FakeSlack is not running; call start() first")
        return f"http://127.0.0.1:{server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    # ------------------------------------------------------------------ seeding

    def add_user(self, user: FakeUser) -> FakeUser:
        with self._lock:
            self._users[user.id] = user
        return user

    def add_channel(self, channel: FakeChannel) -> FakeChannel:
        with self._lock:
            self._channels[channel.id] = channel
        return channel

    def add_message(
        self,
        channel: str,
        text: str,
        *,
        user: str,
        thread_ts: str | None = None,
        blocks: list | None = None,
    ) -> FakeMessage:
        """Seed a message someone else posted (e.g. a user's thread root the bot later replies to)."""
        with self._cond:
            msg = FakeMessage(
                channel=self._dm_by_user.get(channel, channel),
                ts=self._next_ts(),
                text=text,
                blocks=blocks,
                thread_ts=thread_ts,
                user=user,
            )
            self._messages.append(msg)
            self._cond.notify_all()
        return msg

    def reset(self) -> None:
        with self._cond:
            self._calls.clear()
            self._messages.clear()
            self._response_posts.clear()
            self._failures.clear()
            self._views.clear()
            self._home_views.clear()
            self._files.clear()
            self._rate_buckets.clear()
            self._cond.notify_all()

    def anchor_timestamps(self, moment: float) -> None:
        """Make message ts values from now on count from `moment` (epoch seconds), for code whose clock is not the
        wall clock and that compares ts with its own time (Slack's ts and the app's clock agree in production)."""
        with self._lock:
            self._ts_base_us = int(moment * 1_000_000)
            self._ts_counter = itertools.count(1)

    def dm_channel_id(self, user_id: str) -> str | None:
        """The DM channel the fake opened with ``user_id``, if any."""
        with self._lock:
            return self._dm_by_user.get(user_id)

    # ------------------------------------------------------------------ response urls and triggers

    def new_response_url(self) -> str:
        key = uuid.uuid4().hex
        with self._lock:
            self._response_url_uses[key] = 0
        return f"{self.base_url}/response/{key}"

    def new_trigger_id(self) -> str:
        with self._lock:
            n = next(self._id_counter)
            trigger = f"{n}.{self.team_id[1:] or '1'}.{uuid.uuid4().hex}"
            self._triggers[trigger] = False
        return trigger

    # ------------------------------------------------------------------ failure injection

    def fail_next(
        self,
        method: str,
        *,
        error: str = "ratelimited",
        status: int | None = None,
        retry_after: int = 1,
        times: int = 1,
    ) -> None:
        with self._lock:
            queue = self._failures.setdefault(method, deque())
            for _ in range(times):
                queue.append(_Failure(error=error, status=status, retry_after=retry_after))

    def answer_slowly(self, method: str, seconds: float) -> None:
        """Take every later call of `method` at once, and answer it `seconds` late: a slow Slack, whose caller may
        die after the call took effect and before it heard so."""
        with self._lock:
            self._slow_answers[method] = seconds

    def enforce_rate_limits(
        self,
        per_channel_per_second: float = 1.0,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        workspace_per_minute: int | None = None,
        workspace_burst: int = 10,
    ) -> None:
        """Answer chat.postMessage with 429 when one channel is posted to faster than allowed, or (with
        `workspace_per_minute`) the workspace as a whole; `clock` (seconds) lets a test share its virtual time with
        the code under test."""
        if per_channel_per_second <= 0 or burst < 1:
            raise ValueError("per_channel_per_second must be > 0 and burst >= 1")
        with self._lock:
            self._rate_limit = (per_channel_per_second, burst)
            self._workspace_limit = (workspace_per_minute / 60.0, workspace_burst) if workspace_per_minute else None
            self._rate_clock = clock
            self._rate_buckets.clear()
            self.rate_limited = 0

    def disable_rate_limits(self) -> None:
        with self._lock:
            self._rate_limit = None
            self._workspace_limit = None
            self._rate_buckets.clear()

    # ------------------------------------------------------------------ inspection

    @property
    def calls(self) -> list[RecordedCall]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[RecordedCall]:
        with self._lock:
            return [c for c in self._calls if c.method == method]

    @property
    def response_posts(self) -> list[ResponseUrlPost]:
        with self._lock:
            return list(self._response_posts)

    @property
    def views(self) -> dict[str, dict]:
        """Views opened/pushed/updated/published, by view id, as the fake last answered them."""
        with self._lock:
            return dict(self._views)

    @property
    def home_views(self) -> dict[str, dict]:
        """The App Home view last published for each user id."""
        with self._lock:
            return dict(self._home_views)

    @property
    def files(self) -> list[FakeFile]:
        """Files announced for upload, oldest first, with the bytes uploaded and where they were shared."""
        with self._lock:
            return list(self._files.values())

    def shared_files(self, channel: str, *, thread_ts: str | None = None) -> list[FakeFile]:
        """Files shared in ``channel`` (in the thread ``thread_ts``, when given), oldest first."""
        with self._lock:
            return [
                f
                for f in self._files.values()
                if any(s.channel == channel and (thread_ts is None or s.thread_ts == thread_ts) for s in f.shares)
            ]

    def messages_in(
        self,
        channel: str,
        *,
        thread_ts: str | None = None,
        include_thread_replies: bool = True,
        include_deleted: bool = False,
    ) -> list[FakeMessage]:
        """Messages in ``channel`` (a channel id, or a user id for the DM with them), oldest first.

        With ``thread_ts``: that thread's root and its replies.
        """
        with self._lock:
            channel = self._dm_by_user.get(channel, channel)
            out = []
            for m in self._messages:
                if m.channel != channel or (m.deleted and not include_deleted):
                    continue
                if thread_ts is not None:
                    if m.ts != thread_ts and m.thread_ts != thread_ts:
                        continue
                elif not include_thread_replies and m.thread_ts not in (None, m.ts):
                    continue
                out.append(m)
            return sorted(out, key=lambda m: m.ts)

    def message_payload(self, channel: str, ts: str) -> dict | None:
        """A stored message as Slack hands it to apps (`conversations.history`, a message shortcut's `message`)."""
        with self._lock:
            message = self._find_message(self._dm_by_user.get(channel, channel), ts)
            return None if message is None or message.deleted else self._message_json(message)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if predicate():
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return bool(predicate())
                # Woken by every recorded call/post; the short cap also lets predicates that look at
                # state outside the fake (the bot's database, say) be re-checked promptly.
                self._cond.wait(min(remaining, 0.05))

    def wait_for_calls(self, method: str, count: int = 1, timeout: float = 5.0) -> list[RecordedCall]:
        if not self.wait_for(lambda: len(self.calls_to(method)) >= count, timeout):
            raise AssertionError(
                f"expected at least {count} call(s) to {method} within {timeout}s, "
                f"got {len(self.calls_to(method))}.\n{self._describe_calls()}"
            )
        return self.calls_to(method)

    def wait_for_response_posts(self, count: int = 1, timeout: float = 5.0) -> list[ResponseUrlPost]:
        if not self.wait_for(lambda: len(self.response_posts) >= count, timeout):
            posts = self.response_posts
            listing = "\n".join(f"  - {p.key}: {_short(p.body)}" for p in posts) or "  (none)"
            raise AssertionError(
                f"expected at least {count} response_url post(s) within {timeout}s, got {len(posts)}:\n"
                f"{listing}\n{self._describe_calls()}"
            )
        return self.response_posts

    def _describe_calls(self) -> str:
        calls = self.calls
        if not calls:
            return "Web API calls seen: (none)"
        lines = [f"Web API calls seen ({len(calls)}):"]
        for c in calls:
            outcome = "ok" if c.response.get("ok") else f"error={c.response.get('error')}"
            lines.append(f"  - {c.method} [{c.status} {outcome}] args={_short(c.args)}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ HTTP plumbing

    def _handle_http(self, path: str, headers: Message, body: bytes) -> _HttpAnswer:
        parts = urlsplit(path)
        content_type = headers.get("Content-Type") or ""
        if parts.path.startswith("/api/"):
            return self._handle_api(
                parts.path[len("/api/") :], parts.query, headers.get("Authorization"), content_type, body
            )
        if parts.path.startswith("/response/"):
            return self._handle_response_url(parts.path[len("/response/") :], content_type, body)
        if parts.path.startswith(_UPLOAD_PATH):
            return self._handle_upload(parts.path[len(_UPLOAD_PATH) :], body)
        return 404, {"Content-Type": _TEXT_CONTENT_TYPE}, b"not_found"

    def _handle_api(
        self, method: str, query: str, authorization: str | None, content_type: str, body: bytes
    ) -> _HttpAnswer:
        args: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
        token: str | None = None
        if authorization and authorization.lower().startswith("bearer "):
            token = authorization[len("bearer ") :].strip() or None
        status = 200
        extra_headers: dict[str, str] = {}
        with self._cond:
            try:
                args.update(_decode_body(content_type, body))
                # slack_sdk sends JSON nulls for unset optional arguments (views.*); Slack ignores them.
                args = {k: v for k, v in args.items() if v is not None}
                arg_token = args.pop("token", None)
                token = token or (str(arg_token) if arg_token else None)
                for name in _JSON_ARGS:
                    if isinstance(args.get(name), str) and args[name]:
                        # Left raw if undecodable; the handler then reports it as Slack would.
                        with contextlib.suppress(json.JSONDecodeError):
                            args[name] = json.loads(args[name])
                response = self._dispatch(method, args, token)
            except _SlackError as e:
                response, status, extra_headers = e.body(), e.status, e.headers
            if self.granted_scopes is not None:
                extra_headers.setdefault("X-OAuth-Scopes", ",".join(sorted(self.granted_scopes)))
                extra_headers.setdefault("X-Accepted-OAuth-Scopes", METHOD_SCOPES.get(method) or "")
            self._calls.append(RecordedCall(method=method, args=args, token=token, response=response, status=status))
            self._cond.notify_all()
            slowly = self._slow_answers.get(method, 0.0)
        if slowly:
            time.sleep(slowly)  # outside the lock: other calls are taken meanwhile
        headers = {"Content-Type": _JSON_CONTENT_TYPE, **extra_headers}
        return status, headers, json.dumps(response).encode("utf-8")

    def _handle_response_url(self, key: str, content_type: str, body: bytes) -> _HttpAnswer:
        def text(status: int, message: str) -> _HttpAnswer:
            return status, {"Content-Type": _TEXT_CONTENT_TYPE}, message.encode("utf-8")

        with self._cond:
            uses = self._response_url_uses.get(key)
            if uses is None:
                return text(404, "expired_url")
            if uses >= RESPONSE_URL_MAX_USES:
                return text(404, "used_url")
            try:
                payload = _decode_body(content_type, body)
            except _SlackError:
                return text(400, "invalid_payload")
            if isinstance(payload.get("payload"), str):  # legacy form-encoded webhook bodies
                try:
                    payload = json.loads(payload["payload"])
                except json.JSONDecodeError:
                    return text(400, "invalid_payload")
            if not isinstance(payload, dict):
                return text(400, "invalid_payload")
            for name in ("blocks", "attachments"):
                if isinstance(payload.get(name), str):
                    try:
                        payload[name] = json.loads(payload[name])
                    except json.JSONDecodeError:
                        return text(400, "invalid_blocks")
            if payload.get("blocks") is not None and block_errors(payload["blocks"], max_blocks=MAX_MESSAGE_BLOCKS):
                return text(400, "invalid_blocks")
            if len(str(payload.get("text") or "")) > MAX_TEXT_CHARS:
                return text(400, "msg_too_long")
            if not (
                payload.get("text")
                or payload.get("blocks")
                or payload.get("attachments")
                or _as_bool(payload.get("delete_original", False))
            ):
                return text(400, "no_text")
            self._response_url_uses[key] = uses + 1
            self._response_posts.append(ResponseUrlPost(key=key, body=payload))
            self._cond.notify_all()
        return text(200, "ok")

    def _handle_upload(self, key: str, body: bytes) -> _HttpAnswer:
        """The upload URL files.getUploadURLExternal hands out: a POST of the file's raw bytes."""
        with self._cond:
            file = next((f for f in self._files.values() if f.upload_key == key), None)
            if file is None or file.completed:
                return 404, {"Content-Type": _TEXT_CONTENT_TYPE}, b"not_found"
            file.content = body
            self._cond.notify_all()
        return 200, {"Content-Type": "text/plain; charset=utf-8"}, f"OK - {len(body)}".encode()

    # ------------------------------------------------------------------ dispatch

    def _dispatch(self, method: str, args: dict[str, Any], token: str | None) -> dict:
        handler = self._handlers().get(method)
        if handler is None:
            raise _SlackError("unknown_method")
        queue = self._failures.get(method)
        if queue:
            failure = queue.popleft()
            if failure.error == "ratelimited":
                raise _SlackError(
                    "ratelimited",
                    status=failure.status or 429,
                    headers={"Retry-After": str(failure.retry_after)},
                )
            raise _SlackError(failure.error, status=failure.status or 200)
        if method != "api.test":
            self._check_token(method, token)
        return handler(args)

    def _handlers(self) -> dict[str, Callable[[dict[str, Any]], dict]]:
        return {
            "api.test": self._api_test,
            "auth.test": self._auth_test,
            "apps.connections.open": self._apps_connections_open,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "chat.unfurl": self._chat_unfurl,
            "conversations.info": self._conversations_info,
            "conversations.open": self._conversations_open,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "users.info": self._users_info,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
        }

    def _check_token(self, method: str, token: str | None) -> None:
        if not token:
            raise _SlackError("not_authed")
        is_app_token = self.app_token is not None and token == self.app_token
        if token != self.bot_token and not is_app_token:
            raise _SlackError("invalid_auth")
        # App-level tokens only open Socket Mode connections, and bot tokens can't.
        if (method == "apps.connections.open") != is_app_token:
            raise _SlackError("not_allowed_token_type")
        if method not in ("conversations.info", "conversations.history", "conversations.replies"):
            # Their scope depends on the channel type; see the handlers.
            self._require_scope(METHOD_SCOPES.get(method))

    def _require_scope(self, scope: str | None) -> None:
        if scope is None or self.granted_scopes is None or scope in self.granted_scopes:
            return
        raise _SlackError(
            "missing_scope",
            extra={"needed": scope, "provided": ",".join(sorted(self.granted_scopes))},
        )

    # ------------------------------------------------------------------ helpers

    def _next_ts(self) -> str:
        us = self._ts_base_us + next(self._ts_counter) * 100
        return f"{us // 1_000_000}.{us % 1_000_000:06d}"

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._id_counter):08d}"

    def _open_dm(self, user_id: str) -> tuple[FakeChannel, bool]:
        """The bot's DM with ``user_id`` and whether it already existed."""
        existing = self._dm_by_user.get(user_id)
        if existing is not None and existing in self._channels:
            return self._channels[existing], True
        channel = FakeChannel(
            id=self._new_id("D"),
            name=user_id,
            is_private=True,
            members={user_id, self.bot_user_id},
            is_im=True,
        )
        self._channels[channel.id] = channel
        self._dm_by_user[user_id] = channel.id
        return channel, False

    def _channel_for_post(self, raw: Any) -> FakeChannel:
        """Resolve and authorise a chat.postMessage/postEphemeral target as Slack does."""
        target = str(raw or "").strip()
        if not target:
            raise _SlackError("channel_not_found")
        channel = self._channels.get(target)
        if channel is None and target[0] in "UW" and target in self._users:
            # Posting to a user id means "the app's DM with them".
            channel, _ = self._open_dm(target)
        if channel is None:
            # Slack still accepts channel names here.
            name = target.lstrip("#")
            channel = next((c for c in self._channels.values() if c.name == name and not c.is_im), None)
        if channel is None:
            raise _SlackError("channel_not_found")
        if channel.is_archived:
            raise _SlackError("is_archived")
        if self.bot_user_id not in channel.members:
            if channel.is_private or channel.is_im:
                raise _SlackError("channel_not_found")
            if not self._can_write_public():
                raise _SlackError("not_in_channel")
        return channel

    def _can_write_public(self) -> bool:
        if self.granted_scopes is not None:
            return "chat:write.public" in self.granted_scopes
        return self.public_write

    def _message_payload(self, args: dict[str, Any]) -> tuple[str, list | None, list | None]:
        """Validated (text, blocks, attachments) of a chat.* call."""
        text = args.get("text")
        text = "" if text is None else str(text)
        blocks = args.get("blocks")
        attachments = args.get("attachments")
        if isinstance(blocks, str) or isinstance(attachments, str):
            raise _SlackError("invalid_blocks_format" if isinstance(blocks, str) else "invalid_attachments")
        if blocks is not None:
            problems = block_errors(blocks, max_blocks=MAX_MESSAGE_BLOCKS)
            if problems:
                raise _SlackError("invalid_blocks", extra={"response_metadata": {"messages": problems}})
        if attachments is not None and not isinstance(attachments, list):
            raise _SlackError("invalid_attachments")
        if len(text) > MAX_TEXT_CHARS:
            raise _SlackError("msg_too_long")
        if not text and not blocks and not attachments:
            raise _SlackError("no_text")
        return text, blocks, attachments

    def _message_json(self, msg: FakeMessage) -> dict:
        out: dict[str, Any] = {"type": "message", "text": msg.text, "user": msg.user, "ts": msg.ts}
        if msg.user == self.bot_user_id:
            out.update({"bot_id": self.bot_id, "app_id": self.app_id})
        out["team"] = self.team_id
        if msg.blocks is not None:
            out["blocks"] = msg.blocks
        if msg.attachments is not None:
            out["attachments"] = msg.attachments
        if msg.metadata is not None:
            out["metadata"] = msg.metadata
        if msg.files is not None:
            out.update({"subtype": "file_share", "files": msg.files, "upload": True})
        if msg.thread_ts is not None:
            out["thread_ts"] = msg.thread_ts
            root = self._find_message(msg.channel, msg.thread_ts)
            if root is not None and root is not msg:
                out["parent_user_id"] = root.user
        return out

    def _find_message(self, channel: str, ts: str) -> FakeMessage | None:
        for m in self._messages:
            if m.channel == channel and m.ts == ts and not m.deleted and m.ephemeral_to is None:
                return m
        return None

    def _existing_message(self, args: dict[str, Any], ts_arg: str) -> FakeMessage:
        channel_id = str(args.get("channel") or "")
        if channel_id not in self._channels:
            raise _SlackError("channel_not_found")
        msg = self._find_message(channel_id, str(args.get(ts_arg) or ""))
        if msg is None:
            raise _SlackError("message_not_found")
        return msg

    def _rate_limit_post(self, channel_id: str) -> None:
        if self._rate_limit is None:
            return
        now = self._rate_clock()
        limits = [(channel_id, *self._rate_limit)]
        if self._workspace_limit is not None:
            limits.append(("*workspace*", *self._workspace_limit))
        for key, rate, burst in limits:
            tokens, last = self._rate_buckets.get(key, (float(burst), now))
            tokens = min(float(burst), tokens + (now - last) * rate)
            if tokens < 1.0:
                self._rate_buckets[key] = (tokens, now)
                wait = max(1, math.ceil((1.0 - tokens) / rate))
                self.rate_limited += 1
                raise _SlackError("ratelimited", status=429, headers={"Retry-After": str(wait)})
            self._rate_buckets[key] = (tokens, now)
        for key, _rate, _burst in limits:
            tokens, last = self._rate_buckets[key]
            self._rate_buckets[key] = (tokens - 1.0, last)

    # ------------------------------------------------------------------ methods

    def _api_test(self, args: dict[str, Any]) -> dict:
        if args.get("error"):
            raise _SlackError(str(args["error"]), extra={"args": dict(args)})
        return {"ok": True, "args": dict(args)}

    def _auth_test(self, args: dict[str, Any]) -> dict:
        bot = self._users.get(self.bot_user_id)
        org = {"enterprise_id": self.enterprise_id} if self.enterprise_id else {}
        return {
            "ok": True,
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_name,
            "user": bot.name if bot else "handoff",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": self.enterprise_id is not None,
            **org,
        }

    def _apps_connections_open(self, args: dict[str, Any]) -> dict:
        return {"ok": True, "url": self.socket_mode_url}

    def _chat_post_message(self, args: dict[str, Any]) -> dict:
        channel = self._channel_for_post(args.get("channel"))
        text, blocks, attachments = self._message_payload(args)
        self._rate_limit_post(channel.id)
        thread_ts = args.get("thread_ts") or None
        metadata = args.get("metadata")
        if isinstance(metadata, str):
            try:
                metadata = json.loads(metadata)
            except ValueError:
                raise _SlackError("invalid_metadata_format") from None
        if metadata is not None and not (isinstance(metadata, dict) and metadata.get("event_type")):
            raise _SlackError("invalid_metadata_schema")
        msg = FakeMessage(
            channel=channel.id,
            ts=self._next_ts(),
            text=text,
            blocks=blocks,
            thread_ts=str(thread_ts) if thread_ts else None,
            user=self.bot_user_id,
            attachments=attachments,
            metadata=metadata,
        )
        self._messages.append(msg)
        return {"ok": True, "channel": channel.id, "ts": msg.ts, "message": self._message_json(msg)}

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict:
        user_id = str(args.get("user") or "")
        if user_id not in self._users:
            raise _SlackError("user_not_found")
        channel = self._channel_for_post(args.get("channel"))
        text, blocks, attachments = self._message_payload(args)
        thread_ts = args.get("thread_ts") or None
        msg = FakeMessage(
            channel=channel.id,
            ts=self._next_ts(),
            text=text,
            blocks=blocks,
            thread_ts=str(thread_ts) if thread_ts else None,
            user=self.bot_user_id,
            ephemeral_to=user_id,
            attachments=attachments,
        )
        self._messages.append(msg)
        return {"ok": True, "message_ts": msg.ts}

    def _chat_update(self, args: dict[str, Any]) -> dict:
        msg = self._existing_message(args, "ts")
        if msg.user != self.bot_user_id:
            raise _SlackError("cant_update_message")
        text, blocks, attachments = self._message_payload(args)
        msg.text = text
        if "blocks" in args:
            msg.blocks = blocks
        if "attachments" in args:
            msg.attachments = attachments
        return {
            "ok": True,
            "channel": msg.channel,
            "ts": msg.ts,
            "text": msg.text,
            "message": self._message_json(msg),
        }

    def _chat_delete(self, args: dict[str, Any]) -> dict:
        msg = self._existing_message(args, "ts")
        if msg.user != self.bot_user_id:
            raise _SlackError("cant_delete_message")
        msg.deleted = True
        return {"ok": True, "channel": msg.channel, "ts": msg.ts}

    def _chat_get_permalink(self, args: dict[str, Any]) -> dict:
        msg = self._existing_message(args, "message_ts")
        link = f"https://{self.team_domain}.slack.com/archives/{msg.channel}/p{msg.ts.replace('.', '')}"
        if msg.thread_ts is not None and msg.thread_ts != msg.ts:
            link += f"?thread_ts={quote(msg.thread_ts)}&cid={quote(msg.channel)}"
        return {"ok": True, "channel": msg.channel, "permalink": link}

    def _chat_unfurl(self, args: dict[str, Any]) -> dict:
        unfurls = args.get("unfurls")
        if isinstance(unfurls, str):
            try:
                unfurls = json.loads(unfurls)
            except json.JSONDecodeError as e:
                raise _SlackError("invalid_unfurls_format") from e
        if not isinstance(unfurls, dict) or not unfurls:
            raise _SlackError("invalid_unfurls_format")
        for url, unfurl in unfurls.items():
            blocks = unfurl.get("blocks") if isinstance(unfurl, dict) else None
            if blocks is not None and block_errors(blocks, max_blocks=MAX_MESSAGE_BLOCKS):
                raise _SlackError("invalid_blocks", extra={"response_metadata": {"messages": [url]}})
        if args.get("unfurl_id") and args.get("source"):
            return {"ok": True}
        channel = self._channels.get(str(args.get("channel") or ""))
        if channel is None:
            raise _SlackError("channel_not_found")
        if self._find_message(channel.id, str(args.get("ts") or "")) is None:
            raise _SlackError("cannot_find_message")
        return {"ok": True}

    def _conversations_info(self, args: dict[str, Any]) -> dict:
        channel = self._channels.get(str(args.get("channel") or ""))
        if channel is not None and channel.is_im:
            self._require_scope("im:read")
        elif channel is not None and channel.is_private:
            self._require_scope("groups:read")
        else:
            self._require_scope(METHOD_SCOPES["conversations.info"])
        is_member = channel is not None and self.bot_user_id in channel.members
        # Slack hides private conversations from apps that aren't in them.
        if channel is None or (channel.is_private and not is_member):
            raise _SlackError("channel_not_found")
        info: dict[str, Any] = {"id": channel.id, "created": self._ts_base_us // 1_000_000}
        if channel.is_im:
            user = next((m for m in channel.members if m != self.bot_user_id), channel.name)
            info.update({"is_im": True, "is_private": True, "is_archived": False, "user": user})
            info.update({"is_channel": False, "is_group": False, "is_mpim": False})
        else:
            is_mpim = channel.name.startswith("mpdm-")
            info.update(
                {
                    "name": channel.name,
                    "name_normalized": channel.name,
                    "is_channel": not is_mpim and not channel.id.startswith("G"),
                    "is_group": channel.id.startswith("G") and not is_mpim,
                    "is_im": False,
                    "is_mpim": is_mpim,
                    "is_private": channel.is_private,
                    "is_archived": channel.is_archived,
                    "is_general": False,
                    "is_member": is_member,
                }
            )
        return {"ok": True, "channel": info}

    def _history_channel(self, args: dict[str, Any]) -> FakeChannel:
        """The channel a history call reads, checked as Slack checks it: scope by type, then membership."""
        channel = self._channels.get(str(args.get("channel") or ""))
        if channel is not None and channel.is_im:
            self._require_scope("im:history")
        elif channel is not None and channel.is_private:
            self._require_scope("groups:history")
        else:
            self._require_scope("channels:history")
        if channel is None or (channel.is_private and self.bot_user_id not in channel.members):
            raise _SlackError("channel_not_found")
        if self.bot_user_id not in channel.members:
            raise _SlackError("not_in_channel")
        return channel

    def _conversations_history(self, args: dict[str, Any]) -> dict:
        """Top-level messages, newest first, between `oldest` and `latest` (`inclusive` takes the ends too)."""
        channel = self._history_channel(args)
        oldest = float(args.get("oldest") or 0)
        latest = float(args.get("latest") or 9e12)
        inclusive = _as_bool(args.get("inclusive", False))
        limit = max(1, min(int(args.get("limit") or 100), 999))
        found = [
            m
            for m in self._messages
            if m.channel == channel.id
            and not m.deleted
            and m.ephemeral_to is None
            and (m.thread_ts is None or m.thread_ts == m.ts)
            and (oldest <= float(m.ts) <= latest if inclusive else oldest < float(m.ts) < latest)
        ]
        found.reverse()
        page = [self._message_json(m) for m in found[:limit]]
        return {"ok": True, "messages": page, "has_more": len(found) > limit, "response_metadata": {"next_cursor": ""}}

    def _conversations_replies(self, args: dict[str, Any]) -> dict:
        """A thread: its root, then the replies oldest first."""
        channel = self._history_channel(args)
        root = self._find_message(channel.id, str(args.get("ts") or ""))
        if root is None or root.deleted:
            raise _SlackError("thread_not_found")
        thread = [root] + [
            m
            for m in self._messages
            if m.channel == channel.id and m.thread_ts == root.ts and m is not root and not m.deleted
        ]
        limit = max(1, min(int(args.get("limit") or 1000), 1000))
        return {
            "ok": True,
            "messages": [self._message_json(m) for m in thread[:limit]],
            "has_more": len(thread) > limit,
            "response_metadata": {"next_cursor": ""},
        }

    def _conversations_open(self, args: dict[str, Any]) -> dict:
        return_im = _as_bool(args.get("return_im", False))
        if args.get("channel"):
            channel = self._channels.get(str(args["channel"]))
            if channel is None or self.bot_user_id not in channel.members:
                raise _SlackError("channel_not_found")
            return {"ok": True, "no_op": True, "already_open": True, "channel": {"id": channel.id}}
        raw_users = args.get("users")
        if isinstance(raw_users, list):
            raw_users = ",".join(str(u) for u in raw_users)
        user_ids = [u.strip() for u in str(raw_users or "").split(",") if u.strip()]
        if not user_ids:
            raise _SlackError("users_list_not_supplied")
        for uid in user_ids:
            user = self._users.get(uid)
            if user is None:
                raise _SlackError("user_not_found")
            if user.deleted:
                raise _SlackError("user_disabled")
        if len(user_ids) > 8:
            raise _SlackError("too_many_users")
        if len(user_ids) == 1:
            dm, existed = self._open_dm(user_ids[0])
            body: dict[str, Any] = {"ok": True, "channel": {"id": dm.id}}
            if return_im:
                body["channel"].update({"is_im": True, "user": user_ids[0], "created": 0})
            if existed:
                body.update({"no_op": True, "already_open": True})
            return body
        self._require_scope("mpim:write")
        members = {*user_ids, self.bot_user_id}
        group = next((c for c in self._channels.values() if c.name.startswith("mpdm-") and c.members == members), None)
        if group is None:
            group = self.add_channel(
                FakeChannel(
                    id=self._new_id("G"),
                    name="mpdm-" + "--".join(sorted(members)) + "-1",
                    is_private=True,
                    members=members,
                )
            )
        return {"ok": True, "channel": {"id": group.id}}

    def _users_info(self, args: dict[str, Any]) -> dict:
        user = self._users.get(str(args.get("user") or ""))
        if user is None:
            raise _SlackError("user_not_found")
        tz_label, tz_offset = _tz_details(user.tz)
        display = user.name
        return {
            "ok": True,
            "user": {
                "id": user.id,
                "team_id": self.team_id,
                "name": user.name,
                "real_name": user.real_name,
                "deleted": user.deleted,
                "is_admin": user.is_admin,
                "is_owner": user.is_owner,
                "is_primary_owner": False,
                "is_restricted": False,
                "is_ultra_restricted": False,
                "is_bot": user.is_bot,
                "is_app_user": False,
                "tz": user.tz,
                "tz_label": tz_label,
                "tz_offset": tz_offset,
                "profile": {
                    "real_name": user.real_name,
                    "real_name_normalized": user.real_name,
                    "display_name": display,
                    "display_name_normalized": display,
                    "team": self.team_id,
                },
            },
        }

    # ---- views

    def _validated_view(self, args: dict[str, Any], allowed_types: tuple[str, ...]) -> dict:
        view = args.get("view")
        if not isinstance(view, dict):
            raise _invalid_arguments("invalid `view` [json-pointer:/view]")
        if view.get("type") not in allowed_types:
            raise _invalid_arguments(f"must be one of {', '.join(allowed_types)} [json-pointer:/view/type]")
        problems = [
            p.replace("[json-pointer:/blocks", "[json-pointer:/view/blocks")
            for p in block_errors(view.get("blocks", []), max_blocks=MAX_VIEW_BLOCKS)
        ]
        if view["type"] == "modal":
            title = view.get("title")
            if not isinstance(title, dict):
                problems.append("missing required field: title [json-pointer:/view/title]")
            elif _text_len(title) > MAX_MODAL_TITLE_CHARS:
                problems.append(
                    f"must be less than {MAX_MODAL_TITLE_CHARS + 1} characters [json-pointer:/view/title/text]"
                )
        if len(str(view.get("private_metadata", ""))) > MAX_PRIVATE_METADATA_CHARS:
            problems.append(
                f"must be less than {MAX_PRIVATE_METADATA_CHARS + 1} characters [json-pointer:/view/private_metadata]"
            )
        if problems:
            raise _invalid_arguments(*problems)
        return view

    def _consume_trigger(self, args: dict[str, Any]) -> None:
        trigger = args.get("trigger_id") or args.get("interactivity_pointer")
        if not trigger:
            raise _invalid_arguments("missing required field: trigger_id")
        used = self._triggers.get(str(trigger))
        if used is None:
            raise _SlackError("invalid_trigger_id")
        if used:
            raise _SlackError("expired_trigger_id")

    def _store_view(self, view: dict, *, view_id: str | None = None, root_view_id: str | None = None) -> dict:
        view_id = view_id or self._new_id("V")
        stored = {
            "state": {"values": {}},
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "clear_on_close": False,
            "notify_on_close": False,
            "blocks": [],
            **view,
            "id": view_id,
            "team_id": self.team_id,
            "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
            "root_view_id": root_view_id or view_id,
            "app_id": self.app_id,
            "bot_id": self.bot_id,
            "previous_view_id": None,
        }
        self._views[view_id] = stored
        return stored

    def _open_or_push(self, args: dict[str, Any]) -> dict:
        self._consume_trigger(args)
        view = self._validated_view(args, ("modal",))
        # Only a successful call uses up the trigger, so a bot can retry after fixing its view.
        self._triggers[str(args.get("trigger_id") or args.get("interactivity_pointer"))] = True
        return {"ok": True, "view": self._store_view(view)}

    def _views_open(self, args: dict[str, Any]) -> dict:
        return self._open_or_push(args)

    def _views_push(self, args: dict[str, Any]) -> dict:
        return self._open_or_push(args)

    def _views_update(self, args: dict[str, Any]) -> dict:
        view_id = args.get("view_id")
        external_id = args.get("external_id")
        current: dict | None = None
        if view_id:
            current = self._views.get(str(view_id))
        elif external_id:
            current = next((v for v in self._views.values() if v.get("external_id") == external_id), None)
        else:
            raise _invalid_arguments("missing required field: view_id")
        if current is None:
            raise _SlackError("not_found")
        if args.get("hash") and args["hash"] != current["hash"]:
            raise _SlackError("hash_conflict")
        view = self._validated_view(args, ("modal", "home"))
        return {
            "ok": True,
            "view": self._store_view(view, view_id=current["id"], root_view_id=current["root_view_id"]),
        }

    def _views_publish(self, args: dict[str, Any]) -> dict:
        user_id = str(args.get("user_id") or "")
        if user_id not in self._users:
            raise _invalid_arguments("invalid `user_id`")
        current = self._home_views.get(user_id)
        if args.get("hash") and current is not None and args["hash"] != current["hash"]:
            raise _SlackError("hash_conflict")
        view = self._validated_view(args, ("home",))
        stored = self._store_view(view, view_id=current["id"] if current else None)
        self._home_views[user_id] = stored
        return {"ok": True, "view": stored}

    # ---- files (the external upload flow slack_sdk's files_upload_v2 drives)

    def _files_get_upload_url_external(self, args: dict[str, Any]) -> dict:
        filename = str(args.get("filename") or "").strip()
        raw_length = str(args.get("length") or "").strip()
        problems = []
        if not filename:
            problems.append("missing required field: filename")
        if not raw_length.isdigit() or int(raw_length) < 1:
            problems.append("missing required field: length" if not raw_length else "invalid `length`")
        if problems:
            raise _invalid_arguments(*problems)
        file = FakeFile(
            id=self._new_id("F"),
            filename=filename,
            length=int(raw_length),
            alt_txt=str(args["alt_txt"]) if args.get("alt_txt") else None,
            upload_key=uuid.uuid4().hex,
        )
        self._files[file.id] = file
        return {"ok": True, "upload_url": f"{self.base_url}{_UPLOAD_PATH}{file.upload_key}", "file_id": file.id}

    def _files_complete_upload_external(self, args: dict[str, Any]) -> dict:
        entries = args.get("files")
        if (
            not isinstance(entries, list)
            or not entries
            or not all(isinstance(e, dict) and e.get("id") for e in entries)
        ):
            raise _invalid_arguments("missing required field: files")
        files = []
        for entry in entries:
            file = self._files.get(str(entry["id"]))
            # Slack knows no file whose bytes never reached the upload URL.
            if file is None or file.content is None or file.completed:
                raise _SlackError("file_not_found")
            files.append((file, entry))
        targets = [str(args["channel_id"])] if args.get("channel_id") else []
        targets += [c.strip() for c in str(args.get("channels") or "").split(",") if c.strip()]
        channels = [self._channel_for_share(target) for target in targets]
        thread_ts = str(args["thread_ts"]) if args.get("thread_ts") else None
        if thread_ts is not None and len(channels) != 1:
            raise _invalid_arguments("thread_ts needs exactly one channel")
        comment = str(args["initial_comment"]) if args.get("initial_comment") else None
        for file, entry in files:
            file.title = str(entry.get("title") or file.filename)
            file.completed = True
        described = [self._file_json(file) for file, _ in files]
        for channel in channels:
            msg = FakeMessage(
                channel=channel.id,
                ts=self._next_ts(),
                text=comment or "",
                blocks=None,
                thread_ts=thread_ts,
                user=self.bot_user_id,
                files=described,
            )
            self._messages.append(msg)
            for file, _ in files:
                file.shares.append(FileShare(channel.id, thread_ts, msg.ts, comment))
        return {"ok": True, "files": [self._file_json(file) for file, _ in files]}

    def _channel_for_share(self, target: str) -> FakeChannel:
        """A channel a file is shared into: unlike chat.postMessage, the app must be a member, even of a public one."""
        channel = self._channels.get(target)
        if channel is None or (self.bot_user_id not in channel.members and (channel.is_private or channel.is_im)):
            raise _SlackError("channel_not_found")
        if channel.is_archived:
            raise _SlackError("is_archived")
        if self.bot_user_id not in channel.members:
            raise _SlackError("not_in_channel")
        return channel

    def _file_json(self, file: FakeFile) -> dict:
        extension = file.filename.rsplit(".", 1)[-1].lower() if "." in file.filename else "binary"
        mimetype = {"png": "image/png", "csv": "text/csv"}.get(extension, "application/octet-stream")
        url = f"https://files.slack.com/files-pri/{self.team_id}-{file.id}/{quote(file.filename)}"
        shares: dict[str, dict[str, list[dict]]] = {}
        for share in file.shares:
            channel = self._channels.get(share.channel)
            kind = "private" if channel is None or channel.is_private or channel.is_im else "public"
            where: dict[str, Any] = {"ts": share.ts, "channel_name": channel.name if channel else ""}
            if share.thread_ts:
                where["thread_ts"] = share.thread_ts
            shares.setdefault(kind, {}).setdefault(share.channel, []).append(where)
        return {
            "id": file.id,
            "created": self._ts_base_us // 1_000_000,
            "timestamp": self._ts_base_us // 1_000_000,
            "name": file.filename,
            "title": file.title or file.filename,
            "mimetype": mimetype,
            "filetype": extension,
            "user": self.bot_user_id,
            "size": len(file.content or b""),
            "url_private": url,
            "url_private_download": url.replace("/files-pri/", "/files-pri/download/", 1),
            "permalink": f"https://{self.team_domain}.slack.com/files/{self.bot_user_id}/{file.id}/{quote(file.filename)}",
            "alt_txt": file.alt_txt,
            "is_public": "public" in shares,
            "channels": sorted({s.channel for s in file.shares}),
            "shares": shares,
        }


def _short(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."
