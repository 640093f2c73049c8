"""Slack retries an event it thinks we missed (`X-Slack-Retry-Num`) with the same `event_id`, and Bolt does not
dedupe: the first delivery claims the id in the database, so every replica agrees which one acts."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from storage.idempotency import claim_once

EVENT_SCOPE = "slack_event"


def claim_event(*, session: Session, event_id: str, now: datetime) -> bool:
    """True for the first delivery of this event; False for every retry of it."""
    return claim_once(session=session, scope=EVENT_SCOPE, key=event_id, now=now)
