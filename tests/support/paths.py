"""Where the repository's files are, for test modules at any depth under `tests/`."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "manifests" / "slack_app.yaml"
DATA = ROOT / "tests" / "data"
