#!/usr/bin/env bash
# The project's test suite, run by `make test` on a fresh machine and by CI.
#
#   scripts/test.sh all | lint | unit | integration | e2e
#
# `all` installs what is missing, runs lint and unit tests, brings up the real
# Postgres and Kafka, runs the integration tests, starts the whole system and
# runs the end-to-end tests against it. What it started, it stops.
set -euo pipefail
LOG_PREFIX=test
source "$(dirname "$0")/stack/lib.sh"
cd "$REPO_ROOT"

MODULES=(pkg services/content services/contribution services/comment services/milestone services/fanout services/gateway tools test)
GOTEST=(go test -race -count=1)

each_module() { for m in "${MODULES[@]}"; do (cd "$m" && "$@") || return 1; done; }

lint() {
  log "lint: gofmt, go vet, generated code"
  local unformatted
  unformatted=$(gofmt -l "${MODULES[@]}")
  [[ -z $unformatted ]] || die "gofmt would change: $unformatted"
  each_module go vet ./...
  each_module go vet -tags integration ./...
  (cd test && go vet -tags e2e ./...)
  # Each service must build alone, from its own go.mod and go.sum, as a
  # team deploying it independently would build it.
  for m in services/*/; do (cd "$m" && GOWORK=off go build ./...) || die "$m does not build alone: run GOWORK=off go mod tidy there"; done
  check_proto
  log "charts: helm lint and template, strict validation of every object"
  scripts/k8s.sh check
}

# check_proto regenerates pkg/pb and fails if that changes what is there.
check_proto() {
  make -s proto >/dev/null
  git diff --quiet -- pkg/pb || { git diff --stat -- pkg/pb; die "pkg/pb is stale: run make proto and commit"; }
}

unit() {
  log "unit tests"
  each_module "${GOTEST[@]}" ./...
  log "web unit tests"
  scripts/web.sh unit
}

stack_started=""
system_started=""
cleanup() {
  if [[ -n $system_started ]]; then scripts/run.sh down || true; fi
  if [[ -n $stack_started ]]; then scripts/stack/stack.sh down || true; fi
}

stack_up() {
  if ! scripts/stack/stack.sh status >/dev/null 2>&1; then stack_started=1; fi
  scripts/stack/stack.sh up
  set -a; source "$RUN_DIR/stack.env"; set +a
}

# fuzz runs every fuzz target briefly: the seed corpora and a few seconds
# of new inputs. `make fuzz` runs them for minutes.
fuzz() {
  log "fuzz targets, ${FUZZTIME:-2s} each"
  scripts/fuzz.sh "${FUZZTIME:-2s}"
}

integration() {
  stack_up
  log "integration tests (Postgres and Kafka)"
  each_module "${GOTEST[@]}" -tags integration ./...
}

e2e() {
  stack_up
  log "end-to-end tests (the whole system on :8080)"
  system_started=1
  scripts/web.sh build
  scripts/run.sh up
  (cd test && "${GOTEST[@]}" -tags e2e ./e2e/...)
  log "browser tests (Debian's Chromium)"
  scripts/web.sh e2e
}

# faults breaks the running system on purpose at a small size (make chaos
# is the full size), then proves the load tool and benchmarks still run.
faults() {
  log "fault injection, small size"
  scripts/chaos.sh small
  log "benchmarks, tiny size (make bench is the full size)"
  scripts/bench.sh tiny
}

trap cleanup EXIT
case "${1:-all}" in
  lint) lint ;;
  unit) unit ;;
  fuzz) fuzz ;;
  integration) scripts/deps.sh; integration ;;
  e2e) scripts/deps.sh; e2e ;;
  faults) scripts/deps.sh; stack_up; faults ;;
  all)
    scripts/deps.sh
    lint
    unit
    fuzz
    integration
    e2e
    faults
    log "all tests passed"
    ;;
  *) echo "usage: $0 all|lint|unit|fuzz|integration|e2e|faults" >&2; exit 2 ;;
esac
