# shellcheck shell=bash
# Shared helpers for scripts/stack/*.sh. Sourced, not executed.
#
# Sets:
#   REPO_ROOT  the repository root (found from this file's location, so the
#              scripts work from any working directory and from any clone)
#   RUN_DIR    ${RUN_DIR:-$REPO_ROOT/.run}: all runtime state (data, logs,
#              pid files, stack.env). Ignored by git (/.run/ in .gitignore).
#   LOG_DIR    $RUN_DIR/log

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
RUN_DIR="${RUN_DIR:-$REPO_ROOT/.run}"
mkdir -p "$RUN_DIR"
RUN_DIR="$(cd "$RUN_DIR" && pwd -P)"   # absolute: configs and pid files embed it
LOG_DIR="$RUN_DIR/log"
mkdir -p "$LOG_DIR"

# log MSG...: progress to stderr, prefixed with the calling script's name.
log() { printf '%s: %s\n' "${LOG_PREFIX:-stack}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# port_open PORT: true if something accepts TCP connections on 127.0.0.1:PORT.
# Uses bash's /dev/tcp so no nc/ss is needed; the subshell closes the fd.
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# pid_alive PIDFILE: true if PIDFILE names a live process.
pid_alive() {
  local pid
  [[ -f $1 ]] || return 1
  pid="$(<"$1")"
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

# usage_verbs SCRIPT: standard usage message for up|down|clean|status scripts.
usage_verbs() {
  echo "usage: $1 up|down|clean|status" >&2
  exit 2
}
