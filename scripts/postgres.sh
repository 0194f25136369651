#!/usr/bin/env bash
# PostgreSQL 15 with pgvector for the tests and benchmarks (never for production: see README).
#   bash scripts/postgres.sh install     PostgreSQL 15 from apt and pgvector (root); idempotent
#   bash scripts/postgres.sh start DIR   a throwaway cluster in DIR (a new folder, e.g. under /tmp)
#                                        on 127.0.0.1 and a free port; prints its DATABASE_URL
#   bash scripts/postgres.sh stop DIR    stops it and deletes DIR
# POSTGRES_OPTIONS adds server settings to start, e.g. "-c shared_buffers=2GB" (npm run bench).
# Debian bookworm has no pgvector package: `install` builds it with the installer beside the
# workspace (PGVECTOR_INSTALLER, default ../shared/vendor/install-pgvector.sh), or says how to get it.
set -euo pipefail
PG_MAJOR=${PG_MAJOR:-15}
pgbin=/usr/lib/postgresql/$PG_MAJOR/bin
here=$(cd "$(dirname "$0")" && pwd)

as_postgres() {
  # initdb and the server refuse to run as root.
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

install() {
  if ! dpkg -s "postgresql-$PG_MAJOR" >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-$PG_MAJOR" >/dev/null
  fi
  if [ ! -f "/usr/share/postgresql/$PG_MAJOR/extension/vector.control" ]; then
    installer=${PGVECTOR_INSTALLER:-$here/../../shared/vendor/install-pgvector.sh}
    if [ ! -f "$installer" ]; then
      echo "pgvector is not installed for PostgreSQL $PG_MAJOR. Install your distribution's package (postgresql-$PG_MAJOR-pgvector from apt.postgresql.org) or set PGVECTOR_INSTALLER to a script that builds it." >&2
      exit 1
    fi
    PG_MAJOR=$PG_MAJOR bash "$installer"
  fi
  echo "PostgreSQL $PG_MAJOR with pgvector is installed"
}

start() {
  local dir=$1
  mkdir -p "$dir"
  # Run as root, the cluster belongs to the postgres user, who must reach DIR.
  if [ "$(id -u)" = 0 ]; then
    chown postgres "$dir"
    runuser -u postgres -- test -x "$dir" || { echo "The postgres user cannot reach $dir: put it under a folder others may enter (e.g. /tmp)." >&2; exit 1; }
  fi
  as_postgres "$pgbin/initdb" -D "$dir/data" -A trust -U postgres --no-sync -E UTF8 >"$dir/initdb.log"
  local port
  port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
  # fsync off: a throwaway cluster, and tests must not wait on the disk.
  as_postgres "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off ${POSTGRES_OPTIONS:-}" start >/dev/null
  echo "postgres://postgres@127.0.0.1:$port/postgres"
}

stop() {
  local dir=$1
  [ -d "$dir/data" ] && as_postgres "$pgbin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}

case "${1:-}" in
  install) install ;;
  start) start "${2:?start needs a folder}" ;;
  stop) stop "${2:?stop needs a folder}" ;;
  *) echo "Usage: bash scripts/postgres.sh install | start DIR | stop DIR" >&2; exit 1 ;;
esac
