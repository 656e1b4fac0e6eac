#!/usr/bin/env bash
# Installs the OS packages the local stack needs (Debian 12), only if missing.
#
#   scripts/deps.sh
#
# Quiet when everything is already there. As root it installs what is missing
# with apt-get; as another user it names the missing packages and exits 1.
# Java 17 and Maven (for Kafka) and Go are expected to be installed already;
# they are checked, not installed, because their versions are pinned by the
# machine image rather than by this script.
set -euo pipefail

# package name -> how we know it is present
missing=()

# PostgreSQL server: the Debian "postgresql" metapackage pulls postgresql-15.
# The binaries live under /usr/lib/postgresql/<major>/bin (not on PATH), so
# look for initdb there rather than with command -v.
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null \
   || ! dpkg -s postgresql >/dev/null 2>&1; then
  missing+=(postgresql)
fi

# protoc, for generating code from proto/.
if ! command -v protoc >/dev/null 2>&1; then
  missing+=(protobuf-compiler)
fi
# The well-known types (google/protobuf/timestamp.proto, ...) ship in
# libprotobuf-dev, which protobuf-compiler only *recommends*; with
# --no-install-recommends it must be asked for by name.
if [[ ! -f /usr/include/google/protobuf/timestamp.proto ]]; then
  missing+=(libprotobuf-dev)
fi

for tool in java mvn; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "deps.sh: '$tool' not found; install Java 17 and Maven (apt-get install openjdk-17-jdk-headless maven)" >&2
    exit 1
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "deps.sh: missing packages: ${missing[*]}" >&2
  echo "deps.sh: install them as root: apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

echo "deps.sh: installing ${missing[*]}" >&2
# Note: installing "postgresql" also makes Debian's system cluster 15/main on
# port 5432 (started only where an init system runs). The stack does not use
# it; scripts/stack/postgres.sh runs its own private cluster.
# Refresh the package lists once, only because something must be installed.
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
