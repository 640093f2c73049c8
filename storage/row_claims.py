"""Picking work that replicas share: rows are picked and claimed in one transaction, locked as they are picked.

On PostgreSQL the pick is `SELECT … FOR UPDATE SKIP LOCKED`, so a replica passes by the rows another is claiming
at that moment and takes the next ones, instead of queueing on their locks; SQLite has a single writer and ignores
the clause. Each row is still claimed with its own conditional update, which is what makes it exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session
from sqlmodel.sql.expression import SelectOfScalar


def claim_picked(*, session: Session, candidates: SelectOfScalar[Any], claim: Callable[[int], bool]) -> list[int]:
    """Lock the ids `candidates` selects (skipping rows locked by others) and claim each with `claim`, a
    conditional update that answers whether it won; the ids won, in the order picked."""
    picked = session.exec(candidates.with_for_update(skip_locked=True)).all()
    return [int(row_id) for row_id in picked if row_id is not None and claim(int(row_id))]
