"""Typed queries for handoff docs, per-initiative checklist entries and forced phase changes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import BindParameter, bindparam, delete
from sqlmodel import Session, col, select

from storage.models import ChecklistEntry, HandoffDoc, PhaseChange


def add_doc(*, session: Session, doc: HandoffDoc) -> HandoffDoc:
    session.add(doc)
    session.flush()
    return doc


# `status` reads these for a whole page of initiatives on every request: prebuilt statements with an expanding
# list of ids skip building a statement per request and hit the compiled cache.
_IDS: BindParameter[Any] = bindparam("ids", expanding=True)
_DOCS_OF = (
    select(HandoffDoc)
    .where(col(HandoffDoc.initiative_id).in_(_IDS), col(HandoffDoc.removed_at).is_(None))
    .order_by(col(HandoffDoc.added_at), col(HandoffDoc.id))
)
_ENTRIES_OF = select(ChecklistEntry).where(col(ChecklistEntry.initiative_id).in_(_IDS)).order_by(col(ChecklistEntry.id))
_FORCED_OF = (
    select(PhaseChange)
    .where(col(PhaseChange.initiative_id).in_(_IDS), col(PhaseChange.forced).is_(True))
    .order_by(col(PhaseChange.changed_at), col(PhaseChange.id))
)


def docs_by_initiative(*, session: Session, initiative_ids: Sequence[int]) -> dict[int, list[HandoffDoc]]:
    """The docs in force (not removed) of each initiative, oldest first."""
    if not initiative_ids:
        return {}
    found: dict[int, list[HandoffDoc]] = defaultdict(list)
    for doc in session.execute(_DOCS_OF, {"ids": list(initiative_ids)}).scalars():
        found[doc.initiative_id].append(doc)
    return dict(found)


def get_doc(*, session: Session, doc_id: int) -> HandoffDoc | None:
    """A doc by id, removed or not."""
    return session.get(HandoffDoc, doc_id)


def list_docs_of_kind(*, session: Session, initiative_id: int, kind: str) -> Sequence[HandoffDoc]:
    statement = (
        select(HandoffDoc)
        .where(
            HandoffDoc.initiative_id == initiative_id,
            HandoffDoc.kind == kind,
            col(HandoffDoc.removed_at).is_(None),
        )
        .order_by(col(HandoffDoc.id))
    )
    return session.exec(statement).all()


def entries_by_initiative(*, session: Session, initiative_ids: Sequence[int]) -> dict[int, list[ChecklistEntry]]:
    """Each initiative's own added items and waivers, in the order they were made."""
    if not initiative_ids:
        return {}
    found: dict[int, list[ChecklistEntry]] = defaultdict(list)
    for entry in session.execute(_ENTRIES_OF, {"ids": list(initiative_ids)}).scalars():
        found[entry.initiative_id].append(entry)
    return dict(found)


def get_entry(*, session: Session, initiative_id: int, item_key: str, action: str) -> ChecklistEntry | None:
    statement = select(ChecklistEntry).where(
        ChecklistEntry.initiative_id == initiative_id,
        ChecklistEntry.item_key == item_key,
        ChecklistEntry.action == action,
    )
    return session.exec(statement).first()


def add_entry(*, session: Session, entry: ChecklistEntry) -> ChecklistEntry:
    session.add(entry)
    session.flush()
    return entry


def delete_entries(*, session: Session, initiative_id: int, item_key: str) -> int:
    """Drop the initiative's own entries for an item (its addition and its waiver); how many there were."""
    result = session.connection().execute(
        delete(ChecklistEntry).where(
            col(ChecklistEntry.initiative_id) == initiative_id, col(ChecklistEntry.item_key) == item_key
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def latest_forced_changes(*, session: Session, initiative_ids: Sequence[int]) -> dict[int, PhaseChange]:
    """The most recent phase change each initiative was forced through, if any."""
    if not initiative_ids:
        return {}
    return {
        change.initiative_id: change for change in session.execute(_FORCED_OF, {"ids": list(initiative_ids)}).scalars()
    }
