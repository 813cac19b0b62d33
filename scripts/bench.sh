#!/usr/bin/env bash
# The benchmark (BENCHMARKS.md): the real server in release mode against a throwaway MariaDB
# loaded with the Drupal fixture, driven over HTTP on loopback by src/bin/drupal-scim-bench.
#
#   scripts/bench.sh            full run (~7 min on 2 cores after the build); rewrites BENCHMARKS.md's results
#   scripts/bench.sh --quick    smoke run (small counts, 10,000 accounts); BENCHMARKS.md untouched
#   scripts/bench.sh --creates [N]  only the create phase (N per level, default 1000) and the
#                               statement traces, about a minute; BENCHMARKS.md untouched
#   scripts/bench.sh --lookups [N]  only the two lookup phases at 1,000 accounts (N per level, default
#                               2000) and the statement traces; BENCHMARKS.md untouched
#   scripts/bench.sh --groups   only the group phase (1,000-member PATCHes at c = 1, 8, 32) and the
#                               server's VmHWM; BENCHMARKS.md untouched
#   scripts/bench.sh --pages    only the paging phase at 1,000 accounts (every page of 100 at c = 1,
#                               8, 32) and the server's VmHWM; BENCHMARKS.md untouched
#   scripts/bench.sh --sync     the sync-out benchmark (issue #13, ~12 min): backfill, idle loop, lag;
#                               rewrites BENCHMARKS.md's sync section (scripts/lib/bench_sync.sh)
#   scripts/bench.sh --sites    many sites in one process (issue #14): 50 databases, the server
#                               with 1, 10 and 50 [[sites]] in turn (memory per site), and load on
#                               one site vs spread over 10; about 7 minutes; BENCHMARKS.md untouched
#   scripts/bench.sh --sites --quick  the same as a smoke run: 1 and 3 sites, small counts, no
#                               idle reading; under a minute
#
# Environment:
#   BENCH_DURABLE=1     flush the redo log to disk at every commit (innodb_flush_log_at_trx_commit=1)
#                       instead of the test suite's =2 (see BENCHMARKS.md)
#   BENCH_BINLOG=1      also write the binary log and sync it at every commit (log_bin, sync_binlog=1),
#                       as a primary with replicas runs
#   BENCH_POOL_MAX=N    the server's DATABASE__POOL_MAX (default 48; with --sites every site's
#                       pool_max, default 8 as shipped)
#   BENCH_WORKERS=N     the server's SERVER__WORKERS (default: one per core)
#   BENCH_OUT=FILE      where the results go (default target/bench/results.md; --sites:
#                       target/bench/sites.md)
#   BENCH_SERVER=FILE   the server binary to measure (default: the one just built), e.g. an
#                       older build to compare with; the statement check then says where they differ
#
# Everything it starts (MariaDB, the server) is stopped and removed when it exits.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf 'bench.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# shellcheck source=scripts/lib/mariadb.sh
. scripts/lib/mariadb.sh

QUICK=()
FOCUS=()
SYNC=0
SITES=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=(--quick) ;;
    --creates)
      n=1000
      if [ $# -gt 1 ] && [[ "$2" =~ ^[0-9]+$ ]]; then n=$2; shift; fi
      FOCUS=(--creates "$n")
      ;;
    --lookups)
      n=2000
      if [ $# -gt 1 ] && [[ "$2" =~ ^[0-9]+$ ]]; then n=$2; shift; fi
      FOCUS=(--lookups "$n")
      ;;
    --groups) FOCUS=(--groups) ;;
    --pages) FOCUS=(--pages) ;;
    --sync) SYNC=1 ;;
    --sites) SITES=1 ;;
    -h | --help) sed -n '2,35p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (try --help)" ;;
  esac
  shift
done

ensure_cargo
mariadb_find_programs

# --- build first, so no server waits on the compiler ----------------------------
log "building the server (cargo build --release) and the load generator (--features bench)"
if [ "$SYNC" = 1 ]; then
  cargo build --release --quiet --features bench --bins # one build for both binaries
else
  cargo build --release --quiet
  cargo build --release --quiet --features bench --bin drupal-scim-bench
fi
TARGET=${CARGO_TARGET_DIR:-target}
SERVER_BIN=${BENCH_SERVER:-$TARGET/release/drupal-scim}
BENCH_BIN=$TARGET/release/drupal-scim-bench

OUT_DIR=target/bench
mkdir -p "$OUT_DIR"
OUT=${BENCH_OUT:-$OUT_DIR/results.md}

# --- throwaway MariaDB ----------------------------------------------------------------
FLUSH=2
[ "${BENCH_DURABLE:-0}" = 1 ] && FLUSH=1
# The test suite's settings, but a buffer pool that holds 100,000 accounts (~100 MiB of data
# and indexes), as a production database would.
MARIADB_SERVER_ARGS=(--innodb-buffer-pool-size=256M --innodb-flush-log-at-trx-commit="$FLUSH" --max-connections=500)

mariadb_make_workdir drupal-scim-bench
if [ "${BENCH_BINLOG:-0}" = 1 ]; then
  MARIADB_SERVER_ARGS+=(--log-bin="$WORK/binlog" --sync-binlog=1 --server-id=1 --binlog-format=MIXED)
fi
SCIM_PID=""

