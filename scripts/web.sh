#!/usr/bin/env bash
# Builds and tests the browser client in web/.
#
#   scripts/web.sh build   npm ci when node_modules is missing or stale, then vite build → web/dist
#   scripts/web.sh unit    type check and vitest unit tests (a real WebSocket server in-process)
#   scripts/web.sh e2e     Playwright (playwright-core) in Debian's Chromium against the
#                          running system on http://127.0.0.1:8080 (make run first)
#   scripts/web.sh size    the gzipped size of the built bundle
#
# No browser is ever downloaded: e2e installs Debian's `chromium` package when
# /usr/bin/chromium is missing, and playwright-core ships no browser.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
WEB="$REPO_ROOT/web"
log() { printf '[web] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

command -v node >/dev/null || die "node is not installed (Node 20.19+ is needed)"
command -v npm >/dev/null || die "npm is not installed"

# deps runs `npm ci` when node_modules is missing or was installed from
# another package-lock.json (the lockfile's hash is kept beside the modules).
deps() {
  local stamp="$WEB/node_modules/.lock.sha256" want
  want=$(sha256sum "$WEB/package-lock.json" | cut -d' ' -f1)
  if [[ ! -f $stamp || $(<"$stamp") != "$want" ]]; then
    log "installing dependencies (npm ci)"
    (cd "$WEB" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" >"$stamp"
  fi
}

build() {
  deps
  log "building web/dist"
  (cd "$WEB" && npx tsc --noEmit -p . && npx vite build --logLevel warn)
  size
}

unit() {
  deps
  (cd "$WEB" && npx tsc --noEmit -p . && npx vitest run)
}

chromium() {
  [[ -x /usr/bin/chromium ]] && return 0
  [[ $(id -u) -eq 0 ]] || die "/usr/bin/chromium is missing: run 'sudo apt-get install -y --no-install-recommends chromium'"
  log "installing Debian's chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
  [[ -x /usr/bin/chromium ]] || die "chromium did not install"
}

e2e() {
  deps
  chromium
  local base="${E2E_BASE_URL:-http://127.0.0.1:8080}"
  curl -fsS -o /dev/null "$base/api/campaigns" ||
    die "the system is not answering on $base: run 'make run' first"
  [[ -f $WEB/dist/index.html ]] || build
  mkdir -p "$WEB/test-results"
  (cd "$WEB" && REPO_ROOT="$REPO_ROOT" E2E_BASE_URL="$base" npx vitest run --config vitest.e2e.config.ts)
}

size() {
  [[ -d $WEB/dist/assets ]] || die "web/dist is not built: scripts/web.sh build"
  local total=0 f n
  for f in "$WEB"/dist/assets/*.js "$WEB"/dist/assets/*.css "$WEB"/dist/index.html; do
    [[ -f $f ]] || continue
    n=$(gzip -9 -c "$f" | wc -c)
    total=$((total + n))
    log "$(printf '%-28s %8d bytes gzipped' "${f#"$WEB"/dist/}" "$n")"
  done
  log "$(printf '%-28s %8d bytes gzipped (%d KiB)' total "$total" $(((total + 1023) / 1024)))"
}

case "${1:-}" in
  build) build ;;
  unit) unit ;;
  e2e) e2e ;;
  size) size ;;
  *) die "usage: scripts/web.sh build|unit|e2e|size" ;;
esac
