"""Which code a benchmark measured: the commit, and whether the measured paths differed from it."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def code_version(paths: Sequence[str] = ("bot", "handlers", "storage"), *, flag: str = "modified") -> dict[str, Any]:
    """The commit measured, and (as `flag`) whether `paths` differed from it (others may be editing)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False)
        return done.stdout.strip()

    try:
        changed = git("status", "--porcelain", "--", *paths)
        return {"commit": git("rev-parse", "--short", "HEAD"), flag: bool(changed)}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, flag: None}
