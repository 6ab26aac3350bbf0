#!/usr/bin/env bash
# A throwaway PostgreSQL on loopback for the tests and make run-cluster:
#   scripts/postgres.sh start PORT DIR   initdb (trust, user citygate) on first use; returns once
#                                        it accepts connections: postgresql://citygate@127.0.0.1:PORT/postgres
#   scripts/postgres.sh stop DIR         fast shutdown (committed data stays in DIR)
#   scripts/postgres.sh kill DIR         immediate shutdown (a crash: recovery at the next start)
# PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user.
set -euo pipefail
command=${1:?start, stop or kill}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
as_owner() {
    if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi
}
case "$command" in
start)
    port=${2:?port}
    dir=${3:?directory}
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then
        chown postgres "$dir"
        su postgres -s /bin/sh -c "test -w '$dir'" || {
            echo "postgres.sh: the postgres user cannot reach $dir (a parent directory is private to root)" >&2
            exit 1
        }
    fi
    # Like redis.sh: the daemon must hold none of the caller's descriptors.
    for fd in $(ls /proc/$$/fd); do
        if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_owner "$bin/initdb -D '$dir/data' -A trust -U citygate --no-sync" >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    as_owner "$bin/pg_ctl -D '$dir/data' -o \"-p $port -k '$dir' -c listen_addresses=127.0.0.1 -c max_connections=200\" -l '$dir/log' -w -t 30 start" \
        </dev/null >/dev/null 2>&1 || { tail -20 "$dir/log" >&2; exit 1; }
    ;;
stop)
    dir=${2:?directory}
    as_owner "$bin/pg_ctl -D '$dir/data' -m fast -w stop" </dev/null >/dev/null 2>&1 || true
    ;;
kill)
    dir=${2:?directory}
    as_owner "$bin/pg_ctl -D '$dir/data' -m immediate -w stop" </dev/null >/dev/null 2>&1 || true
    ;;
*)
    echo "usage: postgres.sh start PORT DIR | stop DIR | kill DIR" >&2
    exit 2
    ;;
esac
