#!/usr/bin/env bash
# Kubernetes delivery: images, charts, validation without a cluster.
#
#   scripts/k8s.sh check     lint, render and strictly validate every chart with
#                            default and production values, and skaffold.yaml
#                            (test/k8s); no cluster, no Docker, no registry
#   scripts/k8s.sh images    build every service's static linux binary into
#                            bin/images/ (what the Dockerfiles COPY); see below
#   scripts/k8s.sh render    write the umbrella's manifests (default and
#                            production values) to bin/k8s/ to read
#   scripts/k8s.sh schemas   regenerate every chart's values.schema.json
#   scripts/k8s.sh deps      package the library chart into the service charts
#                            and those into the umbrella (helm dependency build)
#   scripts/k8s.sh helm ARGS run the pinned helm
#
# Tools are pinned and built with `go install` into a cache that survives
# runs: ${XDG_CACHE_HOME:-$HOME/.cache}/campaign-live/bin. helm takes a few
# minutes to build the first time; later runs reuse the binary.
set -euo pipefail

HELM_VERSION=v3.22.0
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/campaign-live"
TOOLS_BIN="$CACHE_DIR/bin"
HELM="$TOOLS_BIN/helm-$HELM_VERSION"
SERVICES=(content contribution comment milestone fanout gateway)
SERVICE_CHARTS=("${SERVICES[@]}" web)

log() { printf 'k8s: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Helm keeps its own state (repositories, cache) here, not in the user's home.
export HELM_CACHE_HOME="$CACHE_DIR/helm/cache"
export HELM_CONFIG_HOME="$CACHE_DIR/helm/config"
export HELM_DATA_HOME="$CACHE_DIR/helm/data"

ensure_helm() {
  [[ -x $HELM ]] && return 0
  log "building helm $HELM_VERSION with go install (a few minutes, once; cached in $TOOLS_BIN)"
  local tmp
  tmp="$(mktemp -d)"
  # GOWORK=off and GOFLAGS cleared: the tool is built from its own module
  # graph, not the project's workspace.
  (cd "$tmp" && GOWORK=off GOFLAGS= GOBIN="$tmp" go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION")
  mkdir -p "$TOOLS_BIN"
  mv "$tmp/helm" "$HELM"
  rm -rf "$tmp"
}

deps() {
  ensure_helm
  local c
  # The library first into each service chart, then the service charts into
  # the umbrella (helm does not recurse). file:// repositories: offline.
  for c in "${SERVICE_CHARTS[@]}" campaign-live; do
    "$HELM" dependency build --skip-refresh "$REPO_ROOT/charts/$c" >/dev/null \
      || die "helm dependency build charts/$c"
  done
}

check() {
  local start=$SECONDS
  deps
  log "lint, render and validate every chart (test/k8s)"
  (cd "$REPO_ROOT/test/k8s" && GOWORK=off HELM="$HELM" REPO_ROOT="$REPO_ROOT" go test -count=1 ./...)
  log "check passed in $((SECONDS - start))s"
}

render() {
  deps
  local out="$REPO_ROOT/bin/k8s"
  mkdir -p "$out"
  "$HELM" template campaign-live "$REPO_ROOT/charts/campaign-live" --namespace campaign-live \
    --kube-version 1.34.0 >"$out/campaign-live.yaml"
  "$HELM" template campaign-live "$REPO_ROOT/charts/campaign-live" --namespace campaign-live \
    --kube-version 1.34.0 -f "$REPO_ROOT/k8s/values-production.yaml" >"$out/campaign-live-production.yaml"
  log "wrote $out/campaign-live.yaml and $out/campaign-live-production.yaml"
}

schemas() {
  (cd "$REPO_ROOT/test/k8s" && GOWORK=off REPO_ROOT="$REPO_ROOT" go test -count=1 -run 'TestValuesSchemas' ./... -update)
}

# images builds what can be built here: each service's static linux binary
# (CGO off, trimmed paths, stripped), at bin/images/NAME/NAME, the layout
# deploy/docker/prebuilt.Dockerfile copies from. Turning them into images
# and pushing them needs a container builder and a registry, which this
# machine does not have; see docs/deploy.md.
images() {
  local arch="${GOARCH:-amd64}" out="$REPO_ROOT/bin/images" s
  mkdir -p "$out"
  for s in "${SERVICES[@]}"; do
    log "building $s (linux/$arch)"
    (cd "$REPO_ROOT" && CGO_ENABLED=0 GOOS=linux GOARCH="$arch" \
      go build -trimpath -ldflags='-s -w -buildid=' -o "$out/$s/$s" "./services/$s")
  done
  ls -l "$out"/*/* >&2
  cat >&2 <<EOF
k8s: built ${#SERVICES[@]} static binaries in bin/images/ (linux/$arch).
k8s: no image was built or pushed: that needs a container builder and a
k8s: registry, and this machine has neither. Where they exist:
k8s:   skaffold build --default-repo=REGISTRY            (multi-stage, deploy/docker/NAME.Dockerfile)
k8s:   docker build -f deploy/docker/prebuilt.Dockerfile --build-arg SERVICE=content -t REGISTRY/campaign-live/content:TAG .
EOF
}

case "${1:-}" in
  check) check ;;
  images) images ;;
  render) render ;;
  schemas) schemas ;;
  deps) deps ;;
  helm) shift; ensure_helm; "$HELM" "$@" ;;
  *) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
