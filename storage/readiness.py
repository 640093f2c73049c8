"""Typed queries for handoff docs, per-initiative checklist entries and forced phase changes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import delete
from sqlmodel import Session, col, select

from storage.models import ChecklistEntry, HandoffDoc, PhaseChange


def add_doc(*, session: Session, doc: HandoffDoc) -> HandoffDoc:
    session.add(doc)
    session.flush()
    return doc


def docs_by_initiative(*, session: Session, initiative_ids: Sequence[int]) -> dict[int, list[HandoffDoc]]:
    """The docs in force (not removed) of each initiative, oldest first."""
    if not initiative_ids:
        return {}
    statement = (
        select(HandoffDoc)
        .where(col(HandoffDoc.initiative_id).in_(initiative_ids), col(HandoffDoc.removed_at).is_(None))
        .order_by(col(HandoffDoc.added_at), col(HandoffDoc.id))
    )
    found: dict[int, list[HandoffDoc]] = defaultdict(list)
    for doc in session.exec(statement):
        found[doc.initiative_id].append(doc)
    return dict(found)


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
    statement = (
        select(ChecklistEntry)
        .where(col(ChecklistEntry.initiative_id).in_(initiative_ids))
        .order_by(col(ChecklistEntry.id))
    )
    found: dict[int, list[ChecklistEntry]] = defaultdict(list)
    for entry in session.exec(statement):
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
    statement = (
        select(PhaseChange)
        .where(col(PhaseChange.initiative_id).in_(initiative_ids), col(PhaseChange.forced).is_(True))
        .order_by(col(PhaseChange.changed_at), col(PhaseChange.id))
    )
    return {change.initiative_id: change for change in session.exec(statement)}
