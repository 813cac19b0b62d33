#!/usr/bin/env bash
# Try drupal-scim in one command, without Docker or a Drupal site of your own.
#
#   scripts/try.sh             build the server, start it against a throwaway MariaDB holding a
#                              Drupal 10 site, walk Entra ID's provisioning requests against it
#                              and show what Drupal's People page then lists; it stays up for
#                              your own SCIM client or curl until Ctrl-C
#   scripts/try.sh --drupal7   the same on a Drupal 7 site
#   scripts/try.sh --keep      keep the throwaway database's directory when it stops (path printed)
#   scripts/try.sh --check     walk the requests, exit 0 if every answer was the expected one, stop
#
# Environment: DRUPAL_SCIM_BIN=path uses that server binary instead of building the release one;
# NO_COLOR=1 turns colours off (they are off anyway when the output is not a terminal).
# Needs: cargo (unless DRUPAL_SCIM_BIN), curl, and the MariaDB server binaries
# (apt-get install mariadb-server-core mariadb-client-core).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf 'try.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# shellcheck source=scripts/lib/mariadb.sh
. scripts/lib/mariadb.sh

FIXTURE=tests/fixtures/drupal10.sql
D7=0
KEEP=0
CHECK=0
while [ $# -gt 0 ]; do
  case "$1" in
    --drupal7) FIXTURE=tests/fixtures/drupal7.sql; D7=1 ;;
    --keep) KEEP=1 ;;
    --check) CHECK=1 ;;
    -h | --help) sed -n '2,16p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
  BOLD=$'\033[1m' DIM=$'\033[2m' CYAN=$'\033[36m' GREEN=$'\033[32m' RED=$'\033[31m' OFF=$'\033[0m'
else
  BOLD='' DIM='' CYAN='' GREEN='' RED='' OFF=''
fi

command -v curl >/dev/null 2>&1 || die "curl is needed (apt-get install curl)"
if [ -n "${DRUPAL_SCIM_BIN:-}" ]; then
  BIN=$DRUPAL_SCIM_BIN
else
  ensure_cargo
  log "building the server (cargo build --release; the first build takes a few minutes)"
  cargo build --release --quiet --bin drupal-scim
  BIN=target/release/drupal-scim
fi
[ -x "$BIN" ] || die "no server binary at $BIN"

mariadb_find_programs
mariadb_make_workdir drupal-scim-try
SCIM_PID=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$SCIM_PID" ]; then
    kill "$SCIM_PID" 2>/dev/null || true
    wait "$SCIM_PID" 2>/dev/null || true
  fi
  stop_server
  if [ "$KEEP" = 1 ]; then
    log "kept the database directory $WORK (start mariadbd with --datadir=$DATADIR to look at it)"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mariadb_start
sql() { "$CLIENT" --no-defaults -uroot --socket="$SOCK" "$@"; }
sql -e "CREATE DATABASE drupal CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
sql drupal <"$FIXTURE"
cat drupal_mapping.toml tests/fixtures/fields_mapping.toml >"$WORK/drupal_mapping.toml"

SCIM_PORT=$(free_port)
export DRUPAL_SCIM__DATABASE__URL="mysql://root@127.0.0.1:$PORT/drupal"
export DRUPAL_SCIM__AUTH__SECRET
DRUPAL_SCIM__AUTH__SECRET=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
export DRUPAL_SCIM__MAPPING="$WORK/drupal_mapping.toml"
export DRUPAL_SCIM__SERVER__LISTEN="127.0.0.1:$SCIM_PORT"
export DRUPAL_SCIM__SERVER__PUBLIC_URL="http://127.0.0.1:$SCIM_PORT"
"$BIN" serve >"$WORK/drupal-scim.log" 2>&1 &
SCIM_PID=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$SCIM_PORT/healthz" >/dev/null 2>&1 && break
  kill -0 "$SCIM_PID" 2>/dev/null || { cat "$WORK/drupal-scim.log" >&2; die "the server stopped"; }
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$SCIM_PORT/healthz" >/dev/null || die "the server does not answer on port $SCIM_PORT"

