#!/usr/bin/env bash
# `make bench`, TLS part: wrk over HTTPS against `citygate serve --bench-route` with gateway.json
# `tls` and against nginx terminating TLS with the same certificate and key, interleaved in one
# run: requests/s on kept-alive connections, and new handshakes/s (every request on a fresh
# connection: `Connection: close`; wrk resumes no sessions, so each is a full ECDHE-ECDSA
# handshake). Both ask for (and do not demand) a client certificate, as the gateway does when
# partners pin one. Server pinned to core 0, wrk to core 1.
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
tls=$(scripts/tls-demo.sh "$work/tls")

cg_port=$(free_port); cg_ops=$(free_port); nginx_port=$(free_port)
taskset -c 0 .build/release/citygate serve --listen "127.0.0.1:$cg_port" --ops "127.0.0.1:$cg_ops" \
    --threads 1 --bench-route --manifests "$tls/manifests" --data "$work/data" >"$work/citygate.log" 2>&1 &
start_nginx "$work" "server {
        listen 127.0.0.1:$nginx_port ssl;
        ssl_certificate $tls/server.pem;
        ssl_certificate_key $tls/server.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache shared:SSL:10m;
        ssl_client_certificate $tls/ca.pem;
        ssl_verify_client optional;
        location = /bench/fixed { default_type application/json; return 200 '$body'; }
    }"
sleep 1
export CURL_CA_BUNDLE=$tls/ca.pem
[ "$(curl -sf "https://127.0.0.1:$cg_port/bench/fixed")" = "$(curl -sf "https://127.0.0.1:$nginx_port/bench/fixed")" ] \
    || { echo "bodies differ"; cat "$work/citygate.log"; exit 1; }


echo "wrk -t1 -c$connections -d${duration}s over TLS, $rounds interleaved rounds, servers on core 0, wrk on core 1"
printf "%-6s %-11s %-9s %12s %10s\n" round mode server "requests/s" "p99 ms"
for round in $(seq 1 "$rounds"); do
    for mode in keepalive handshake; do
        header=""
        [ "$mode" = handshake ] && header="Connection: close"
        for server in citygate nginx; do
            port=$cg_port
            [ "$server" = nginx ] && port=$nginx_port
            read -r r p < <(run_wrk "https://127.0.0.1:$port/bench/fixed" "$header")
            echo "$r $p" >>"$work/$server-$mode"
            printf "%-6s %-11s %-9s %12s %10s\n" "$round" "$mode" "$server" "$r" "$p"
        done
    done
done
for mode in keepalive handshake; do
    cg=$(cut -d' ' -f1 "$work/citygate-$mode" | median); ng=$(cut -d' ' -f1 "$work/nginx-$mode" | median)
    cgp=$(cut -d' ' -f2 "$work/citygate-$mode" | median); ngp=$(cut -d' ' -f2 "$work/nginx-$mode" | median)
    echo "median $mode: citygate ${cg}/s p99 ${cgp} ms, nginx ${ng}/s p99 ${ngp} ms"
    awk -v a="$cg" -v b="$ng" -v m="$mode" 'BEGIN { printf "ratio %s citygate/nginx: %.2f (target >= 0.70)\n", m, a/b }'
done
