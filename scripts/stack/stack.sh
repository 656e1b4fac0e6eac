#!/usr/bin/env bash
# The whole local stack: PostgreSQL and Kafka, both on 127.0.0.1.
#
#   scripts/stack/stack.sh up|down|clean|status
#
#   up      install missing OS packages (scripts/deps.sh), bring up postgres
#           and kafka in parallel, and write $RUN_DIR/stack.env
#   down    stop both (data kept)
#   clean   stop both and delete their data and stack.env (the jar cache stays)
#   status  print both states; exit 0 only if both are up
#
# Services and tests read the connection settings from the env file:
#   . .run/stack.env     (RUN_DIR, default <repo>/.run)
#
# All settings of postgres.sh and kafka.sh (PG_PORT, KAFKA_PORT, KAFKA_TOPIC,
# CAMPAIGN_LIVE_CACHE, RUN_DIR, ...) pass through; the env file follows them.
set -euo pipefail
LOG_PREFIX=stack
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
STACK_DIR="$REPO_ROOT/scripts/stack"
ENV_FILE="$RUN_DIR/stack.env"
# Exported so both children agree on it even when it was derived here.
export RUN_DIR

PG_PORT="${PG_PORT:-55432}"
KAFKA_PORT="${KAFKA_PORT:-59092}"
KAFKA_TOPIC="${KAFKA_TOPIC:-campaign-events}"
SERVICES=(content contribution comment milestone fanout)

# both VERB: run postgres.sh and kafka.sh VERB in parallel; fail if either did.
both() {
  local rc=0 pg kafka
  "$STACK_DIR/postgres.sh" "$1" & pg=$!
  "$STACK_DIR/kafka.sh" "$1" & kafka=$!
  wait "$pg" || rc=1
  wait "$kafka" || rc=1
  return "$rc"
}

# reserve_ports keeps the stack's ports out of the kernel's ephemeral range
# (32768-60999 here): 55432, 59092 and 59093 lie inside it, and a machine
# busy with outgoing loopback connections (the load tool, the socket
# benchmarks) can hand one to a client socket just before the server binds
# it ("Address already in use"; seen once in CI). Best effort: it needs root
# and a writable /proc/sys; without them nothing changes.
reserve_ports() {
  local f=/proc/sys/net/ipv4/ip_local_reserved_ports cur want
  [[ -w $f ]] || return 0
  cur="$(<"$f")"
  want="$PG_PORT,$KAFKA_PORT,${KAFKA_CONTROLLER_PORT:-59093}"
  [[ -n $cur ]] && want="$cur,$want"
  echo "$want" >"$f" 2>/dev/null || log "could not reserve ports $want (continuing)"
}

write_env() {
  local tmp svc
  # A unique temp file: two "up"s may finish at the same moment.
  tmp="$(mktemp "$ENV_FILE.XXXXXX")"
  chmod 644 "$tmp"
  {
    echo "# Written by scripts/stack/stack.sh up; do not edit. Use: . $ENV_FILE"
    for svc in "${SERVICES[@]}"; do
      printf "export DATABASE_URL_%s='postgres://campaignlive:campaignlive@127.0.0.1:%s/%s?sslmode=disable'\n" \
        "${svc^^}" "$PG_PORT" "$svc"
    done
    printf "export KAFKA_BROKERS='127.0.0.1:%s'\n" "$KAFKA_PORT"
    printf "export KAFKA_TOPIC='%s'\n" "$KAFKA_TOPIC"
  } >"$tmp"
  mv "$tmp" "$ENV_FILE"      # readers never see a half-written file
}

case "${1:-}" in
  up)
    "$REPO_ROOT/scripts/deps.sh"
    reserve_ports
    both up || die "the stack did not come up (logs in $LOG_DIR)"
    write_env
    log "up; connection settings in $ENV_FILE"
    ;;
  down)
    both down
    ;;
  clean)
    both clean
    rm -f "$ENV_FILE"
    ;;
  status)
    # Sequential, so the two lines come out in a stable order.
    rc=0
    "$STACK_DIR/postgres.sh" status || rc=1
    "$STACK_DIR/kafka.sh" status || rc=1
    exit "$rc"
    ;;
  *) usage_verbs "$0" ;;
esac
