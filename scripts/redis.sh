#!/usr/bin/env bash
# A throwaway redis-server on loopback for the tests (and, as #18 lands, make run-cluster):
#   scripts/redis.sh start PORT DIR    nothing written to disk; returns once it answers PING
#   scripts/redis.sh stop PORT
set -euo pipefail
command=${1:?start or stop}
port=${2:?port}
case "$command" in
start)
    dir=${3:?directory}
    mkdir -p "$dir"
    # The daemon must hold none of the caller's descriptors (a test harness reading our output
    # to its end would otherwise wait for redis to exit): close all but 0-2, which it gets from
    # /dev/null below.
    for fd in $(ls /proc/$$/fd); do
        if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --daemonize yes --dir "$dir" \
        --logfile "$dir/redis-$port.log" --pidfile "$dir/redis-$port.pid" </dev/null >/dev/null 2>&1
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
    echo "usage: redis.sh start PORT DIR | stop PORT" >&2
    exit 2
    ;;
esac
