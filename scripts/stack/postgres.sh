#!/usr/bin/env bash
# A private PostgreSQL cluster for local development and CI.
#
#   scripts/stack/postgres.sh up|down|clean|status
#
#   up      initdb on first use, start the server (or just verify it if it is
#           already running), and make sure the role and databases exist
#   down    stop the server (pg_ctl stop -m fast)
#   clean   down, then delete the cluster's data
#   status  exit 0 if the server accepts connections, 1 otherwise
#
# Environment:
#   PG_PORT   TCP port on 127.0.0.1 (default 55432)
#   RUN_DIR   runtime state root (default <repo>/.run)
#   PG_BIN    PostgreSQL bin dir (default: newest /usr/lib/postgresql/*/bin)
#   PG_STAT_STATEMENTS  1 loads pg_stat_statements (per-statement counts and
#             times; CREATE EXTENSION pg_stat_statements in a database, then
#             SELECT from it). Off by default: it costs every statement a
#             little, and the benchmarks run without it.
#
# Layout: data in $RUN_DIR/pg/data, unix socket in $RUN_DIR/pg/socket, server
# log in $RUN_DIR/log/postgres.log. Role "campaignlive" (password
# "campaignlive", superuser) owns one database per service. TCP clients on
# 127.0.0.1 authenticate with scram-sha-256; the unix socket trusts.
#
# Who runs the server: PostgreSQL refuses to run as root. As root the cluster
# belongs to the "postgres" system user (made by the Debian package; a
# dedicated system user "campaignlive-pg" is created if it is absent) and
# initdb/pg_ctl run through runuser. As any other user it runs as that user.
set -euo pipefail
LOG_PREFIX=postgres
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VERB="${1:-}"
PG_PORT="${PG_PORT:-55432}"
PG_ROLE=campaignlive
PG_PASSWORD=campaignlive
PG_DATABASES=(content contribution comment milestone fanout)
PG_LOG="$LOG_DIR/postgres.log"

if [[ -z ${PG_BIN:-} ]]; then
  PG_BIN="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  [[ -x $PG_BIN/initdb ]] || PG_BIN=""
  [[ -n $PG_BIN ]] || die "no PostgreSQL under /usr/lib/postgresql; run scripts/deps.sh"
fi

IS_ROOT=false
[[ $(id -u) -eq 0 ]] && IS_ROOT=true

# ---------------------------------------------------------------------------
# Where the cluster lives.
#
# Normally $RUN_DIR/pg. As root the server runs as another user, which must be
# able to traverse every directory down to the data dir; a clone under /root
# (mode 700) is not traversable by "postgres". A unix socket path is also
# limited to 107 bytes, which a deeply nested clone can exceed. In either case
# the cluster goes to /var/tmp/campaign-live-<hash of RUN_DIR>/pg instead
# (/var/tmp: world-traversable, sticky, and kept across reboots unlike /tmp;
# the hash keeps clones apart), and $RUN_DIR/pg becomes a symlink to it, which
# is also how later runs find it again.
# ---------------------------------------------------------------------------
pg_os_user_default() {
  if ! $IS_ROOT; then id -un; return; fi
  if id postgres >/dev/null 2>&1; then echo postgres; return; fi
  # Only "up" creates the user; without it no cluster can exist anyway.
  if [[ $VERB == up ]] && ! id campaignlive-pg >/dev/null 2>&1; then
    log "creating system user campaignlive-pg to run PostgreSQL"
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin campaignlive-pg
  fi
  echo campaignlive-pg
}

# as_pg CMD...: run CMD as the cluster's OS user, from a directory it can
# read (initdb and pg_ctl warn when the current directory is unreadable).
as_pg() {
  if $IS_ROOT; then
    (cd / && runuser -u "$PG_OS_USER" -- "$@")
  else
    "$@"
  fi
}

# Can PG_OS_USER reach DIR (search permission on DIR and all its ancestors)?
reachable_by_pg_user() {
  if $IS_ROOT; then
    runuser -u "$PG_OS_USER" -- test -x "$1" 2>/dev/null
  else
    test -x "$1"
  fi
}

