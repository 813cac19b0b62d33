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
# Likewise TEST_REDIS_URL (e.g. redis://127.0.0.1:6390/): set, it is used; unset, a throwaway
# redis-server (no persistence, a free 127.0.0.1 port) serves the run and is stopped after it.
#
# TEST_SCIM2_SERVER (python's scim2-server executable, a third-party SCIM server the sync-out
# tests start on free ports): set, it is used; unset, scim2-server is installed from PyPI into
# target/scim2-venv on the first run (python3 with venv needed) and taken from there.
#
# The exit code is cargo's.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf 'test.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# shellcheck source=scripts/lib/mariadb.sh
. scripts/lib/mariadb.sh
# shellcheck source=scripts/lib/redis.sh
. scripts/lib/redis.sh
# shellcheck source=scripts/lib/scim2.sh
. scripts/lib/scim2.sh

ensure_cargo

WORK=""
REDIS_WORK=""
SERVER_PID=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_server
  redis_stop
  [ -z "$WORK" ] || rm -rf "$WORK"
  [ -z "$REDIS_WORK" ] || rm -rf "$REDIS_WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The Redis tests (tests/api/redis_cache.rs) use TEST_REDIS_URL, or a throwaway redis-server on a
# free port (never the machine's own on 6379); one of them starts redis-servers of its own from
# TEST_REDIS_SERVER.
if [ -z "${TEST_REDIS_SERVER:-}" ]; then
  TEST_REDIS_SERVER=$(find_bin redis-server) || TEST_REDIS_SERVER=""
fi
export TEST_REDIS_SERVER
if [ -n "${TEST_REDIS_URL:-}" ]; then
  log "using TEST_REDIS_URL from the environment"
else
  REDIS_MISSING_HINT=" or set TEST_REDIS_URL"
  redis_find_server
  REDIS_WORK=$(mktemp -d "${TMPDIR:-/tmp}/drupal-scim-redis.XXXXXX")
  redis_start "$REDIS_WORK"
  export TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/"
  log "redis-server is up (pid $REDIS_PID); TEST_REDIS_URL=$TEST_REDIS_URL"
fi
export TEST_REDIS_URL

if [ -n "${TEST_DATABASE_URL:-}" ]; then
  export TEST_DATABASE_URL
  log "using TEST_DATABASE_URL from the environment"
else
  MARIADB_MISSING_HINT=" or set TEST_DATABASE_URL"
  mariadb_find_programs
  mariadb_make_workdir drupal-scim-test
  # The test suite's settings (scripts/lib/mariadb.sh: MARIADB_TEST_ARGS).
  mariadb_start
  export TEST_DATABASE_URL="mysql://root@127.0.0.1:$PORT/"
  log "MariaDB is up (pid $SERVER_PID); TEST_DATABASE_URL=$TEST_DATABASE_URL"
fi

if [ -n "${TEST_SCIM2_SERVER:-}" ]; then
  log "using TEST_SCIM2_SERVER from the environment"
else
  scim2_ensure "$PWD/target/scim2-venv"
  [ -z "$TEST_SCIM2_SERVER" ] || log "scim2-server $SCIM2_VERSION: $TEST_SCIM2_SERVER"
fi
export TEST_SCIM2_SERVER

set +e
cargo test "$@"
rc=$?
set -e
exit "$rc"
