# shellcheck shell=bash
# A throwaway redis-server for scripts/test.sh (sourced, not run), never the machine's own one.
#
# The caller defines log() and die() and sources scripts/lib/mariadb.sh first (free_port). Then:
#   redis_find_server   set REDIS_SERVER (the redis-server program) or die
#   redis_start DIR     start it on a free 127.0.0.1 port, no persistence, working in DIR;
#                       sets REDIS_PORT and REDIS_PID
#   redis_stop          stop it (TERM, then KILL)
# The caller's EXIT trap calls redis_stop.

REDIS_PID=""

redis_find_server() {
  REDIS_SERVER=$(find_bin redis-server) ||
    die "redis-server not found; install it (Debian: apt-get install redis-server)${REDIS_MISSING_HINT:-}"
}

# PING over bash's /dev/tcp: true when the server answers +PONG.
redis_ping() {
  local reply=""
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
  printf 'PING\r\n' >&3
  IFS= read -r -t 2 reply <&3 || true
  exec 3>&- 3<&-
  [ "${reply%$'\r'}" = "+PONG" ]
}

redis_alive() { [ -n "$REDIS_PID" ] && kill -0 "$REDIS_PID" 2>/dev/null; }

redis_start() {
  local dir="$1" attempt deadline
  mkdir -p "$dir"
  for attempt in 1 2 3; do
    REDIS_PORT=$(free_port)
    # No RDB snapshots, no append-only file: nothing of the tests' keys outlives the run.
    "$REDIS_SERVER" --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
      --dir "$dir" --logfile "$dir/redis.log" --daemonize no </dev/null >/dev/null 2>&1 &
    REDIS_PID=$!
    deadline=$((SECONDS + 15))
    until redis_ping "$REDIS_PORT"; do
      if ! redis_alive; then
        wait "$REDIS_PID" 2>/dev/null || true
        REDIS_PID=""
        break
      fi
      [ "$SECONDS" -lt "$deadline" ] || die "redis-server did not answer within 15 s (port $REDIS_PORT)"
      sleep 0.1
    done
    redis_alive && return 0
    if [ "$attempt" -lt 3 ] && grep -qi 'address already in use' "$dir/redis.log" 2>/dev/null; then
      log "port $REDIS_PORT was taken; retrying with another port"
      continue
    fi
    show_log "$dir/redis.log"
    die "redis-server exited during startup"
  done
}

redis_stop() {
  redis_alive || return 0
  kill -TERM "$REDIS_PID" 2>/dev/null || true
  local _
  for _ in $(seq 1 50); do
    redis_alive || break
    sleep 0.1
  done
  redis_alive && kill -KILL "$REDIS_PID" 2>/dev/null || true
  wait "$REDIS_PID" 2>/dev/null || true
  REDIS_PID=""
}