site=$([ "$D7" = 1 ] && echo "a Drupal 7 site" || echo "a Drupal 10 site")
printf '\n%sdrupal-scim is running against %s (a throwaway MariaDB on port %s).%s\n' "$BOLD" "$site" "$PORT" "$OFF"
printf 'This is what `drupal-scim token` prints for Entra ID:\n\n'
"$BIN" token
TOKEN=$("$BIN" token --subject try 2>/dev/null | sed -n 's/^Secret Token: *//p')
[ -n "$TOKEN" ] || die "could not read the Secret Token"
BASE="http://127.0.0.1:$SCIM_PORT/scim/v2"

# What Drupal's People page (/admin/people) would list, read from its tables.
people() {
  local member_for="CASE WHEN UNIX_TIMESTAMP() - d.created < 120 THEN CONCAT(UNIX_TIMESTAMP() - d.created, ' sec')
    WHEN UNIX_TIMESTAMP() - d.created < 7200 THEN CONCAT((UNIX_TIMESTAMP() - d.created) DIV 60, ' min')
    WHEN UNIX_TIMESTAMP() - d.created < 172800 THEN CONCAT((UNIX_TIMESTAMP() - d.created) DIV 3600, ' hours')
    ELSE CONCAT((UNIX_TIMESTAMP() - d.created) DIV 86400, ' days') END"
  local q
  if [ "$D7" = 1 ]; then
    q="SELECT d.name AS Username, IF(d.status = 1, 'Active', 'Blocked') AS Status,
         COALESCE((SELECT GROUP_CONCAT(r.name ORDER BY r.name SEPARATOR ', ') FROM users_roles ur
                   JOIN role r ON r.rid = ur.rid WHERE ur.uid = d.uid), '') AS Roles,
         $member_for AS \`Member for\`
       FROM users d WHERE d.uid > 0 ORDER BY d.created DESC, d.uid DESC"
  else
    # A role's label is inside its PHP-serialized config row.
    q="SELECT d.name AS Username, IF(d.status = 1, 'Active', 'Blocked') AS Status,
         COALESCE((SELECT GROUP_CONCAT(REGEXP_REPLACE(REGEXP_SUBSTR(CONVERT(c.data USING utf8mb4),
                     's:5:\"label\";s:[0-9]+:\"[^\"]*\"'), '^.*:\"(.*)\"\$', '\\\\1') ORDER BY r.delta SEPARATOR ', ')
                   FROM user__roles r JOIN config c ON c.collection = '' AND c.name = CONCAT('user.role.', r.roles_target_id)
                   WHERE r.entity_id = d.uid AND r.deleted = 0), '') AS Roles,
         $member_for AS \`Member for\`
       FROM users_field_data d WHERE d.uid > 0 AND d.default_langcode = 1 ORDER BY d.created DESC, d.uid DESC"
  fi
  printf '%sDrupal'"'"'s People page now lists:%s\n' "$DIM" "$OFF"
  sql -t drupal -e "$q"
}

STEPS=0
PASSED=0
ANSWER=""
# scim TITLE EXPECTED_STATUS METHOD PATH [BODY]: send one request as Entra does, show both sides.
scim() {
  local title=$1 expected=$2 method=$3 path=$4 body=${5:-}
  STEPS=$((STEPS + 1))
  printf '\n%s%d. %s%s\n' "$BOLD" "$STEPS" "$title" "$OFF"
  printf '%s→ %s %s%s\n' "$CYAN" "$method" "$BASE$path" "$OFF"
  [ -n "$body" ] && printf '%s  %s%s\n' "$DIM" "$body" "$OFF"
  local args=(-sS -o "$WORK/answer" -w '%{http_code}' -X "$method" -H "Authorization: Bearer $TOKEN")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/scim+json' --data "$body")
  local status
  status=$(curl "${args[@]}" "$BASE$path") || status=000
  ANSWER=$(cat "$WORK/answer" 2>/dev/null || true)
  local colour=$GREEN
  if [ "$status" = "$expected" ]; then PASSED=$((PASSED + 1)); else colour=$RED; fi
  printf '%s← %s%s %s\n' "$colour" "$status" "$OFF" "${ANSWER:0:700}"
  [ "$status" = "$expected" ] || printf '%s  expected %s%s\n' "$RED" "$expected" "$OFF"
}
# expect_in TEXT: the last answer contains TEXT (else the step counts as failed).
expect_in() {
  if [[ "$ANSWER" != *"$1"* ]]; then
    PASSED=$((PASSED - 1))
    printf '%s  expected the answer to contain %s%s\n' "$RED" "$1" "$OFF"
  fi
}

ENTERPRISE=urn:ietf:params:scim:schemas:extension:enterprise:2.0:User
PATCH_OP=urn:ietf:params:scim:api:messages:2.0:PatchOp
NAME=ada.lovelace@example.org

printf '\n%sEntra ID'"'"'s provisioning cycle, request by request:%s\n' "$BOLD" "$OFF"
people
scim "Test connection: Entra asks for a user that does not exist" 200 GET \
  "/Users?filter=userName+eq+%22$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')%22"
expect_in '"totalResults":0'
scim "Create the user (with the enterprise extension)" 201 POST /Users \
  "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\",\"$ENTERPRISE\"],\"externalId\":\"2f4c1ab9-77e0-4d2c-9a51-5a1e6f2b3c4d\",\"userName\":\"$NAME\",\"active\":true,\"emails\":[{\"primary\":true,\"type\":\"work\",\"value\":\"$NAME\"}],\"name\":{\"givenName\":\"Ada\",\"familyName\":\"Lovelace\"},\"$ENTERPRISE\":{\"department\":\"Analytical Engines\",\"employeeNumber\":\"1815\"}}"
ID=$(printf '%s' "$ANSWER" | grep -o '"id":"[^"]*"' | head -n 1 | cut -d'"' -f4)
people
scim "Match the user by userName (the next cycle)" 200 GET "/Users?filter=userName+eq+%22$NAME%22"
expect_in '"totalResults":1'
scim "Change the mail (PATCH)" 200 PATCH "/Users/$ID" \
  "{\"schemas\":[\"$PATCH_OP\"],\"Operations\":[{\"op\":\"Replace\",\"path\":\"emails[type eq \\\"work\\\"].value\",\"value\":\"ada@example.org\"}]}"
expect_in 'ada@example.org'
scim "Create a group with the user (it becomes a Drupal role)" 201 POST /Groups \
  "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":\"Engine Builders\",\"members\":[{\"value\":\"$ID\"}]}"
people
scim "Disable the user (active = False)" 200 PATCH "/Users/$ID" \
  "{\"schemas\":[\"$PATCH_OP\"],\"Operations\":[{\"op\":\"Replace\",\"path\":\"active\",\"value\":\"False\"}]}"
expect_in '"active":false'
people

printf '\n%s%d of %d steps answered as expected%s\n' "$([ "$PASSED" = "$STEPS" ] && echo "$GREEN" || echo "$RED")" \
  "$PASSED" "$STEPS" "$OFF"
if [ "$CHECK" = 1 ]; then
  [ "$PASSED" = "$STEPS" ] || { log "server log:"; cat "$WORK/drupal-scim.log" >&2; exit 1; }
  exit 0
fi
cat <<EOF

drupal-scim keeps running: point your own SCIM client or curl at it, e.g.
  curl -H "Authorization: Bearer \$TOKEN" '$BASE/Users'
with TOKEN set to the Secret Token above. Its log: $WORK/drupal-scim.log
Ctrl-C stops the server and removes the throwaway database$([ "$KEEP" = 1 ] && echo " (its directory is kept: --keep)").
EOF
wait "$SCIM_PID"
