#!/usr/bin/env bash
# `make bench`, full pipeline part: partner calls through the gateway (signature verification,
# replay store, input validation, template mapping, libcurl call to the backend, response
# mapping) against nginx proxying the same backend, interleaved. Every call carries a distinct
# signature (replay protection refuses repeats), so requests are pre-signed per round with
# `citygate sign --count` and sent once each by citygate-client-bench; nginx gets the same bytes.
# Gateway, nginx and the mock backend on core 0; the load generator on core 1.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
# Five rounds: single rounds on this 2-core machine spread from 0.42 to 0.61 of nginx in one run.
rounds=${BENCH_ROUNDS:-5}
duration=${BENCH_DURATION:-8}
concurrency=${BENCH_PIPELINE_CONCURRENCY:-64}
per_round=${BENCH_PIPELINE_REQUESTS:-250000}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null; rm -rf "$work"' EXIT

swift build -c release >/dev/null
bin=.build/release

start_mocks "$work"
halls=$(mock_port "$work" halls)
pipeline_manifests "$work" "$halls"
gateway=$(free_port); ops=$(free_port); proxy=$(free_port)
taskset -c 0 $bin/citygate serve --listen "127.0.0.1:$gateway" --ops "127.0.0.1:$ops" --threads 1 \
    --manifests "$work/manifests" --data "$work/data" >"$work/gateway.log" 2>&1 &
route=$pipeline_route
start_pipeline_proxy "$work" "$proxy" "$halls"
sleep 1
gateway_pid=$(pgrep -f "citygate serve --listen 127.0.0.1:$gateway")
mocks_pid=$(pgrep -f "citygate-mock-backends --base-port 0" | head -1)
nginx_pids="$(cat "$work/nginx.pid") $(pgrep -P "$(cat "$work/nginx.pid")" | tr '\n' ' ')"

sign() { $bin/citygate sign --partner webhooks-demo --manifests "$work/manifests" --path "$route" \
    --body '{"hall":"west-lake"}' --format json --count "$per_round" >"$work/requests.jsonl"; }
run() { taskset -c 1 $bin/citygate-client-bench "http://127.0.0.1:$1" "$concurrency" "$duration" --requests "$work/requests.jsonl"; }
field() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(d['$2'])" "$1"; }

echo "$concurrency in flight, ${duration}s per run (or until $per_round pre-signed calls are used), $rounds interleaved rounds"
for round in $(seq 1 "$rounds"); do
    sign
    # BENCH_PROFILE=1: perf profile of the gateway during the first round (.build/pipeline-gateway.perf).
    if [ -n "${BENCH_PROFILE:-}" ] && [ "$round" = 1 ]; then
        # BENCH_PROFILE=dwarf: full stacks (DWARF unwinding; libc and libcurl keep no frame pointers).
        callgraph=-g; [ "$BENCH_PROFILE" = dwarf ] && callgraph="-F 700 --call-graph dwarf,16384"
        # BENCH_PROFILE_EVENT: sample that event instead of CPU time (e.g. a uprobe on swift_allocObject).
        perf record $callgraph ${BENCH_PROFILE_EVENT:+-e "$BENCH_PROFILE_EVENT"} -o .build/pipeline-gateway.perf \
            -p "$gateway_pid" \
            >/dev/null 2>&1 &
        profiler=$!
    fi
    # BENCH_STRACE=1: system calls of the gateway during the first round, counted
    # (.build/pipeline-gateway.strace; strace slows the gateway, so only the counts mean anything).
    if [ -n "${BENCH_STRACE:-}" ] && [ "$round" = 1 ]; then
        strace -c -f -o .build/pipeline-gateway.strace -p "$gateway_pid" 2>/dev/null &
        profiler=$!
    fi
    # BENCH_PERF_STAT=EVENTS: perf stat of the gateway during the first round (e.g. uprobes on
    # malloc, set up with `perf probe`), in .build/pipeline-gateway.stat; divide by the calls served.
    if [ -n "${BENCH_PERF_STAT:-}" ] && [ "$round" = 1 ]; then
        perf stat -e "$BENCH_PERF_STAT" -o .build/pipeline-gateway.stat -p "$gateway_pid" &
        profiler=$!
    fi
    before=$(cpu_ticks "$gateway_pid"); backend_before=$(cpu_ticks "$mocks_pid")
    result=$(run "$gateway"); echo "round $round gateway: $result"
    served=$(field "$result" requests)
    cpu=$(ticks_per_request $(($(cpu_ticks "$gateway_pid") - before)) "$served"); echo "$cpu" >>"$work/gateway-cpu"
    echo "round $round CPU per call: gateway $cpu µs," \
        "mock backend $(ticks_per_request $(($(cpu_ticks "$mocks_pid") - backend_before)) "$served") µs"
    if [ -n "${profiler:-}" ]; then kill -INT "$profiler"; wait "$profiler" || true; profiler=; fi
    echo "$(field "$result" requestsPerSecond) $(field "$result" p99ms) $(field "$result" failures)" >>"$work/gateway"
    before=$(cpu_ticks $nginx_pids); backend_before=$(cpu_ticks "$mocks_pid")
    result=$(run "$proxy"); echo "round $round nginx:   $result"
    served=$(field "$result" requests)
    cpu=$(ticks_per_request $(($(cpu_ticks $nginx_pids) - before)) "$served"); echo "$cpu" >>"$work/nginx-cpu"
    echo "round $round CPU per call: nginx $cpu µs," \
        "mock backend $(ticks_per_request $(($(cpu_ticks "$mocks_pid") - backend_before)) "$served") µs"
    echo "$(field "$result" requestsPerSecond) $(field "$result" p99ms) $(field "$result" failures)" >>"$work/nginx"
