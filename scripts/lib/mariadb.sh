# shellcheck shell=bash
# A throwaway MariaDB server for scripts/test.sh and scripts/bench.sh (sourced, not run).
#
# The caller defines log() and die(), and may set before calling anything:
#   MARIADB_MISSING_HINT   appended to "install it (...)" errors, e.g. " or set TEST_DATABASE_URL"
#   MARIADB_SERVER_ARGS    array of mariadbd options after the fixed ones (durability, buffer
#                          pool, connections); defaults to the test suite's settings below
#
# Then:
#   ensure_cargo            put cargo on PATH or die
#   mariadb_find_programs   set MARIADBD, INSTALL_DB, ADMIN, CLIENT or die
#   mariadb_make_workdir P  set WORK (a new temp dir named P.XXXXXX), DATADIR, SOCK, PIDFILE, ERRLOG
#   mariadb_start           install a data directory in $WORK and start the server on a free
#                           127.0.0.1 port; sets PORT and SERVER_PID
#   stop_server             shut it down (clean shutdown, then TERM, then KILL)
# The caller's EXIT trap calls stop_server and removes $WORK.

# The test suite's server settings: small buffer pool, the redo log written at each commit but
# flushed to disk about once a second (a crash of the machine may lose the last second of commits,
# a crash of mariadbd loses nothing), many connections.
MARIADB_TEST_ARGS=(--innodb-buffer-pool-size=64M --innodb-flush-log-at-trx-commit=2 --max-connections=500)

# --- cargo -----------------------------------------------------------------
ensure_cargo() {
  if ! command -v cargo >/dev/null 2>&1; then
    if [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]; then
      PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
    else
      die "cargo not found on PATH (install Rust, or 'source ~/.cargo/env')"
    fi
  fi
}

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

mariadb_find_programs() {
  local hint="${MARIADB_MISSING_HINT:-}"
  MARIADBD=$(find_bin mariadbd mysqld) ||
    die "mariadbd not found; install it (Debian: apt-get install mariadb-server-core)$hint"
  INSTALL_DB=$(find_bin mariadb-install-db mysql_install_db) ||
    die "mariadb-install-db not found; install it (Debian: apt-get install mariadb-server-core)$hint"
  # mariadb-admin is in Debian's mariadb-client, the plain client in
  # mariadb-client-core; either one is enough.
  ADMIN=$(find_bin mariadb-admin mysqladmin) || ADMIN=""
  CLIENT=$(find_bin mariadb mysql) || CLIENT=""
  [ -n "$ADMIN" ] || [ -n "$CLIENT" ] ||
    die "neither mariadb-admin nor the mariadb client found; install one (Debian: apt-get install mariadb-client-core)$hint"
}

# --- throwaway server ----------------------------------------------------------
mariadb_make_workdir() {
  local name="$1"
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/$name.XXXXXX")
  # Unix socket paths are limited to ~107 bytes.
  if [ "${#WORK}" -gt 80 ]; then
    rmdir "$WORK"
    WORK=$(mktemp -d "/tmp/$name.XXXXXX")
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
}

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

show_log() {
  if [ -s "$1" ]; then
    log "last lines of $1:"
    tail -n 60 "$1" >&2
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

mariadb_start() {
  local args=("${MARIADB_TEST_ARGS[@]}")
  if [ -n "${MARIADB_SERVER_ARGS+set}" ]; then
    args=("${MARIADB_SERVER_ARGS[@]}")
  fi

  log "creating a throwaway MariaDB in $WORK"
  # Tried twice: on a machine busy with many throwaway servers at once (the test suite starts
  # several), the bootstrap server has been seen to fail now and then. Without native AIO it
  # needs no kernel AIO contexts, which many servers at once can run short of.
  local try
  for try in 1 2; do
    if "$INSTALL_DB" --no-defaults --datadir="$DATADIR" --auth-root-authentication-method=normal \
      --skip-test-db --skip-name-resolve --innodb-use-native-aio=0 "${USER_OPT[@]}" >"$WORK/install.log" 2>&1; then
      break
    fi
    show_log "$WORK/install.log"
    [ "$try" -lt 2 ] || die "mariadb-install-db failed"
    log "mariadb-install-db failed; trying once more"
    rm -rf "$DATADIR"
    sleep 1
  done

  PORT=""
  local attempt deadline
  for attempt in 1 2 3; do
    PORT=$(free_port)
    : >"$ERRLOG"
    "$MARIADBD" --no-defaults "${USER_OPT[@]}" \
      --datadir="$DATADIR" --socket="$SOCK" --port="$PORT" --bind-address=127.0.0.1 \
      --pid-file="$PIDFILE" --log-error="$ERRLOG" --skip-name-resolve \
      --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
      "${args[@]}" </dev/null >"$WORK/mariadbd.out" 2>&1 &
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
}
