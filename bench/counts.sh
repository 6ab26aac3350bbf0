#!/usr/bin/env bash
# `make bench`, work per call: what one partner call through the full pipeline costs in counted
# events, not in time — reference-count increments (swift_retain), object allocations
# (swift_allocObject), every malloc (Swift's and the C libraries'), task switches
# (swift_task_switch: one per await that may change executor) and system calls — with nginx
# proxying the same backend as the reference for system calls. Counts do not move with this
# machine's noise (the timed ratios spread ±5 % between runs), so a change that removes work
# shows here even when the ratios cannot resolve it. Counted with uprobes at a low fixed rate
# (probes slow each event to microseconds; the rate keeps the gateway idle between calls).
# Needs perf and root for `perf probe`; prints "skipped" without them.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
rate=${BENCH_COUNTS_RATE:-300}
seconds=${BENCH_COUNTS_SECONDS:-4}
work=$(mktemp -d)
probes=()
cleanup() {
    kill $(jobs -p) 2>/dev/null || true
    [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null
    for probe in "${probes[@]}"; do perf probe -q -d "$probe" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

swift build -c release >/dev/null
bin=.build/release
core=$(ldd $bin/citygate | awk '/libswiftCore.so/ {print $3}')
concurrency=$(ldd $bin/citygate | awk '/libswift_Concurrency.so/ {print $3}')
libc=$(ldd $bin/citygate | awk '/libc.so.6/ {print $3}')
# Probes of our own names, so that probes someone else set up are neither reused nor deleted.
add_probe() { # GROUP:EVENT LIBRARY FUNCTION
    perf probe -q -d "$1" 2>/dev/null || true
    if perf probe -q -f -x "$2" --add "$1=$3" 2>/dev/null; then probes+=("$1"); else return 1; fi
}
if ! command -v perf >/dev/null || [ "$(id -u)" != 0 ] \
    || ! add_probe citygate_bench:retain "$core" swift_retain \
    || ! add_probe citygate_bench:alloc "$core" swift_allocObject \
    || ! add_probe citygate_bench:malloc "$libc" malloc \
    || ! add_probe citygate_bench:switch "$concurrency" swift_task_switch; then
    echo "work per call: skipped (needs perf and root for uprobes)"
    exit 0
fi

start_mocks "$work"
halls=$(mock_port "$work" halls)
# The pipeline benchmark's set-up: limits far above the load (four checked per call).
pipeline_manifests "$work" "$halls"
gateway=$(free_port); ops=$(free_port); proxy=$(free_port)
taskset -c 0 $bin/citygate serve --listen "127.0.0.1:$gateway" --ops "127.0.0.1:$ops" --threads 1 \
    --manifests "$work/manifests" --data "$work/data" >"$work/gateway.log" 2>&1 &
route=$pipeline_route
start_pipeline_proxy "$work" "$proxy" "$halls"
sleep 1
gateway_pid=$(pgrep -f "citygate serve --listen 127.0.0.1:$gateway")
nginx_worker=$(pgrep -P "$(cat "$work/nginx.pid")" | head -1)
$bin/citygate sign --partner webhooks-demo --manifests "$work/manifests" --path "$route" \
    --body '{"hall":"west-lake"}' --format json --count $((rate * (seconds + 2) * 2 + 200)) >"$work/signed.jsonl"
# The first second warms connections, caches and allocator arenas; the rest is counted.
head -n $((rate + 100)) "$work/signed.jsonl" >"$work/warm.jsonl"
tail -n +$((rate + 101)) "$work/signed.jsonl" >"$work/counted.jsonl"
client() { taskset -c 1 $bin/citygate-client-bench "http://127.0.0.1:$1" 16 "$2" --requests "$3" --rate "$rate"; }
served() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(d['requests'] if d['failures'] == 0 else 0)" "$1"; }

client "$gateway" 1 "$work/warm.jsonl" >/dev/null
client "$proxy" 1 "$work/warm.jsonl" >/dev/null
events=citygate_bench:retain,citygate_bench:alloc,citygate_bench:malloc,citygate_bench:switch,raw_syscalls:sys_enter
perf stat -x, -e "$events" -p "$gateway_pid" -o "$work/gateway.stat" -- sleep $((seconds + 1)) &
stat=$!
sleep 0.3
calls=$(served "$(client "$gateway" "$seconds" "$work/counted.jsonl")")
wait "$stat" || true
perf stat -x, -e raw_syscalls:sys_enter -p "$nginx_worker" -o "$work/nginx.stat" -- sleep $((seconds + 1)) &
stat=$!
sleep 0.3
nginx_calls=$(served "$(client "$proxy" "$seconds" "$work/counted.jsonl")")
wait "$stat" || true
[ "$calls" -gt 0 ] && [ "$nginx_calls" -gt 0 ] || { echo "work per call: failed (calls refused)"; exit 1; }
per_call() { awk -F, -v e="$2" -v n="$3" '$3 == e { printf "%.1f", $1 / n }' "$1"; }
echo "$calls calls through the gateway, $nginx_calls through nginx, at $rate/s"
echo "work per call: retains $(per_call "$work/gateway.stat" citygate_bench:retain "$calls")," \
    "object allocations $(per_call "$work/gateway.stat" citygate_bench:alloc "$calls")," \
    "mallocs $(per_call "$work/gateway.stat" citygate_bench:malloc "$calls")," \
    "task switches $(per_call "$work/gateway.stat" citygate_bench:switch "$calls")"
gateway_syscalls=$(per_call "$work/gateway.stat" raw_syscalls:sys_enter "$calls")
nginx_syscalls=$(per_call "$work/nginx.stat" raw_syscalls:sys_enter "$nginx_calls")
awk -v g="$gateway_syscalls" -v n="$nginx_syscalls" 'BEGIN {
    printf "system calls per call: gateway %.1f, nginx %.1f, ratio %.2f\n", g, n, g / n }'
