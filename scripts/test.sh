#!/usr/bin/env bash
# Run the test suite against a real MariaDB server.
#
#   scripts/test.sh [extra cargo test args]
#
# If TEST_DATABASE_URL is set (e.g. mysql://root@127.0.0.1:3306/), the tests use
# that server and this script only runs `cargo test`. Otherwise it starts a
# throwaway MariaDB server (its own data directory under a temp dir, on a free
# 127.0.0.1 port, root with an empty password), points TEST_DATABASE_URL at
# it, runs `cargo test`, and then shuts the server down and deletes the
# temp dir. The tests create their own databases through that URL.
#
# The exit code is cargo's.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf 'test.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- cargo -----------------------------------------------------------------
if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]; then
    PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
  else
    die "cargo not found on PATH (install Rust, or 'source ~/.cargo/env')"
  fi
fi

if [ -n "${TEST_DATABASE_URL:-}" ]; then
  export TEST_DATABASE_URL
  log "using TEST_DATABASE_URL from the environment"
  exec cargo test "$@"
fi

# --- find the MariaDB programs -----------------------------------------------
# Prints the path of the first of the given programs found on PATH or in the
# usual system directories (mariadbd lives in /usr/sbin, often not on PATH).
find_bin() {
  local name dir
  for name in "$@"; do
    if command -v "$name" >/dev/null 2>&1; then
      command -v "$name"
      return 0
    fi
    for dir in /usr/sbin /usr/bin /usr/local/sbin /usr/local/bin /usr/local/mysql/bin; do
      if [ -x "$dir/$name" ]; then
        printf '%s\n' "$dir/$name"
        return 0
      fi
    done
  done
  return 1
}

MARIADBD=$(find_bin mariadbd mysqld) ||
  die "mariadbd not found; install it (Debian: apt-get install mariadb-server-core) or set TEST_DATABASE_URL"
INSTALL_DB=$(find_bin mariadb-install-db mysql_install_db) ||
  die "mariadb-install-db not found; install it (Debian: apt-get install mariadb-server-core) or set TEST_DATABASE_URL"
# mariadb-admin is in Debian's mariadb-client, the plain client in
# mariadb-client-core; either one is enough.
ADMIN=$(find_bin mariadb-admin mysqladmin) || ADMIN=""
CLIENT=$(find_bin mariadb mysql) || CLIENT=""
[ -n "$ADMIN" ] || [ -n "$CLIENT" ] ||
  die "neither mariadb-admin nor the mariadb client found; install one (Debian: apt-get install mariadb-client-core) or set TEST_DATABASE_URL"

# --- throwaway server ----------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/drupal-scim-test.XXXXXX")
# Unix socket paths are limited to ~107 bytes.
if [ "${#WORK}" -gt 80 ]; then
  rmdir "$WORK"
  WORK=$(mktemp -d /tmp/drupal-scim-test.XXXXXX)
fi
DATADIR="$WORK/data"
SOCK="$WORK/mysqld.sock"
PIDFILE="$WORK/mysqld.pid"
ERRLOG="$WORK/error.log"
SERVER_PID=""

USER_OPT=()
if [ "$(id -u)" -eq 0 ]; then
  USER_OPT=(--user=root) # mariadbd refuses to run as root without it
fi

# Talk to the server over its socket as root: "ping" or "shutdown".
server_cmd() {
  if [ -n "$ADMIN" ]; then
    "$ADMIN" --no-defaults --socket="$SOCK" --user=root --connect-timeout=2 "$1" >/dev/null 2>&1
  else
    local sql="SELECT 1"
    [ "$1" = shutdown ] && sql="SHUTDOWN"
    "$CLIENT" --no-defaults --socket="$SOCK" --user=root --connect-timeout=2 -e "$sql" >/dev/null 2>&1
  fi
}

server_alive() { [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; }

stop_server() {
  server_alive || return 0
  server_cmd shutdown || true
  local _
  for _ in $(seq 1 150); do # up to 15 s for a clean shutdown
    server_alive || break
    sleep 0.1
  done
  if server_alive; then
    log "server did not shut down; killing pid $SERVER_PID"
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
      server_alive || break
      sleep 0.1
    done
    server_alive && kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_server
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

show_log() {
  if [ -s "$1" ]; then
    log "last lines of $1:"
    tail -n 25 "$1" >&2
  fi
}

# Prints a TCP port on 127.0.0.1 that is free right now.
free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
    return
  fi
  local port _
  for _ in $(seq 1 100); do
    port=$((20000 + RANDOM % 40000))
    # A refused connection means nobody listens there.
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      printf '%s\n' "$port"
      return
    fi
  done
  die "could not find a free TCP port"
}

log "creating a throwaway MariaDB in $WORK"
if ! "$INSTALL_DB" --no-defaults --datadir="$DATADIR" --auth-root-authentication-method=normal \
  --skip-test-db --skip-name-resolve "${USER_OPT[@]}" >"$WORK/install.log" 2>&1; then
  show_log "$WORK/install.log"
  die "mariadb-install-db failed"
fi

PORT=""
for attempt in 1 2 3; do
  PORT=$(free_port)
  : >"$ERRLOG"
  "$MARIADBD" --no-defaults "${USER_OPT[@]}" \
    --datadir="$DATADIR" --socket="$SOCK" --port="$PORT" --bind-address=127.0.0.1 \
    --pid-file="$PIDFILE" --log-error="$ERRLOG" --skip-name-resolve \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
    --innodb-buffer-pool-size=64M --innodb-flush-log-at-trx-commit=2 \
    --max-connections=500 </dev/null >"$WORK/mariadbd.out" 2>&1 &
  SERVER_PID=$!

  deadline=$((SECONDS + 30))
  until server_cmd ping; do
    if ! server_alive; then
      wait "$SERVER_PID" 2>/dev/null || true
      SERVER_PID=""
      break
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      show_log "$ERRLOG"
      die "MariaDB did not answer within 30 s (port $PORT, socket $SOCK)"
    fi
    sleep 0.2
  done
  server_alive && break

  # The server exited. Another process may have taken the port in between.
  if [ "$attempt" -lt 3 ] && grep -qiE 'address already in use|bind on tcp/ip port' "$ERRLOG"; then
    log "port $PORT was taken; retrying with another port"
    continue
  fi
  show_log "$ERRLOG"
  show_log "$WORK/mariadbd.out"
  die "MariaDB exited during startup"
done

export TEST_DATABASE_URL="mysql://root@127.0.0.1:$PORT/"
log "MariaDB is up (pid $SERVER_PID); TEST_DATABASE_URL=$TEST_DATABASE_URL"

set +e
cargo test "$@"
rc=$?
set -e
exit "$rc"
