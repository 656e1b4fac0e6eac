#!/usr/bin/env bash
# The standard workloads of DESIGN.md §8 against the running system
# (make run), driven by tools/cmd/load.
#
#   scripts/bench.sh full   each workload 3 times at full size; results in
#                           docs/bench/WORKLOAD-N.json, medians in
#                           docs/bench/summary.json and the table in
#                           docs/performance.md (between the bench markers)
#   scripts/bench.sh tiny   each workload once at a tiny size, to prove the
#                           tool and the workloads work (CI); < 60 s, writes
#                           nothing under docs/
#
# Environment:
#   BENCH_WS    WebSocket base URL (default ws://127.0.0.1:8104, the gateway
#               itself; ws://127.0.0.1:8080 goes through devedge, which
#               costs a second socket pair per watcher: W3's 10,000 sockets
#               then need 20,000 descriptors in devedge, over the limit)
#   BENCH_API   REST base URL for set-up: campaigns, live views (default
#               http://127.0.0.1:8080, devedge)
#   BENCH_WRITE_API  base URL of the measured contribution writes (default
#               http://127.0.0.1:8102, the contribution service itself:
#               devedge is a local stand-in for the cluster's ingress, and
#               on this 2-core machine its proxying would take CPU from the
#               system under test; BENCH_WRITE_API=$BENCH_API measures with it)
#   BENCH_RUNS  runs per workload in full (default 3)
#   BENCH_ONLY  workloads to run, space separated (default "w1 w2 w3 connect")
#   BENCH_ARGS  extra flags for every run of the load tool
#
# Every run is bounded (sockets, writes and time) and loopback only. Exit
# status: non-zero if any run lost, leaked or reordered an event, or a
# socket never got its snapshot. Targets not met do not fail the script;
# docs/performance.md says which are met.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

mode=${1:-}
case $mode in full|tiny) ;; *) echo "usage: $0 full|tiny" >&2; exit 2 ;; esac

WS=${BENCH_WS:-ws://127.0.0.1:8104}
API=${BENCH_API:-http://127.0.0.1:8080}
WRITE_API=${BENCH_WRITE_API:-http://127.0.0.1:8102}
RUNS=${BENCH_RUNS:-3}
ONLY=${BENCH_ONLY:-w1 w2 w3 connect}
read -r -a EXTRA <<<"${BENCH_ARGS:-}"

log() { printf 'bench: %s\n' "$*" >&2; }

# The system must be up: this script measures it, it does not start it.
for url in "$API/api/campaigns?limit=1" "http://127.0.0.1:9104/readyz" "http://127.0.0.1:9103/readyz" "http://127.0.0.1:9102/readyz"; do
  if ! curl -fsS -o /dev/null --max-time 5 "$url"; then
    log "the system is not up ($url does not answer): run 'make run' first"
    exit 2
  fi
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log "building tools/cmd/load"
go build -o "$work/load" ./tools/cmd/load

# Flags per workload and mode. tiny: a few dozen sockets, a few seconds.
args_for() {
  local wl=$1
  if [[ $mode == tiny ]]; then
    case $wl in
      w1) echo "-scale 0.01 -duration 3s -warmup 500ms -drain 5s" ;;
      w2) echo "-scale 0.01 -duration 3s -warmup 500ms -drain 5s" ;;
      w3) echo "-scale 0.01 -hold 1s" ;;
      connect) echo "-scale 0.01" ;;
    esac
  else
    echo ""
  fi
}

status=0
run_one() {
  local wl=$1 out=$2
  local -a a
  read -r -a a <<<"$(args_for "$wl")"
  log "$wl → $out"
  if ! "$work/load" -workload "$wl" -ws "$WS" -api "$API" -write-api "$WRITE_API" -pid-dir "$ROOT/.run/pid" -json "$out" "${a[@]}" "${EXTRA[@]}"; then
    log "$wl FAILED (see above)"
    status=1
  fi
}

if [[ $mode == tiny ]]; then
  start=$SECONDS
  for wl in $ONLY; do run_one "$wl" "$work/$wl-1.json"; done
  "$work/load" -summarize "$work" >/dev/null
  log "tiny bench done in $((SECONDS - start)) s (status $status); nothing written under docs/"
  exit $status
fi

mkdir -p docs/bench
for wl in $ONLY; do
  rm -f docs/bench/"$wl"-*.json
  for i in $(seq "$RUNS"); do
    run_one "$wl" "docs/bench/$wl-$i.json"
    sleep 5 # let the gateway close the last run's sockets and settle
  done
done
"$work/load" -summarize docs/bench -splice docs/performance.md
log "results in docs/bench/, table in docs/performance.md (status $status)"
exit $status