done
g_rps=$(cut -d' ' -f1 "$work/gateway" | median); g_p99=$(cut -d' ' -f2 "$work/gateway" | median)
n_rps=$(cut -d' ' -f1 "$work/nginx" | median); n_p99=$(cut -d' ' -f2 "$work/nginx" | median)
echo "median gateway pipeline: $g_rps req/s, p99 $g_p99 ms (failures per round: $(cut -d' ' -f3 "$work/gateway" | tr '\n' ' '))"
echo "median nginx proxy:      $n_rps req/s, p99 $n_p99 ms"
awk -v a="$g_rps" -v b="$n_rps" -v c="$g_p99" -v d="$n_p99" 'BEGIN {
    printf "ratio requests/s gateway/nginx: %.2f (target >= 0.75)\n", a/b; printf "ratio p99 gateway/nginx: %.2f (target <= 1.5)\n", c/d }'
g_cpu=$(median <"$work/gateway-cpu"); n_cpu=$(median <"$work/nginx-cpu")
awk -v a="$g_cpu" -v b="$n_cpu" 'BEGIN {
    printf "median CPU per call: gateway %.1f µs, nginx %.1f µs, ratio %.2f (target <= 2.0)\n", a, b, a/b }'

# Latency added over a direct backend call, at half of the gateway's saturation throughput (open
# loop: requests start on a schedule, each latency counted from its scheduled start), interleaved.
latency_rounds=${BENCH_LATENCY_ROUNDS:-3}
[ "$latency_rounds" -gt 0 ] || exit 0
rate=$(awk -v r="$g_rps" 'BEGIN { printf "%d", r / 2 }')
latency_duration=${BENCH_LATENCY_DURATION:-6}
echo "latency at $rate calls/s (half the gateway's median saturation), ${latency_duration}s per run, $latency_rounds interleaved rounds"
direct_url="http://127.0.0.1:$halls/halls/west-lake/queue?city=330100"
for round in $(seq 1 "$latency_rounds"); do
    $bin/citygate sign --partner webhooks-demo --manifests "$work/manifests" --path "$route" \
        --body '{"hall":"west-lake"}' --format json --count $((rate * latency_duration * 11 / 10 + 100)) \
        >"$work/requests.jsonl"
    for target in direct nginx gateway; do
        case $target in
        direct) result=$(taskset -c 1 $bin/citygate-client-bench "$direct_url" 256 "$latency_duration" --rate "$rate") ;;
        nginx) result=$(taskset -c 1 $bin/citygate-client-bench "http://127.0.0.1:$proxy" 256 "$latency_duration" \
            --requests "$work/requests.jsonl" --rate "$rate") ;;
        gateway) result=$(taskset -c 1 $bin/citygate-client-bench "http://127.0.0.1:$gateway" 256 "$latency_duration" \
            --requests "$work/requests.jsonl" --rate "$rate") ;;
        esac
        echo "round $round $target at $rate/s: $result"
        echo "$(field "$result" p50ms) $(field "$result" p99ms)" >>"$work/latency-$target"
    done
done
for target in direct nginx gateway; do
    echo "$target $(cut -d' ' -f1 "$work/latency-$target" | median) $(cut -d' ' -f2 "$work/latency-$target" | median)"
done >"$work/latency"
awk '{ p50[$1] = $2; p99[$1] = $3 } END {
    printf "median latency at half saturation: direct p50 %.3f p99 %.3f ms; nginx p50 %.3f p99 %.3f ms; gateway p50 %.3f p99 %.3f ms\n",
        p50["direct"], p99["direct"], p50["nginx"], p99["nginx"], p50["gateway"], p99["gateway"]
    added_n = p99["nginx"] - p99["direct"]; added_g = p99["gateway"] - p99["direct"]
    if (added_n > 0) printf "added p99 over direct: nginx %.3f ms, gateway %.3f ms, ratio %.2f (target <= 2.0)\n", added_n, added_g, added_g / added_n
    else printf "added p99 over direct: nginx %.3f ms (none measurable), gateway %.3f ms, ratio n/a\n", added_n, added_g }' "$work/latency"
