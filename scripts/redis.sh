#!/usr/bin/env bash
# A throwaway redis-server on loopback for the tests and make run-cluster:
#   scripts/redis.sh start PORT DIR                       nothing written to disk; returns once it answers PING
#   scripts/redis.sh replica PORT DIR MASTER-PORT         the same, replicating the server on MASTER-PORT
#   scripts/redis.sh sentinel PORT DIR MASTER-PORT NAME   a Sentinel watching it as NAME (quorum 1,
#                                                         down after 1 s: fails over within seconds)
#   scripts/redis.sh stop PORT                            any of them
set -euo pipefail
command=${1:?start or stop}
port=${2:?port}
case "$command" in
start | replica | sentinel)
    dir=${3:?directory}
    mkdir -p "$dir"
    # The daemon must hold none of the caller's descriptors (a test harness reading our output
    # to its end would otherwise wait for redis to exit): close all but 0-2, which it gets from
    # /dev/null below.
    for fd in $(ls /proc/$$/fd); do
        if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    common=(--bind 127.0.0.1 --port "$port" --daemonize yes --dir "$dir"
        --logfile "$dir/redis-$port.log" --pidfile "$dir/redis-$port.pid")
    case "$command" in
    start) redis-server "${common[@]}" --save '' --appendonly no </dev/null >/dev/null 2>&1 ;;
    replica)
        redis-server "${common[@]}" --save '' --appendonly no --replicaof 127.0.0.1 "${4:?master port}" \
            </dev/null >/dev/null 2>&1
        ;;
    sentinel)
        # Sentinel rewrites its configuration file as it learns: one it owns, in DIR.
        name=${5:?master name}
        cat >"$dir/sentinel-$port.conf" <<EOF
sentinel monitor $name 127.0.0.1 ${4:?master port} 1
sentinel down-after-milliseconds $name 1000
sentinel failover-timeout $name 5000
sentinel parallel-syncs $name 1
EOF
        redis-server "$dir/sentinel-$port.conf" --sentinel "${common[@]}" </dev/null >/dev/null 2>&1
        ;;
    esac
    for _ in $(seq 1 100); do
        redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && exit 0
        sleep 0.05
    done
    echo "redis-server on $port did not start" >&2
    exit 1
    ;;
stop)
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
    for _ in $(seq 1 100); do
        redis-cli -p "$port" ping >/dev/null 2>&1 || exit 0
        sleep 0.05
    done
    ;;
*)
    echo "usage: redis.sh start PORT DIR | replica PORT DIR MASTER-PORT | sentinel PORT DIR MASTER-PORT NAME | stop PORT" >&2
    exit 2
    ;;
esac
