"""A real MLflow tracking server for the tests: `mlflow server` with a SQLite backend store and a temporary
artifact root on 127.0.0.1, started once a run, and the `mlflow` client logging runs to it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from tests.support.processes import stop
from tests.support.replicas import free_port

START_PATIENCE_SECONDS = 240.0  # its first start migrates the SQLite store: a minute or more on a busy machine


@dataclass(frozen=True)
class MlflowServer:
    url: str

    def client(self) -> Any:
        """The official client (`mlflow.MlflowClient`), the way a data scientist's code logs to the server."""
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.url, registry_uri=self.url)

    def new_experiment(self, prefix: str = "exp") -> tuple[str, str]:
        """A fresh experiment of the run's shared server: (name, id)."""
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        return name, self.client().create_experiment(name)

    def log_run(
        self,
        experiment_id: str,
        metrics: Mapping[str, float],
        *,
        tags: Mapping[str, str] | None = None,
        step: int = 0,
        timestamp_ms: int | None = None,
        finish: bool = True,
    ) -> str:
        """A run with `metrics` logged at `step`, finished unless `finish` is False; its id."""
        client = self.client()
        run = client.create_run(experiment_id, tags=dict(tags or {}))
        run_id = str(run.info.run_id)
        for key, value in metrics.items():
            client.log_metric(run_id, key, value, timestamp=timestamp_ms, step=step)
        if finish:
            client.set_terminated(run_id, "FINISHED")
        return run_id


@contextmanager
def running_mlflow_server() -> Iterator[MlflowServer]:
    """Start `mlflow server` (the one installed beside this Python, from the `test` extra) and stop it after."""
    root = Path(tempfile.mkdtemp(prefix="handoff-mlflow-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        f"sqlite:///{root / 'mlflow.db'}",
        "--default-artifact-root",
        str(root / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    log = (root / "server.log").open("w")
    # The server's background job runners (for its own GenAI jobs) only compete with the tests for the machine.
    environment = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=root, env=environment)
    try:
        _wait_until_healthy(url, process, root / "server.log")
        yield MlflowServer(url)
    finally:
        stop(process)
        log.close()
        shutil.rmtree(root, ignore_errors=True)


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_PATIENCE_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mlflow server exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if requests.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.25)  # waiting for a child process to come up, not for wall-clock time to pass
    raise RuntimeError(f"mlflow server did not answer within {START_PATIENCE_SECONDS:.0f}s:\n{log.read_text()[-4000:]}")
