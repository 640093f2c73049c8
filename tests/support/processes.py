"""Stopping the servers tests start as child processes."""

from __future__ import annotations

import subprocess

STOP_PATIENCE_SECONDS = 15


def stop(process: subprocess.Popen[bytes]) -> None:
    """Ask the process to stop, and kill it if it has not within `STOP_PATIENCE_SECONDS`."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_PATIENCE_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
