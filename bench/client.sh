#!/usr/bin/env bash
# `make bench`, outbound client part: HTTPClient (libcurl multi) driving N requests in flight at an
# nginx backend on loopback, against wrk at the same concurrency on the same backend, and against
# plain C driving libcurl the same way (the floor for any libcurl client), interleaved.
# Backend pinned to core 0, load generators to core 1.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
rounds=${BENCH_ROUNDS:-3}
duration=${BENCH_DURATION:-8}
concurrency=${BENCH_CLIENT_CONCURRENCY:-64}
work=$(mktemp -d)
trap '[ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null; rm -rf "$work"' EXIT

swift build -c release --product citygate-client-bench >/dev/null
# The libcurl floor: plain C doing only what HTTPClient asks of libcurl (bench/curl-reference.c).
cc -O2 -Wall -Werror -o .build/citygate-curl-reference bench/curl-reference.c -lcurl
port=$(free_port)
start_nginx "$work" "server { listen 127.0.0.1:$port; location / { default_type application/json; return 200 '{\"ok\":true}'; } }"
sleep 1
url="http://127.0.0.1:$port/"

echo "$concurrency in flight, ${duration}s per run, $rounds interleaved rounds; nginx on core 0, clients on core 1"
for round in $(seq 1 "$rounds"); do
    json=$(taskset -c 1 .build/release/citygate-client-bench "$url" "$concurrency" "$duration")
    echo "round $round HTTPClient: $json"
    echo "$json" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["requestsPerSecond"], d["p99ms"], d["cpuMicrosecondsPerRequest"])' >>"$work/client"
    json=$(taskset -c 1 .build/citygate-curl-reference "$url" "$concurrency" "$duration")
    echo "round $round C libcurl:  $json"
    echo "$json" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["requestsPerSecond"], d["cpuMicrosecondsPerRequest"], d["userMicrosecondsPerRequest"])' >>"$work/curl"
    taskset -c 1 wrk -t1 -c"$concurrency" -d"${duration}s" --latency "$url" >"$work/wrk.out"
    rps=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.out")
    echo "round $round wrk:        $rps req/s"
    echo "$rps" >>"$work/wrk"
done
client_rps=$(cut -d' ' -f1 "$work/client" | median)
client_cpu=$(cut -d' ' -f3 "$work/client" | median)
curl_rps=$(cut -d' ' -f1 "$work/curl" | median)
curl_cpu=$(cut -d' ' -f2 "$work/curl" | median)
curl_user=$(cut -d' ' -f3 "$work/curl" | median)
wrk_rps=$(median <"$work/wrk")
echo "median HTTPClient: $client_rps req/s, CPU ${client_cpu} µs/request"
echo "median C libcurl:  $curl_rps req/s, CPU ${curl_cpu} µs/request (${curl_user} of it in user space)"
echo "median wrk:        $wrk_rps req/s"
awk -v a="$client_rps" -v b="$wrk_rps" 'BEGIN { printf "ratio HTTPClient/wrk: %.2f (target >= 0.50)\n", a/b }'
awk -v a="$curl_rps" -v b="$wrk_rps" 'BEGIN { printf "ratio C libcurl/wrk:  %.2f (the most any libcurl client reaches here)\n", a/b }'
awk -v a="$client_rps" -v b="$curl_rps" 'BEGIN { printf "ratio HTTPClient/C libcurl: %.2f (target >= 0.90)\n", a/b }'
