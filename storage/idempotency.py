"""Once-only keys: the first writer of `(scope, key)` wins, in the database, so every replica agrees."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from storage.models import IdempotencyKey


def claim_once(*, session: Session, scope: str, key: str, now: datetime) -> bool:
    """True for the first caller with this key (the row is written with the caller's transaction); False after."""
    try:
        with session.begin_nested():
            session.add(IdempotencyKey(scope=scope, key=key[:255], created_at=now))
            session.flush()
    except IntegrityError:
        return False
    return True


def claim_all_once(*, session: Session, scope: str, keys: list[str], now: datetime) -> bool:
    """Claim several keys that name the same thing; False if any of them was claimed before."""
    try:
        with session.begin_nested():
            for key in dict.fromkeys(keys):
                session.add(IdempotencyKey(scope=scope, key=key[:255], created_at=now))
            session.flush()
    except IntegrityError:
        return False
    return True
