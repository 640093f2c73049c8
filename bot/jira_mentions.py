"""Jira keys and links in conversation: which ones a message mentions, and which initiatives it is about."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from sqlmodel import Session

from storage.checkpoints import tracked_projects
from storage.idempotency import claim_once, is_claimed, release_claim
from storage.initiatives import get_initiative_by_thread, list_initiatives_in_channel
from storage.models import Initiative

ISSUE_KEY = re.compile(r"(?<![A-Za-z0-9_/-])([A-Z][A-Z0-9_]{0,30}-[1-9][0-9]{0,9})(?![A-Za-z0-9_-])")
MAX_KEYS_PER_MESSAGE = 5  # a pasted list of tickets should not turn into a wall of replies
MENTION_SCOPE = "jira_mention"


def issue_key_in_url(url: str, site_url: str) -> str | None:
    """The issue a link to the Jira site points at: `/browse/DS-42`, or a board's `?selectedIssue=DS-42`."""
    site = urlsplit(site_url)
    parts = urlsplit(url)
    if parts.netloc.lower() != site.netloc.lower() or not parts.path.startswith(site.path.rstrip("/")):
        return None
    path = parts.path[len(site.path.rstrip("/")) :]
    if path.startswith("/browse/"):
        candidate = path[len("/browse/") :].strip("/").upper()
        return candidate if ISSUE_KEY.fullmatch(candidate) else None
    selected = parse_qs(parts.query).get("selectedIssue")
    if selected and ISSUE_KEY.fullmatch(selected[0].upper()):
        return selected[0].upper()
    return None


def mentioned_keys(text: str, *, projects: Iterable[str], site_url: str | None) -> list[str]:
    """Keys of tracked projects named in the text, and any issue linked on the Jira site, in order, once each."""
    tracked = set(projects)
    found: dict[str, None] = {}
    if site_url:
        for url in re.findall(r"<(https?://[^|>]+)(?:\|[^>]*)?>", text):
            key = issue_key_in_url(url, site_url)
            if key:
                found[key] = None
    without_links = re.sub(r"<https?://[^>]*>", " ", text)
    for key in ISSUE_KEY.findall(without_links):
        if key.rsplit("-", 1)[0] in tracked:
            found[key] = None
    return list(found)[:MAX_KEYS_PER_MESSAGE]


def initiatives_for_message(
    *, session: Session, team_id: str, channel_id: str, thread_ts: str | None
) -> list[Initiative]:
    """The initiative whose thread this is, or else those at home in the channel (for a top-level message)."""
    if thread_ts:
        initiative = get_initiative_by_thread(
            session=session, team_id=team_id, channel_id=channel_id, thread_ts=thread_ts
        )
        if initiative is not None:
            return [] if initiative.archived else [initiative]
    return list(list_initiatives_in_channel(session=session, team_id=team_id, channel_id=channel_id))


def projects_of(*, session: Session, team_id: str) -> set[str]:
    return tracked_projects(session=session, team_id=team_id)


@dataclass(frozen=True)
class Mention:
    """A Jira key named in a thread: the thread gets one reply about it, claimed once the issue is read and given
    back if the reply could not be posted."""

    channel_id: str
    thread_ts: str
    issue_key: str

    @property
    def claim_key(self) -> str:
        return f"{self.channel_id}:{self.thread_ts}:{self.issue_key}"


def mention_answered(*, session: Session, mention: Mention) -> bool:
    """Whether this key already had its reply in this thread."""
    return is_claimed(session=session, scope=MENTION_SCOPE, key=mention.claim_key)


def claim_mention(*, session: Session, mention: Mention, now: datetime) -> bool:
    """True for the one caller that replies about this key in this thread; False when another did meanwhile."""
    return claim_once(session=session, scope=MENTION_SCOPE, key=mention.claim_key, now=now)


def release_mention(*, session: Session, mention: Mention) -> None:
    """Give the claim back when the reply could not be posted, so the next mention of the key gets it."""
    release_claim(session=session, scope=MENTION_SCOPE, key=mention.claim_key)
