"""Every figure of a report as rows (name, scope, value, unit), for a spreadsheet or a slide.

A report is a tree of frozen dataclasses; every number in it (fields, and the figures derived as properties such as
shares) becomes a row named by its path, with a row of a table (a phase, a gate, an engineer) named by its label."""

from __future__ import annotations

import csv
import dataclasses
import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

FIELDS = ("name", "scope", "value", "unit")
UNIT_OF_SUFFIX = (("_days", "days"), ("_minutes", "minutes"), ("share", "share"))
LABELS = ("phase", "gate", "user_id", "name", "label")  # what names a row of a table


def figure_rows(report: Any, *, scope: str) -> list[tuple[str, str, str, str]]:
    """Each number of the report's dataclass (nested ones and tuples of them too), named by its path."""
    return [(name, scope, _value(value), _unit(name)) for name, value in _numbers(report, "")]


def write_figures_csv(path: Path, rows: list[tuple[str, str, str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(FIELDS)
        writer.writerows(rows)


def _numbers(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        label = _label_of(value)
        names = [field.name for field in dataclasses.fields(value)]
        names += [name for name, _ in inspect.getmembers(type(value), lambda member: isinstance(member, property))]
        for name in names:
            if name != label:
                yield from _numbers(getattr(value, name), _join(path, name))
    elif isinstance(value, tuple | list):
        for index, item in enumerate(value):
            yield from _numbers(item, _join(path, _label(item, index)))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _numbers(item, _join(path, str(key)))
    elif isinstance(value, bool):
        return
    elif value is None or isinstance(value, int | float):
        yield path, value


def _label_of(value: Any) -> str | None:
    """The field that names a row of a table (a phase's name), which goes into the path instead of the values."""
    for name in LABELS:
        if hasattr(value, name) and isinstance(getattr(value, name), str):
            return name
    return None


def _label(item: Any, index: int) -> str:
    label = _label_of(item)
    return str(getattr(item, label)) if label else str(index)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _unit(name: str) -> str:
    last = name.rsplit(".", 1)[-1]
    for suffix, unit in UNIT_OF_SUFFIX:
        if last.endswith(suffix):
            return unit
    return "count"
