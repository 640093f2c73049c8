"""What the benchmarks count: the statements an engine sends, and percentiles of timings."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import event, insert
from sqlalchemy.engine import Engine


class StatementCounter:
    """Every SQL statement the engine sends, by its first word (an executemany counts once)."""

    def __init__(self, engine: Engine):
        self.kinds: Counter[str] = Counter()
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.kinds[statement.lstrip().split(None, 1)[0].upper()] += 1

    def reset(self) -> None:
        self.kinds.clear()

    @property
    def total(self) -> int:
        return sum(self.kinds.values())

    def snapshot(self) -> dict[str, Any]:
        return {"total": self.total, **dict(sorted(self.kinds.items()))}


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def bulk_insert(engine: Engine, tables: dict[str, Any], rows: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    """Insert seeded rows table by table (`tables` names each table's model, in an order foreign keys allow) in one
    transaction, one executemany per table; returns how many rows each table got."""
    with engine.begin() as connection:
        for name, model in tables.items():
            if rows[name]:
                connection.execute(insert(model.__table__), rows[name])
    return {name: len(rows[name]) for name in tables}
