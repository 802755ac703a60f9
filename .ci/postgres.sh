#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback for the store's tests.
#
#   eval "$(.ci/postgres.sh start)"   # starts it, prints export ZZ_POSTGRES=… ZZ_PG_DIR=…
#   .ci/postgres.sh stop              # stops it and removes its directory ($ZZ_PG_DIR)
#
# The server refuses to run as root, so it runs as the user postgres (made
# by Debian's postgresql package), in a fresh directory, trusting loopback
# connections only: for tests, never for a deployment.
set -euo pipefail
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
PORT=${ZZ_PG_PORT:-5544}

case "${1:-}" in
start)
  if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
    echo "postgres.sh: no PostgreSQL server binaries (apt-get install -y postgresql)" >&2
    exit 1
  fi
  D=$(mktemp -d /tmp/zz-pg.XXXXXX)
  chmod 755 "$D"
  if [ "$(id -u)" = 0 ]; then
    chown postgres "$D"
    run() { su postgres -s /bin/sh -c "$1"; }
  else
    run() { sh -c "$1"; }
  fi
  run "$PGBIN/initdb -D $D/data -A trust -U zz -E UTF8 --locale=C.UTF-8 >$D/initdb.log 2>&1" ||
    { cat "$D/initdb.log" >&2; exit 1; }
  run "$PGBIN/pg_ctl -D $D/data -o '-k $D -h 127.0.0.1 -p $PORT -c fsync=on' -l $D/log -w start >/dev/null" ||
    { cat "$D/log" >&2; exit 1; }
  run "$PGBIN/psql -h 127.0.0.1 -p $PORT -U zz -d postgres -qc 'CREATE DATABASE zhengzhao'" >&2
  echo "export ZZ_POSTGRES=postgres://zz@127.0.0.1:$PORT/zhengzhao ZZ_PG_DIR=$D"
  ;;
stop)
  D=${ZZ_PG_DIR:?postgres.sh stop: ZZ_PG_DIR is not set}
  if [ "$(id -u)" = 0 ]; then
    su postgres -s /bin/sh -c "$PGBIN/pg_ctl -D $D/data -m fast -w stop" >/dev/null || true
  else
    "$PGBIN/pg_ctl" -D "$D/data" -m fast -w stop >/dev/null || true
  fi
  rm -rf "$D"
  ;;
*)
  echo "usage: $0 start|stop" >&2
  exit 2
  ;;
esac