stop_scim() {
  [ -n "$SCIM_PID" ] || return 0
  if kill -0 "$SCIM_PID" 2>/dev/null; then
    kill -TERM "$SCIM_PID" 2>/dev/null || true
    local _
    for _ in $(seq 1 100); do
      kill -0 "$SCIM_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$SCIM_PID" 2>/dev/null && kill -KILL "$SCIM_PID" 2>/dev/null || true
  fi
  wait "$SCIM_PID" 2>/dev/null || true
  SCIM_PID=""
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  # A sync process of --sync that outlived its bench.
  [ -f "$WORK/sync.pid" ] && { kill -TERM "$(cat "$WORK/sync.pid")" 2>/dev/null || true; }
  stop_scim
  stop_server
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mariadb_start
DB_URL="mysql://root@127.0.0.1:$PORT/drupal_bench"
log "MariaDB is up (pid $SERVER_PID, port $PORT, innodb_flush_log_at_trx_commit=$FLUSH)"

# --- the server under test ------------------------------------------------------------
# The shipped mapping plus the fixture's four fields, as tests/api/helpers.rs does: Entra's
# PATCH replaces name.familyName, which the default mapping does not store.
MAPPING="$WORK/drupal_mapping.toml"
cp drupal_mapping.toml "$MAPPING"
{ echo; cat tests/fixtures/fields_mapping.toml; } >>"$MAPPING"

# Start server binary $1 (`serve`) on database URL $2 with $MAPPING, its log in $3: sets SECRET,
# SCIM_PORT, POOL_MAX and SCIM_PID.
start_scim() {
  SECRET=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
  SCIM_PORT=$(free_port)
  POOL_MAX=${BENCH_POOL_MAX:-48}
  log "starting $1 serve on 127.0.0.1:$SCIM_PORT (pool_max $POOL_MAX); its log: $3"
  env DRUPAL_SCIM__DATABASE__URL="$2" \
    DRUPAL_SCIM__AUTH__SECRET="$SECRET" \
    DRUPAL_SCIM__SERVER__LISTEN="127.0.0.1:$SCIM_PORT" \
    DRUPAL_SCIM__MAPPING="$MAPPING" \
    DRUPAL_SCIM__DATABASE__POOL_MAX="$POOL_MAX" \
    DRUPAL_SCIM__SERVER__WORKERS="${BENCH_WORKERS:-0}" \
    "$1" serve </dev/null >"$3" 2>&1 &
  SCIM_PID=$!
}

if [ "$SYNC" = 1 ]; then
  # shellcheck source=scripts/lib/bench_sync.sh
  . scripts/lib/bench_sync.sh
  bench_sync
  exit
fi

if [ "$SITES" = 1 ]; then
  # The load generator loads the databases and starts and stops the servers itself (their
  # settings files and logs: target/bench/sites/).
  SITES_QUICK=()
  [ "${#QUICK[@]}" -eq 0 ] ||
    SITES_QUICK=(--counts 1,3 --spread 3 --idle-secs 0 --seed 50 --lookups 300 --creates 100 --rounds 1)
  log "load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
  "$BENCH_BIN" sites "${SITES_QUICK[@]}" \
    --db-server "mysql://root@127.0.0.1:$PORT" \
    --server-bin "$SERVER_BIN" \
    --mapping "$MAPPING" \
    --fixture tests/fixtures/drupal10.sql \
    --db-pid "$SERVER_PID" \
    --pool-max "${BENCH_POOL_MAX:-8}" \
    --workers "${BENCH_WORKERS:-0}" \
    --work-dir "$OUT_DIR/sites" \
    --out "${BENCH_OUT:-$OUT_DIR/sites.md}" \
    --note "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown); release build; log level info (to a file); mapping: drupal_mapping.toml + the fixture's 4 fields"
  exit $?
fi

"$BENCH_BIN" load-fixture --db-url "$DB_URL" --fixture tests/fixtures/drupal10.sql

SCIM_LOG="$OUT_DIR/server.log"
start_scim "$SERVER_BIN" "$DB_URL" "$SCIM_LOG"

UPDATE=()
[ "${#QUICK[@]}" -eq 0 ] && [ "${#FOCUS[@]}" -eq 0 ] && UPDATE=(--update BENCHMARKS.md)
log "load average now: $(cut -d' ' -f1-3 /proc/loadavg)"

set +e
DRUPAL_SCIM__AUTH__SECRET="$SECRET" "$BENCH_BIN" run \
  --origin "http://127.0.0.1:$SCIM_PORT" \
  --db-url "$DB_URL" \
  --server-pid "$SCIM_PID" \
  --db-pid "$SERVER_PID" \
  --out "$OUT" \
  "${UPDATE[@]}" "${QUICK[@]}" "${FOCUS[@]}" \
  --note "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src Cargo.toml 2>/dev/null || echo ' (with uncommitted changes)')" \
  --note "drupal-scim settings=release build; DATABASE__POOL_MAX=$POOL_MAX; SERVER__WORKERS=${BENCH_WORKERS:-0} (0: one per core); log level info (to a file); mapping: drupal_mapping.toml + the fixture's 4 fields"
rc=$?
set -e
if ! kill -0 "$SCIM_PID" 2>/dev/null; then
  log "the server died during the run; last lines of its log:"
  tail -n 25 "$SCIM_LOG" >&2
  rc=1
fi
exit "$rc"
