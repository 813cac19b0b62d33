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

# shellcheck source=scripts/lib/mariadb.sh
. scripts/lib/mariadb.sh

ensure_cargo

if [ -n "${TEST_DATABASE_URL:-}" ]; then
  export TEST_DATABASE_URL
  log "using TEST_DATABASE_URL from the environment"
  exec cargo test "$@"
fi

MARIADB_MISSING_HINT=" or set TEST_DATABASE_URL"
mariadb_find_programs

mariadb_make_workdir drupal-scim-test

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

# The test suite's settings (scripts/lib/mariadb.sh: MARIADB_TEST_ARGS).
mariadb_start

export TEST_DATABASE_URL="mysql://root@127.0.0.1:$PORT/"
log "MariaDB is up (pid $SERVER_PID); TEST_DATABASE_URL=$TEST_DATABASE_URL"

set +e
cargo test "$@"
rc=$?
set -e
exit "$rc"
