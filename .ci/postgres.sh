# Sourced by .ci/run: a throwaway PostgreSQL server on 127.0.0.1 for the test run, without Docker. It uses the
# server binaries the machine has (Debian's postgresql package: /usr/lib/postgresql/<version>/bin), exports
# HANDOFF_TEST_POSTGRES_URL, and stops the server and deletes its data when the shell exits.

postgres_start() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$bin" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  fi
  if [ -z "$bin" ]; then
    echo "PostgreSQL server binaries not found (install Debian's postgresql package)" >&2
    return 1
  fi
  POSTGRES_DIR=$(mktemp -d "${TMPDIR:-/tmp}/handoff-postgres.XXXXXX")
  POSTGRES_AS=()
  if [ "$(id -u)" = 0 ]; then  # initdb refuses to run as root; the package's own user runs the server
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres: "$POSTGRES_DIR"
    POSTGRES_AS=(runuser -u postgres --)
  fi
  POSTGRES_BIN=$bin
  trap postgres_stop EXIT
  "${POSTGRES_AS[@]}" "$bin/initdb" -D "$POSTGRES_DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync \
    >"$POSTGRES_DIR/initdb.log" 2>&1 || { cat "$POSTGRES_DIR/initdb.log" >&2; return 1; }
  local attempt port
  for attempt in 1 2 3; do  # a free port can be taken between choosing it and binding it
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    if "${POSTGRES_AS[@]}" "$bin/pg_ctl" -D "$POSTGRES_DIR/data" -l "$POSTGRES_DIR/server.log" -w -t 30 -s \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $POSTGRES_DIR -c fsync=off -c synchronous_commit=off \
          -c full_page_writes=off -c max_connections=300 -c timezone=UTC" start; then
      export HANDOFF_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
      echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port for the tests"
      return 0
    fi
  done
  cat "$POSTGRES_DIR/server.log" >&2
  return 1
}

postgres_stop() {
  if [ -n "${POSTGRES_DIR:-}" ] && [ -f "$POSTGRES_DIR/data/postmaster.pid" ]; then
    "${POSTGRES_AS[@]}" "$POSTGRES_BIN/pg_ctl" -D "$POSTGRES_DIR/data" -m immediate -w -s stop || true
  fi
  if [ -n "${POSTGRES_DIR:-}" ]; then rm -rf "$POSTGRES_DIR"; fi
}
