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

# lock_component NAME: hold an exclusive lock on $RUN_DIR/.NAME.lock for the
# rest of this script. The work tree (and so RUN_DIR) is shared: a test run
# may call "up" while another already does, and two starts of the same server
# at once would race for its port. The second caller waits, then finds the
# server running and only verifies it. The lock lives on fd 8: whatever is
# started in the background must close it (8>&-), or the server would keep
# the lock for its whole life.
lock_component() {
  exec 8>"$RUN_DIR/.$1.lock"
  if ! flock -w 300 8; then
    die "another $1 operation on $RUN_DIR has held the lock for 5 minutes"
  fi
}

# usage_verbs SCRIPT: standard usage message for up|down|clean|status scripts.
usage_verbs() {
  echo "usage: $1 up|down|clean|status" >&2
  exit 2
}
