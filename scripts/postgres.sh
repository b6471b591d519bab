#!/usr/bin/env bash
# Finds or starts a PostgreSQL server and prints an admin URL for it on stdout.
#   1. DATABASE_URL, when set;
#   2. otherwise a server already listening on 127.0.0.1:5432 that lets `postgres` in;
#   3. otherwise a private cluster under target/postgres, created and started here with the
#      system's PostgreSQL binaries (installing Debian's `postgresql` package when they are
#      missing and we are root).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
say() { echo "postgres: $*" >&2; }

if [ -n "${DATABASE_URL:-}" ]; then
  say "using DATABASE_URL"
  echo "$DATABASE_URL"
  exit 0
fi

answers() { command -v psql >/dev/null 2>&1 && psql "$1" -Atqc 'SELECT 1' >/dev/null 2>&1; }

local_url="postgres://postgres@127.0.0.1:5432/postgres"
if [ -z "${PATCHWORK_PRIVATE_PG:-}" ] && answers "$local_url"; then
  say "using the server on 127.0.0.1:5432"
  echo "$local_url"
  exit 0
fi

port="${PATCHWORK_PG_PORT:-54329}"
url="postgres://postgres@127.0.0.1:${port}/postgres"

find_bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
  return 1
}

bindir="$(find_bindir || true)"
if [ -z "$bindir" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing PostgreSQL (Debian package postgresql)"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    bindir="$(find_bindir)"
  else
    say "no PostgreSQL found: install it, or set DATABASE_URL"
    exit 1
  fi
fi
export PATH="$bindir:$PATH"

# initdb refuses to run as root: run the cluster as the postgres user, in a folder it can reach.
as_owner() { "$@"; }
dir="$root/target/postgres"
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home /var/lib/postgresql --shell /bin/bash postgres
  as_owner() { runuser -u postgres -- "$@"; }
  mkdir -p "$root/target"
  if ! runuser -u postgres -- test -x "$root/target"; then
    dir="/tmp/patchwork-postgres-$(echo "$root" | sha256sum | cut -c1-12)"
  fi
fi

if answers "$url"; then
  say "using the private cluster in $dir (port $port)"
  echo "$url"
  exit 0
fi

if [ ! -s "$dir/PG_VERSION" ]; then
  say "creating a private cluster in $dir"
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
  chmod 700 "$dir"
  as_owner initdb -D "$dir" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
fi
say "starting the private cluster in $dir (port $port)"
as_owner pg_ctl -D "$dir" -l "$dir/server.log" -w -t 60 \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
echo "$url"
