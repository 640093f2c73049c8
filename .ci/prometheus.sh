# Sourced by .ci/run: Debian's prometheus server for the tests, which then read KPIs from the real server scraping a
# test exporter (tests/support/prometheus_server.py). Where it cannot be installed (not root, no apt-get, no
# network), the tests use the fake of its query API instead (tests/support/fake_prometheus.py); either way this says
# which.

prometheus_install() {
  if ! command -v prometheus >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus; } \
      >/dev/null 2>&1 || true
  fi
  if command -v prometheus >/dev/null; then
    echo "Prometheus $(prometheus --version 2>&1 | awk 'NR == 1 {print $3}') at $(command -v prometheus) for the tests"
  else
    echo "Prometheus is not installed (Debian's prometheus package): the tests use a fake of its query API"
  fi
}
