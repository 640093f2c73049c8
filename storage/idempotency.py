"""Once-only keys: the first writer of `(scope, key)` wins, in the database, so every replica agrees."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col

from storage.models import IdempotencyKey


def claim_once(*, session: Session, scope: str, key: str, now: datetime) -> bool:
    """True for the first caller with this key (the row is written with the caller's transaction); False after."""
    return _insert_if_absent(session, scope, key[:255], now)


def is_claimed(*, session: Session, scope: str, key: str) -> bool:
    statement = select(col(IdempotencyKey.key)).where(
        col(IdempotencyKey.scope) == scope, col(IdempotencyKey.key) == key[:255]
    )
    return session.connection().execute(statement).first() is not None


def release_claim(*, session: Session, scope: str, key: str) -> None:
    """Give a claim back when the work it stood for could not be done, so a later attempt may do it."""
    session.connection().execute(
        delete(IdempotencyKey).where(col(IdempotencyKey.scope) == scope, col(IdempotencyKey.key) == key[:255])
    )


def claim_all_once(*, session: Session, scope: str, keys: list[str], now: datetime) -> bool:
    """Claim several keys that name the same thing; False if any of them was claimed before (then none is)."""
    claimed: list[str] = []
    for key in dict.fromkeys(k[:255] for k in keys):
        if not _insert_if_absent(session, scope, key, now):
            if claimed:
                session.connection().execute(
                    delete(IdempotencyKey).where(
                        col(IdempotencyKey.scope) == scope, col(IdempotencyKey.key).in_(claimed)
                    )
                )
            return False
        claimed.append(key)
    return True


def _insert_if_absent(session: Session, scope: str, key: str, now: datetime) -> bool:
    return insert_if_absent(
        session, IdempotencyKey, {"scope": scope, "key": key, "created_at": now}, index_elements=["scope", "key"]
    )


def insert_if_absent(
    session: Session, model: type[SQLModel], values: dict[str, Any], *, index_elements: list[str]
) -> bool:
    """Insert the row unless one with the same unique key is there, within the caller's transaction; True if this
    call inserted it.

    `ON CONFLICT DO NOTHING` where the dialect has it: one statement, and no savepoint for the common duplicate.
    """
    insert = _dialect_insert(session)
    if insert is None:
        return _insert_in_savepoint(session, model(**values)) is not None
    statement = insert(model).values(**values).on_conflict_do_nothing(index_elements=index_elements)
    # psycopg reports -1 for an INSERT once SQLAlchemy has closed its cursor, unless asked to keep the count.
    result = session.connection().execute(statement, execution_options={"preserve_rowcount": True})
    return result.rowcount == 1  # type: ignore[attr-defined]


def insert_returning_id(
    session: Session, model: type[SQLModel], values: dict[str, Any], *, index_elements: list[str]
) -> int | None:
    """`insert_if_absent` for a table with an `id`: the new row's id, or None if the row was there already."""
    insert = _dialect_insert(session)
    if insert is None:
        row = _insert_in_savepoint(session, model(**values))
        return None if row is None else row.id  # type: ignore[attr-defined]
    statement = _insert_returning_id(session.get_bind().dialect.name, model, tuple(index_elements))
    return session.connection().execute(statement, values).scalar()


@cache
def _insert_returning_id(dialect: str, model: type[SQLModel], index_elements: tuple[str, ...]) -> Any:
    """Built once: the values come with each execution, and name the columns."""
    table = model.__table__  # type: ignore[attr-defined]
    statement = dialect_insert(dialect)(table).on_conflict_do_nothing(index_elements=list(index_elements))
    return statement.returning(table.c.id)


def _dialect_insert(session: Session) -> Any:
    return dialect_insert(session.get_bind().dialect.name)


def dialect_insert(dialect: str) -> Any:
    """The dialect's own INSERT, which has `ON CONFLICT`; None where there is none. Imported when first asked
    for: a server loads only its own database's dialect."""
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert
    return None


def _insert_in_savepoint(session: Session, row: SQLModel) -> SQLModel | None:
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    return row
