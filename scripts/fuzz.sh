#!/usr/bin/env bash
# Runs every `go test -fuzz` target in the repository, one after another.
#
#   scripts/fuzz.sh [FUZZTIME]     default 10m each (make fuzz); CI uses 3s
#
# Targets are found, not listed: any func FuzzXxx in any module counts. New
# inputs that fail land in the package's testdata/fuzz and are replayed by
# plain `go test` from then on; commit them.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-10m}
modules=(pkg services/content services/contribution services/comment services/milestone services/fanout services/gateway tools)
for m in "${modules[@]}"; do
  (cd "$m" && go list -f '{{.ImportPath}} {{.Dir}}' ./...) | while read -r pkg dir; do
    { grep -hoE '^func (Fuzz[A-Za-z0-9_]+)\(' "$dir"/*_test.go 2>/dev/null || true; } | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/' | while read -r target; do
      echo "fuzz: $pkg $target for $fuzztime"
      (cd "$m" && go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" 2>&1 | tail -n 3)
    done
  done
done
