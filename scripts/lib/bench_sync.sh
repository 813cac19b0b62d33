# shellcheck shell=bash
# `scripts/bench.sh --sync`: the sync-out benchmark of issue #13 (sourced by scripts/bench.sh
# once its MariaDB is up; uses its WORK, PORT, SERVER_PID, SERVER_BIN, BENCH_BIN, OUT_DIR,
# MAPPING, start_scim (which sets SECRET, SCIM_PORT, POOL_MAX, SCIM_PID), log and free_port).
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

  # The same mapping as the main benchmark ($MAPPING), on both sites.
  local scim_log="$OUT_DIR/sync-target.log"
  start_scim "$server" "$target_url" "$scim_log"

  local update=() extra=()
  [ -z "${BENCH_SYNC_ARGS:-}" ] && update=(--update BENCHMARKS.md)
  read -r -a extra <<<"${BENCH_SYNC_ARGS:-}"
  log "load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
  local rc=0
  DRUPAL_SCIM__AUTH__SECRET="$SECRET" "$bench" sync \
    --origin "http://127.0.0.1:$SCIM_PORT" \
    --source-db-url "$source_url" \
    --target-db-url "$target_url" \
    --target-pid "$SCIM_PID" \
    --db-pid "$SERVER_PID" \
    --drupal-scim "$server" \
    --mapping "$MAPPING" \
    --work-dir "$WORK" \
    --log-dir "$OUT_DIR" \
    --out "${BENCH_OUT:-$OUT_DIR/sync-results.md}" \
    "${update[@]}" "${extra[@]}" \
    --note "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src Cargo.toml 2>/dev/null || echo ' (with uncommitted changes)')" \
    --note "target drupal-scim serve=release build; DATABASE__POOL_MAX=$POOL_MAX; SERVER__WORKERS=${BENCH_WORKERS:-0} (0: one per core); log level info (to a file); mapping: drupal_mapping.toml + the fixture's 4 fields, the same on both sites" \
    --note "sync process=release build, the same binary (\`drupal-scim --config FILE sync\`), log level info (to a file)" || rc=$?
  if ! kill -0 "$SCIM_PID" 2>/dev/null; then
    log "the target server died during the run; last lines of its log:"
    tail -n 25 "$scim_log" >&2
    rc=1
  fi
  return "$rc"
}
