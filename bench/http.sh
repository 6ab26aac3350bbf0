#!/usr/bin/env bash
# `make bench`, HTTP server part: wrk against `citygate serve --bench-route` (GET /bench/fixed, a
# fixed 200-byte JSON body) and against nginx answering the same bytes, interleaved in one run.
# Server pinned to core 0, wrk to core 1 (shared/NOTES.md: compare only within one run).
# Prints requests/s and p99 per round, then medians and ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
rounds=${BENCH_ROUNDS:-3}
duration=${BENCH_DURATION:-8}
connections=${BENCH_CONNECTIONS:-64}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null; rm -rf "$work"' EXIT

swift build -c release --product citygate >/dev/null
body=$(.build/release/citygate bench-body)

cg_port=$(free_port); cg_ops=$(free_port); nginx_port=$(free_port)

taskset -c 0 .build/release/citygate serve --listen "127.0.0.1:$cg_port" --ops "127.0.0.1:$cg_ops" \
    --threads 1 --bench-route --data "$work/data" >"$work/citygate.log" 2>&1 &
start_nginx "$work" "server {
        listen 127.0.0.1:$nginx_port;
        location = /bench/fixed { default_type application/json; return 200 '$body'; }
    }"
sleep 1
curl -sf "http://127.0.0.1:$cg_port/bench/fixed" >/dev/null
curl -sf "http://127.0.0.1:$nginx_port/bench/fixed" >/dev/null
[ "$(curl -s "http://127.0.0.1:$cg_port/bench/fixed")" = "$(curl -s "http://127.0.0.1:$nginx_port/bench/fixed")" ] \
    || { echo "bodies differ"; exit 1; }


echo "wrk -t1 -c$connections -d${duration}s, $rounds interleaved rounds, servers on core 0, wrk on core 1"
printf "%-6s %-9s %12s %10s\n" round server "requests/s" "p99 ms"
for round in $(seq 1 "$rounds"); do
    read -r r p < <(run_wrk "http://127.0.0.1:$cg_port/bench/fixed"); echo "$r $p" >>"$work/cg"
    printf "%-6s %-9s %12s %10s\n" "$round" citygate "$r" "$p"
    read -r r p < <(run_wrk "http://127.0.0.1:$nginx_port/bench/fixed"); echo "$r $p" >>"$work/nginx"
    printf "%-6s %-9s %12s %10s\n" "$round" nginx "$r" "$p"
done
cg_rps=$(cut -d' ' -f1 "$work/cg" | median); cg_p99=$(cut -d' ' -f2 "$work/cg" | median)
ng_rps=$(cut -d' ' -f1 "$work/nginx" | median); ng_p99=$(cut -d' ' -f2 "$work/nginx" | median)
echo "median citygate: ${cg_rps} req/s, p99 ${cg_p99} ms"
echo "median nginx:    ${ng_rps} req/s, p99 ${ng_p99} ms"
awk -v a="$cg_rps" -v b="$ng_rps" -v c="$cg_p99" -v d="$ng_p99" 'BEGIN {
    printf "ratio requests/s citygate/nginx: %.2f (target >= 0.85)\n", a/b;
    printf "ratio p99 citygate/nginx:        %.2f (target <= 2.00)\n", c/d }'
