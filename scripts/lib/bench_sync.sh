# shellcheck shell=bash
# `scripts/bench.sh --sync`: the sync-out benchmark of issue #13 (sourced by scripts/bench.sh
# once its MariaDB is up; uses its WORK, PORT, SERVER_PID, SERVER_BIN, BENCH_BIN, OUT_DIR,
# SCIM_PID, log and free_port).
#
# Two databases loaded with the Drupal 10 fixture: drupal_source (seeded by the bench, read by
# `drupal-scim sync`) and drupal_target (behind a `drupal-scim serve`, the sync target). The
# bench (`drupal-scim-bench sync`, src/bin/drupal-scim-bench/sync_out/) runs the phases and
# starts the sync processes itself; it writes the running one's pid to $WORK/sync.pid, which
# bench.sh's cleanup stops.
#
# Environment:
#   BENCH_SYNC_ARGS   extra arguments for `drupal-scim-bench sync`, e.g. a smoke run:
#                     "--accounts 5000 --interval-secs 10 --idle-secs 30 --changes 5 --spread-secs 20";
#                     BENCHMARKS.md is rewritten only when it is empty
#   BENCH_OUT         where the results go (default target/bench/sync-results.md)

bench_sync() {
  # The shared target directory may be rebuilt from another checkout while this runs: measure a
  # copy of what was just built.
  cp "$SERVER_BIN" "$WORK/drupal-scim"
  cp "$BENCH_BIN" "$WORK/drupal-scim-bench"
  local server="$WORK/drupal-scim" bench="$WORK/drupal-scim-bench"
  local source_url="mysql://root@127.0.0.1:$PORT/drupal_source"
  local target_url="mysql://root@127.0.0.1:$PORT/drupal_target"
  "$bench" load-fixture --db-url "$source_url" --fixture tests/fixtures/drupal10.sql
  "$bench" load-fixture --db-url "$target_url" --fixture tests/fixtures/drupal10.sql

  # The same mapping as the main benchmark, on both sites.
  local mapping="$WORK/drupal_mapping.toml"
  cp drupal_mapping.toml "$mapping"
  { echo; cat tests/fixtures/fields_mapping.toml; } >>"$mapping"

  local secret port pool_max scim_log
  secret=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
  port=$(free_port)
  pool_max=${BENCH_POOL_MAX:-48}
  scim_log="$OUT_DIR/sync-target.log"
  log "starting the target: $server serve on 127.0.0.1:$port (pool_max $pool_max); its log: $scim_log"
  env DRUPAL_SCIM__DATABASE__URL="$target_url" \
    DRUPAL_SCIM__AUTH__SECRET="$secret" \
    DRUPAL_SCIM__SERVER__LISTEN="127.0.0.1:$port" \
    DRUPAL_SCIM__MAPPING="$mapping" \
    DRUPAL_SCIM__DATABASE__POOL_MAX="$pool_max" \
    DRUPAL_SCIM__SERVER__WORKERS="${BENCH_WORKERS:-0}" \
    "$server" serve </dev/null >"$scim_log" 2>&1 &
  SCIM_PID=$!

  local update=() extra=()
  [ -z "${BENCH_SYNC_ARGS:-}" ] && update=(--update BENCHMARKS.md)
  read -r -a extra <<<"${BENCH_SYNC_ARGS:-}"
  log "load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
  local rc=0
  DRUPAL_SCIM__AUTH__SECRET="$secret" "$bench" sync \
    --origin "http://127.0.0.1:$port" \
    --source-db-url "$source_url" \
    --target-db-url "$target_url" \
    --target-pid "$SCIM_PID" \
    --db-pid "$SERVER_PID" \
    --drupal-scim "$server" \
    --mapping "$mapping" \
    --work-dir "$WORK" \
    --log-dir "$OUT_DIR" \
    --out "${BENCH_OUT:-$OUT_DIR/sync-results.md}" \
    "${update[@]}" "${extra[@]}" \
    --note "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src Cargo.toml 2>/dev/null || echo ' (with uncommitted changes)')" \
    --note "target drupal-scim serve=release build; DATABASE__POOL_MAX=$pool_max; SERVER__WORKERS=${BENCH_WORKERS:-0} (0: one per core); log level info (to a file); mapping: drupal_mapping.toml + the fixture's 4 fields, the same on both sites" \
    --note "sync process=release build, the same binary (\`drupal-scim --config FILE sync\`), log level info (to a file)" || rc=$?
  if ! kill -0 "$SCIM_PID" 2>/dev/null; then
    log "the target server died during the run; last lines of its log:"
    tail -n 25 "$scim_log" >&2
    rc=1
  fi
  return "$rc"
}
