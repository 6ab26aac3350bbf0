#!/usr/bin/env bash
# `make bench`, memory part: 10,000 idle keep-alive connections (each has served one request)
# and then 1,000 active ones (wrk) against `citygate serve` and nginx, one after the other in one
# run, both on core 0 with one thread/worker. Reports resident memory per idle connection for
# both (the target: the gateway ≤ 2× nginx's) and shows the gateway keeps serving with the idle
# ones held: requests/s and p99 with 1,000 active connections on top of them. Every client is on
# 127.0.0.1, so the gateway's per-address cap (256 by default, against one client taking every
# slot) is raised to the total for this run.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
idle=${BENCH_IDLE_CONNECTIONS:-10000}
active=${BENCH_ACTIVE_CONNECTIONS:-1000}
duration=${BENCH_DURATION:-8}
work=$(mktemp -d)
trap '[ -n "${KEEP_LOG:-}" ] && cp "$work/citygate.log" /tmp/connections-citygate.log; kill $(jobs -p) 2>/dev/null || true; [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null; rm -rf "$work"' EXIT
# Raise the soft limit to the hard one (11,000 descriptors per server are needed).
ulimit -n "$(ulimit -Hn)"

swift build -c release --product citygate >/dev/null
body=$(.build/release/citygate bench-body)
cg_port=$(free_port); cg_ops=$(free_port); nginx_port=$(free_port)
taskset -c 0 .build/release/citygate serve --listen "127.0.0.1:$cg_port" --ops "127.0.0.1:$cg_ops" \
    --threads 1 --bench-route --max-connections $((idle + active + 1000)) \
    --max-connections-per-address $((idle + active + 1000)) --data "$work/data" \
    >"$work/citygate.log" 2>&1 &
start_nginx_with_limits() {
    cat >"$work/nginx.conf" <<NGINX
worker_processes 1;
worker_rlimit_nofile $(ulimit -Hn);
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections $((idle + active + 1000)); }
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    server {
        listen 127.0.0.1:$nginx_port backlog=4096;
        location = /bench/fixed { default_type application/json; return 200 '$body'; }
    }
}
NGINX
    taskset -c 0 nginx -c "$work/nginx.conf" -p "$work"
}
start_nginx_with_limits
sleep 1
cg_pid=$(pgrep -f "citygate serve --listen 127.0.0.1:$cg_port")
nginx_worker=$(pgrep -P "$(cat "$work/nginx.pid")")

# rss_kb PID: resident set size in KiB.
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

measure() { # NAME PORT PID
    local name=$1 port=$2 pid=$3
    # Warm: a short run at the active count, so pools and buffers that serving grows are in both
    # baselines, not charged to the idle connections.
    connections=$active duration=3 run_wrk "http://127.0.0.1:$port/bench/fixed" >/dev/null
    sleep 1
    local base; base=$(rss_kb "$pid")
    coproc HOLD { taskset -c 1 python3 bench/hold_connections.py "$idle" "$port" /bench/fixed; }
    local line; read -r line <&"${HOLD[0]}"
    [ "${line%% *}" = ready ] || { echo "$name: $line"; exit 1; }
    sleep 2
    local held; held=$(rss_kb "$pid")
    read -r rps p99 < <(connections=$active duration=$duration run_wrk "http://127.0.0.1:$port/bench/fixed")
    local busy; busy=$(rss_kb "$pid")
    exec {HOLD[1]}>&-
    read -r line <&"${HOLD[0]}" || true
    wait "$HOLD_PID" 2>/dev/null || true
    echo "$name $base $held $busy $rps $p99 ${line##*: }" >>"$work/results"
    printf "%-9s RSS %7s KiB idle-free, %7s KiB with %s idle (%6.0f bytes each), %7s KiB with %s active on top: %9s req/s, p99 %s ms; closed while held: %s\n" \
        "$name" "$base" "$held" "$idle" "$(awk -v a="$held" -v b="$base" -v n="$idle" 'BEGIN {print (a-b)*1024/n}')" \
        "$busy" "$active" "$rps" "$p99" "${line##*: }"
}
echo "$idle idle keep-alive connections, then wrk -c$active -d${duration}s on top; servers on core 0 (one thread/worker), clients on core 1"
measure citygate "$cg_port" "$cg_pid"
measure nginx "$nginx_port" "$nginx_worker"
awk -v n="$idle" '
    $1 == "citygate" { cg = ($3 - $2) * 1024 / n; cg_rps = $5 }
    $1 == "nginx" { ng = ($3 - $2) * 1024 / n; ng_rps = $5 }
    END {
        printf "RSS per idle connection: citygate %.0f bytes, nginx %.0f bytes, ratio %.2f (target <= 2.0)\n", cg, ng, cg / ng
        printf "requests/s with the idle connections held, citygate/nginx: %.2f\n", cg_rps / ng_rps
    }' "$work/results"
