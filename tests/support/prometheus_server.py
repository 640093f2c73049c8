"""A real Prometheus server for the tests: Debian's `prometheus` binary on 127.0.0.1 with a temporary TSDB, scraping
every second a small exporter made with `prometheus-client` whose gauges the tests set.

`PrometheusUnderTest` is what the tests see of it, and of the fake that stands in where the binary is missing
(`tests/support/fake_prometheus.py`): its URL, and `set()`, which publishes a gauge's value and answers a moment at
which a query sees it. Queries evaluated at that moment (`time=`) give the same answer however often they are asked.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import requests
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.metrics_core import Metric

from tests.support.processes import stop
from tests.support.replicas import free_port

START_PATIENCE_SECONDS = 60.0
SCRAPE_PATIENCE_SECONDS = 30.0
SCRAPE_JOB = "handoff-tests"
PROMETHEUS_BINARY = "prometheus"


Series = tuple[str, float, Mapping[str, str]]  # metric, value, labels


class PrometheusUnderTest(Protocol):
    """A Prometheus (real or fake) whose series a test sets."""

    url: str
    real: bool

    def set(self, metric: str, value: float, **labels: str) -> datetime:
        """Publish `value` for the series `metric{labels}`; a moment (UTC) at which queries see it."""
        ...

    def set_series(self, series: Sequence[Series]) -> datetime:
        """Publish several series at once (one scrape to wait for); a moment at which queries see them all."""
        ...


def selector(metric: str, labels: Mapping[str, str]) -> str:
    """The PromQL selector of exactly one series: `metric{a="x",b="y"}`."""
    if not labels:
        return metric
    matchers = ",".join(f'{name}="{_escape(value)}"' for name, value in sorted(labels.items()))
    return f"{metric}{{{matchers}}}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def same_value(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


class _Gauges:
    """The exporter's gauges: any metric with any labels, as a test sets them (a `prometheus-client` collector)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._series: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}

    def set(self, metric: str, value: float, labels: Mapping[str, str]) -> None:
        with self._lock:
            self._series.setdefault(metric, {})[tuple(sorted(labels.items()))] = value

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            snapshot = {metric: dict(series) for metric, series in self._series.items()}
        for metric, series in snapshot.items():
            family = Metric(metric, "A gauge a test set.", "gauge")
            for labels, value in series.items():
                family.add_sample(metric, dict(labels), value)
            yield family


class RealPrometheus:
    """The running `prometheus` binary and the exporter it scrapes."""

    real = True

    def __init__(self, url: str, gauges: _Gauges):
        self.url = url
        self._gauges = gauges

    def set(self, metric: str, value: float, **labels: str) -> datetime:
        return self.set_series([(metric, value, labels)])

    def set_series(self, series: Sequence[Series]) -> datetime:
        for metric, value, labels in series:
            self._gauges.set(metric, value, labels)
        # One scrape collects every gauge at once: the first wait covers them all, the others pass at once.
        return max(self.wait_for(selector(metric, labels), value) for metric, value, labels in series)

    def wait_for(self, query: str, value: float) -> datetime:
        """Poll the API until `query` gives exactly one series with `value` (the next scrape); its sample time."""
        deadline = time.monotonic() + SCRAPE_PATIENCE_SECONDS
        seen: Any = None
        while time.monotonic() < deadline:
            data = requests.get(f"{self.url}/api/v1/query", params={"query": query}, timeout=5).json()["data"]
            seen = data["result"]
            if len(seen) == 1 and same_value(float(seen[0]["value"][1]), value):
                return datetime.fromtimestamp(float(seen[0]["value"][0]), UTC)
            time.sleep(0.1)  # waiting for the server's next scrape of the exporter, not for wall-clock time
        raise RuntimeError(f"Prometheus did not show {query} = {value} within {SCRAPE_PATIENCE_SECONDS:.0f}s: {seen}")


def prometheus_binary() -> str | None:
    """The `prometheus` server binary on PATH (Debian's package installs /usr/bin/prometheus), if any."""
    return shutil.which(PROMETHEUS_BINARY)


@contextmanager
def running_prometheus(binary: str) -> Iterator[RealPrometheus]:
    """Start the exporter and `binary` scraping it every second; stop both and delete the TSDB after."""
    root = Path(tempfile.mkdtemp(prefix="handoff-prometheus-"))
    gauges = _Gauges()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(gauges)  # type: ignore[arg-type]  # a collector needs only collect()
    exporter, exporter_thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    config = root / "prometheus.yml"
    config.write_text(
        "global:\n"
        "  scrape_interval: 1s\n"
        "  scrape_timeout: 1s\n"
        "scrape_configs:\n"
        f"  - job_name: {SCRAPE_JOB}\n"
        "    honor_labels: true  # a test's own `instance` or `job` label stays as the test set it\n"
        "    static_configs:\n"
        f"      - targets: ['127.0.0.1:{exporter.server_port}']\n"
    )
    log_path = root / "server.log"
    log = log_path.open("w")
    process: subprocess.Popen[bytes] | None = None
    try:
        for _attempt in range(3):  # a free port can be taken between choosing it and binding it
            port = free_port()
            process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={root / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=root,
            )
            url = f"http://127.0.0.1:{port}"
            if _wait_until_ready(url, process, log_path):
                server = RealPrometheus(url, gauges)
                server.wait_for(f'up{{job="{SCRAPE_JOB}"}}', 1.0)
                yield server
                return
        raise RuntimeError(f"prometheus did not start:\n{log_path.read_text()[-4000:]}")
    finally:
        if process is not None:
            stop(process)
        log.close()
        exporter.shutdown()
        exporter.server_close()
        exporter_thread.join(5)
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def prometheus_for_tests() -> Iterator[PrometheusUnderTest]:
    """The real server when the `prometheus` binary is installed, else the fake of its query API."""
    binary = prometheus_binary()
    if binary is None:
        from tests.support.fake_prometheus import FakePrometheus

        with FakePrometheus() as fake:
            yield fake
        return
    with running_prometheus(binary) as server:
        yield server


def _wait_until_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> bool:
    """True once the server answers `/-/ready`; False if it exited (such as on a port taken meanwhile)."""
    deadline = time.monotonic() + START_PATIENCE_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            if requests.get(f"{url}/-/ready", timeout=2).status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.1)  # waiting for a child process to come up, not for wall-clock time to pass
    raise RuntimeError(
        f"prometheus did not become ready within {START_PATIENCE_SECONDS:.0f}s:\n{log.read_text()[-4000:]}"
    )
