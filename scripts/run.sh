#!/usr/bin/env bash
# Builds and runs the campaign-live services as local processes against the
# stack (scripts/stack/stack.sh), behind devedge on http://localhost:8080.
#
#   scripts/run.sh up       build, (re)start every service, wait until ready
#   scripts/run.sh down     stop them (SIGTERM, then KILL after 30 s)
#   scripts/run.sh status   list them
#   scripts/run.sh restart NAME   restart one service (tests use it)
#   scripts/run.sh stop NAME      stop one service
#
# Logs: .run/log/NAME.log. Pids: .run/pid/NAME.pid. `up` restarts services
# that are running so they pick up new code; the stack's data is reused.
set -euo pipefail
LOG_PREFIX=run
source "$(dirname "$0")/stack/lib.sh"
PID_DIR="$RUN_DIR/pid"
BIN_DIR="$REPO_ROOT/bin"
mkdir -p "$PID_DIR" "$BIN_DIR"

export AUTH_JWT_SECRET="${AUTH_JWT_SECRET:-local-dev-secret}"
# Every local client shares 127.0.0.1, so the per-IP write limit is off
# locally, and the per-user one generous enough for the load tools; the
# services' own defaults (600/1m per IP, 120/1m per user) are production's.
export RATE_WRITES_PER_IP="${RATE_WRITES_PER_IP:-0}"
export RATE_WRITES_PER_USER="${RATE_WRITES_PER_USER:-6000/1m}"

# name | binary package | ops port (for readiness), in start order.
SERVICES=(
  "content|./services/content|9101"
  "contribution|./services/contribution|9102"
  "comment|./services/comment|9105"
  "milestone|./services/milestone|9106"
  "fanout|./services/fanout|9103"
  "gateway|./services/gateway|9104"
  "devedge|./tools/cmd/devedge|8080"
)

# env_of NAME prints the service's own environment, one VAR=value a line.
env_of() {
  case $1 in
    content) echo "DATABASE_URL=$DATABASE_URL_CONTENT" ;;
    contribution) echo "DATABASE_URL=$DATABASE_URL_CONTRIBUTION" ;;
    comment) echo "DATABASE_URL=$DATABASE_URL_COMMENT" ;;
    milestone) echo "DATABASE_URL=$DATABASE_URL_MILESTONE" ;;
    fanout) echo "DATABASE_URL=$DATABASE_URL_FANOUT" ;;
    # The load and chaos tools open thousands of sockets from 127.0.0.1, so
    # the per-IP WebSocket limits are off locally; the gateway's defaults
    # (60/1m handshakes, 200 open sockets per IP) are production's.
    gateway)
      echo "WS_CONNECTS_PER_IP=${WS_CONNECTS_PER_IP:-0}"
      echo "WS_MAX_SOCKETS_PER_IP=${WS_MAX_SOCKETS_PER_IP:-0}"
      # As charts/gateway/values.yaml runs it (memory per idle socket).
      echo "GOGC=${GOGC:-50}"
      ;;
    devedge) echo "WEB_DIR=$REPO_ROOT/web/dist" ;;
  esac
}

field() { local IFS='|'; read -r -a f <<<"$1"; echo "${f[$2]}"; }

build() {
  log "building services"
  local pkgs=()
  for s in "${SERVICES[@]}"; do pkgs+=("$(field "$s" 1)"); done
  (cd "$REPO_ROOT" && go build -o "$BIN_DIR/" "${pkgs[@]}" ./tools/cmd/mint-token)
}

stop_one() {
  local name=$1 pidfile="$PID_DIR/$1.pid" pid
  pid_alive "$pidfile" || { rm -f "$pidfile"; return 0; }
  pid=$(<"$pidfile")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name did not stop in 30 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

start_one() {
  local name
  name=$(field "$1" 0)
  stop_one "$name"
  local -a vars
  mapfile -t vars < <(env_of "$name")
  # setsid detaches the service from this shell's session; in a background
  # job it execs rather than forks, so $! is the service's own pid. No file
  # descriptor of ours stays open in it.
  (cd "$REPO_ROOT" && exec setsid env "${vars[@]}" "$BIN_DIR/$name" </dev/null >>"$LOG_DIR/$name.log" 2>&1) &
  echo $! >"$PID_DIR/$name.pid"
}

wait_ready() {
  local spec=$1 name port path=/readyz
  name=$(field "$spec" 0); port=$(field "$spec" 2)
  [[ $name == devedge ]] && path=/
  for _ in $(seq 600); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$port$path" 2>/dev/null; then return 0; fi
    pid_alive "$PID_DIR/$name.pid" || { tail -n 30 "$LOG_DIR/$name.log" >&2; die "$name exited"; }
    sleep 0.1
  done
  tail -n 30 "$LOG_DIR/$name.log" >&2
  die "$name not ready after 60 s (log: $LOG_DIR/$name.log)"
}

spec_of() {
  for s in "${SERVICES[@]}"; do [[ $(field "$s" 0) == "$1" ]] && { echo "$s"; return; }; done
  die "no service named $1"
}

load_env() {
  [[ -f $RUN_DIR/stack.env ]] || die "the stack is not up: run scripts/stack/stack.sh up (or make run)"
  set -a; source "$RUN_DIR/stack.env"; set +a
}

case "${1:-}" in
  up)
    load_env
    build
    for s in "${SERVICES[@]}"; do start_one "$s"; done
    for s in "${SERVICES[@]}"; do wait_ready "$s"; done
    log "all services ready"
    ;;
  restart)
    load_env
    s=$(spec_of "${2:?service name}")
    start_one "$s"; wait_ready "$s"
    ;;
  stop)
    stop_one "${2:?service name}"
    ;;
  down)
    for ((i=${#SERVICES[@]}-1; i>=0; i--)); do stop_one "$(field "${SERVICES[$i]}" 0)"; done
    ;;
  status)
    for s in "${SERVICES[@]}"; do
      name=$(field "$s" 0)
      if pid_alive "$PID_DIR/$name.pid"; then echo "$name: running (pid $(<"$PID_DIR/$name.pid"))"; else echo "$name: stopped"; fi
    done
    ;;
  *) echo "usage: $0 up|down|status|restart NAME|stop NAME" >&2; exit 2 ;;
esac