resolve_pg_dir() {
  local link="$RUN_DIR/pg"
  if [[ -L $link ]]; then
    PG_DIR="$(readlink "$link")"          # chosen earlier: the fallback location
  elif [[ -d $link ]]; then
    PG_DIR="$link"
  else
    PG_DIR="$link"
    local sock_path="$PG_DIR/socket/.s.PGSQL.$PG_PORT"
    if ! reachable_by_pg_user "$RUN_DIR" || ((${#sock_path} > 100)); then
      local hash
      hash="$(printf '%s' "$RUN_DIR" | sha256sum | cut -c1-12)"
      PG_DIR="/var/tmp/campaign-live-$hash/pg"
    fi
  fi
  PG_DATA="$PG_DIR/data"
  PG_SOCKET_DIR="$PG_DIR/socket"
}

# The OS user: the owner of an existing data dir wins (so a cluster made as
# one user keeps working), otherwise the default above.
PG_OS_USER="$(pg_os_user_default)"
resolve_pg_dir
if [[ -d $PG_DATA ]]; then
  owner="$(stat -c %U "$PG_DATA")"
  if [[ $owner != "$PG_OS_USER" ]]; then
    $IS_ROOT || die "$PG_DATA belongs to $owner; run as $owner or root, or run clean"
    PG_OS_USER="$owner"
  fi
fi

pg_initialized() { [[ -f $PG_DATA/PG_VERSION ]]; }

pg_running() {
  pg_initialized && as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

pg_ready() {
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 2
}

fail_with_log() {
  log "$1; last lines of $PG_LOG:"
  tail -n 30 "$PG_LOG" >&2 || true
  exit 1
}

# ---------------------------------------------------------------------------
pg_init() {
  log "initdb in $PG_DATA (as $PG_OS_USER)"
  if [[ $PG_DIR != "$RUN_DIR/pg" ]]; then
    log "$RUN_DIR is not reachable by $PG_OS_USER (or too long for a socket path): cluster in $PG_DIR, linked from $RUN_DIR/pg"
    mkdir -p "$PG_DIR"
    ln -sfn "$PG_DIR" "$RUN_DIR/pg"
  fi
  rm -rf "$PG_DATA"                      # a half-made data dir from a failed run
  mkdir -p "$PG_DIR" "$PG_SOCKET_DIR"
  # The password goes through a file only the cluster's user can read, so it
  # appears neither in ps nor in the shell history.
  local pwfile="$PG_DIR/.pwfile"
  (umask 077 && printf '%s\n' "$PG_PASSWORD" >"$pwfile")
  chown -R "$PG_OS_USER": "$PG_DIR"
  # C.UTF-8 exists on every Debian; the default would take the caller's
  # locale, which may not be generated on a fresh machine.
  if ! as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U "$PG_ROLE" --pwfile="$pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 >>"$PG_LOG" 2>&1; then
    rm -f "$pwfile"
    fail_with_log "initdb failed"
  fi
  rm -f "$pwfile"
  # Our settings live in their own file, rewritten at every start.
  echo "include_if_exists = 'campaign-live.conf'" >>"$PG_DATA/postgresql.conf"
}

# Settings for a small dev box. Rewritten before each start so PG_PORT and
# the socket dir follow the current environment.
pg_write_conf() {
  cat >"$PG_DATA/campaign-live.conf" <<EOF
# Written by scripts/stack/postgres.sh; edits are overwritten.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCKET_DIR'
max_connections = 200
shared_buffers = 256MB
fsync = on
synchronous_commit = on
logging_collector = off
EOF
  if [[ "${PG_STAT_STATEMENTS:-0}" == 1 ]]; then
    printf "shared_preload_libraries = 'pg_stat_statements'\npg_stat_statements.track = all\n" \
      >>"$PG_DATA/campaign-live.conf"
  fi
  chown "$PG_OS_USER": "$PG_DATA/campaign-live.conf"
}

pg_start() {
  if port_open "$PG_PORT"; then
    die "127.0.0.1:$PG_PORT is already taken by another process; set PG_PORT"
  fi
  pg_write_conf
  mkdir -p "$PG_SOCKET_DIR" && chown "$PG_OS_USER": "$PG_SOCKET_DIR"
  log "starting on 127.0.0.1:$PG_PORT"
  # No -l: the server inherits pg_ctl's stdout/stderr, a file opened here by
  # the caller. That way the cluster's user needs no write access to
  # $RUN_DIR/log (it may not even be able to reach it, see above).
  # 8>&-: the server must not inherit the lock (see lock_component).
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -w -t 60 start </dev/null >>"$PG_LOG" 2>&1 8>&- \
    || fail_with_log "pg_ctl start failed"
}

# Create the databases that do not exist yet, over TCP with the password:
# this also proves that the listener and scram auth work.
pg_ensure_databases() {
  local list
  list="$(printf "'%s'," "${PG_DATABASES[@]}")"
  PGPASSWORD="$PG_PASSWORD" "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "$PG_PORT" -U "$PG_ROLE" -d postgres >/dev/null <<EOF \
    || fail_with_log "could not connect as $PG_ROLE or create the databases"
SELECT format('CREATE DATABASE %I OWNER %I', d, '$PG_ROLE')
  FROM unnest(ARRAY[${list%,}]) AS d
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = d)
\gexec
EOF
}

# ---------------------------------------------------------------------------
cmd_up() {
  pg_initialized || pg_init
  # A server process that does not accept connections yet is either starting
  # (crash recovery) or going away (its postmaster was just killed and not yet
  # reaped): wait for it to settle either way, then start it if it is gone.
  local deadline=$((SECONDS + 60))
  while pg_running && ! pg_ready; do
    ((SECONDS < deadline)) || fail_with_log "server process is up but not accepting connections"
    sleep 0.5
  done
  pg_running || pg_start
  pg_ensure_databases
  log "ready: 127.0.0.1:$PG_PORT, databases ${PG_DATABASES[*]}"
}

cmd_down() {
  if pg_running; then
    log "stopping"
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -w -t 60 -m fast stop >>"$PG_LOG" 2>&1 \
      || fail_with_log "pg_ctl stop failed"
  fi
}

cmd_clean() {
  cmd_down
  log "removing $PG_DIR"
  rm -rf "$PG_DIR"
  if [[ -L $RUN_DIR/pg ]]; then
    rm -f "$RUN_DIR/pg"
    rmdir "$(dirname "$PG_DIR")" 2>/dev/null || true   # /var/tmp/campaign-live-<hash>
  fi
}

cmd_status() {
  if pg_ready; then
    echo "postgres: up on 127.0.0.1:$PG_PORT (data $PG_DATA)"
  else
    echo "postgres: down"
    return 1
  fi
}

case "$VERB" in
  up) lock_component postgres; cmd_up ;;
  down) lock_component postgres; cmd_down ;;
  clean) lock_component postgres; cmd_clean ;;
  status) cmd_status ;;
  *) usage_verbs "$0" ;;
esac
