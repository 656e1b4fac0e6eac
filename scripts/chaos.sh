#!/usr/bin/env bash
# Fault injection against the running system (test/chaos): kills, restarts
# and drains real processes while watchers are connected and writes are in
# flight, and fails if any watcher lost or reordered an event.
#
#   scripts/chaos.sh small [flags]   CI size: a few campaigns, ~100 sockets
#                                     (1,000 in the gateway drain case), ~3 min
#   scripts/chaos.sh full  [flags]   make chaos: more writes and sockets
#
# Flags go to the program (go run ./chaos -h), e.g. -cases 1,5 or -rate 80.
# It brings the stack and the services up (make run; rebuilt, so the code
# under test is what runs) and stops them afterwards if they were not
# running before. Kafka and Postgres are restarted by cases 3 and 4 and are
# up again when it ends. Logs: .run/log/chaos-*.log.
set -euo pipefail
LOG_PREFIX=chaos
source "$(dirname "$0")/stack/lib.sh"
cd "$REPO_ROOT"

size=${1:-small}
[[ $# -gt 0 ]] && shift
case $size in small|full) ;; *) echo "usage: $0 small|full [flags]" >&2; exit 2 ;; esac

stack_started="" system_started=""
if ! scripts/stack/stack.sh status >/dev/null 2>&1; then stack_started=1; fi
if ! curl -fsS -o /dev/null http://127.0.0.1:9104/readyz 2>/dev/null; then system_started=1; fi
cleanup() {
  if [[ -n $system_started ]]; then scripts/run.sh down || true; fi
  if [[ -n $stack_started ]]; then scripts/stack/stack.sh down || true; fi
}
trap cleanup EXIT

scripts/deps.sh
scripts/stack/stack.sh up
scripts/run.sh up
log "running the $size fault-injection suite"
(cd test && go run ./chaos -size "$size" -repo "$REPO_ROOT" "$@")
