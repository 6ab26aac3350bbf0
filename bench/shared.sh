#!/usr/bin/env bash
# `make bench`, shared state part (#18): one instance with the shared stores (Redis: replay
# window and rate limits; PostgreSQL: inbox, tokens, idempotency, cases) against the same
# pipeline embedded (SQLite and memory), interleaved rounds in one run, the same pre-signed calls
# for both; then event acceptance into the PostgreSQL inbox against pgbench's plain
# `INSERT … COMMIT` loop on the same server (one client: a commit per event; 64 clients: what
# the server's own group commit allows). Gateways, Redis, PostgreSQL and the mock backend on
# core 0; the load generator on core 1.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
rounds=${BENCH_ROUNDS:-3}
duration=${BENCH_DURATION:-6}
concurrency=${BENCH_PIPELINE_CONCURRENCY:-64}
per_round=${BENCH_PIPELINE_REQUESTS:-150000}
events=${BENCH_EVENTS:-20000}
work=$(mktemp -d)
# PostgreSQL runs as the postgres user (it refuses root), which must reach its directory.
chmod 711 "$work"
redis_port=$(free_port)
postgres_port=$(free_port)
cleanup() {
    kill $(jobs -p) 2>/dev/null || true
    scripts/redis.sh stop "$redis_port" || true
    scripts/postgres.sh stop "$work/postgres" || true
    rm -rf "$work"
}
trap cleanup EXIT

swift build -c release >/dev/null
bin=.build/release
taskset -c 0 scripts/redis.sh start "$redis_port" "$work/redis"
taskset -c 0 scripts/postgres.sh start "$postgres_port" "$work/postgres"
start_mocks "$work"
halls=$(mock_port "$work" halls)
openssl genpkey -algorithm ed25519 -out "$work/token-signing.pem" 2>/dev/null
openssl rand -hex 32 >"$work/subject-salt"
printf 'redis://127.0.0.1:%s\n' "$redis_port" >"$work/redis.url"
printf 'postgresql://citygate@127.0.0.1:%s/postgres\n' "$postgres_port" >"$work/postgres.url"
cp -r "$work/manifests" "$work/shared-manifests"
python3 - "$work" "$halls" <<'PY'
import json, sys
work, port = sys.argv[1], sys.argv[2]
for tree in ("manifests", "shared-manifests"):
    path = f"{work}/{tree}/cities/330100.json"
    city = json.load(open(path))
    city["backends"]["halls"]["baseURL"] = f"http://127.0.0.1:{port}"
    city["backends"]["halls"]["maxConnections"] = 256
    # Limits far above the offered load, decided on every call (in Redis for the shared one).
    city["rateLimits"] = [{"scope": "partner", "limit": 10000000, "period": "1s", "burst": 10000000}]
    json.dump(city, open(path, "w"))
    service_path = f"{work}/{tree}/services/service-hall.queue.json"
    service = json.load(open(service_path))
    service["rateLimits"] = [{"scope": scope, "limit": 10000000, "period": "1s", "burst": 10000000}
                             for scope in ("partner", "operation", "ip")]
    json.dump(service, open(service_path, "w"))
path = f"{work}/shared-manifests/gateway.json"
gateway = json.load(open(path))
gateway["state"] = {"redis": f"file:{work}/redis.url", "postgres": f"file:{work}/postgres.url"}
gateway["tokens"] = {"issuer": "http://127.0.0.1", "subjectSalt": f"file:{work}/subject-salt",
                     "signingKeys": [{"id": "bench", "privateKey": f"file:{work}/token-signing.pem"}]}
json.dump(gateway, open(path, "w"))
PY
embedded=$(free_port); shared=$(free_port)
taskset -c 0 $bin/citygate serve --listen "127.0.0.1:$embedded" --ops "127.0.0.1:$(free_port)" --threads 1 \
    --manifests "$work/manifests" --data "$work/data-embedded" >"$work/embedded.log" 2>&1 &
taskset -c 0 $bin/citygate serve --listen "127.0.0.1:$shared" --ops "127.0.0.1:$(free_port)" --threads 1 \
    --manifests "$work/shared-manifests" --data "$work/data-shared" >"$work/shared.log" 2>&1 &
sleep 1.5
embedded_pid=$(pgrep -f "citygate serve --listen 127.0.0.1:$embedded")
shared_pid=$(pgrep -f "citygate serve --listen 127.0.0.1:$shared")
redis_pid=$(cat "$work/redis/redis-$redis_port.pid")
postgres_pids=$(pgrep -u postgres -f "postgres" | tr '\n' ' ')
route=/v1/cities/330100/services/service-hall.queue/status
sign() { $bin/citygate sign --partner webhooks-demo --manifests "$work/manifests" --path "$route" \
    --body '{"hall":"west-lake"}' --format json --count "$per_round" >"$work/requests.jsonl"; }
run() { taskset -c 1 $bin/citygate-client-bench "http://127.0.0.1:$1" "$concurrency" "$duration" --requests "$work/requests.jsonl"; }
field() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(d['$2'])" "$1"; }

echo "pipeline: $concurrency in flight, ${duration}s per run, $rounds interleaved rounds (after an unmeasured warm-up of each)"
# Warm-up: connections to the backend, Redis and PostgreSQL opened, caches filled.
per_round_saved=$per_round; per_round=20000; sign; duration_saved=$duration; duration=2
run "$embedded" >/dev/null; run "$shared" >/dev/null
per_round=$per_round_saved; duration=$duration_saved
ratios=(); added=()
for round in $(seq 1 "$rounds"); do
    sign
    before=$(cpu_ticks "$embedded_pid")
    e=$(run "$embedded")
    embedded_cpu=$(ticks_per_request $(($(cpu_ticks "$embedded_pid") - before)) "$(field "$e" requests)")
    # The same signatures again on the other instance: each has its own replay window (one
    # embedded, one in Redis), so both accept them.
    before=$(cpu_ticks "$shared_pid"); stores_before=$(cpu_ticks "$redis_pid" $postgres_pids)
    s=$(run "$shared")
    shared_cpu=$(ticks_per_request $(($(cpu_ticks "$shared_pid") - before)) "$(field "$s" requests)")
    stores_cpu=$(ticks_per_request $(($(cpu_ticks "$redis_pid" $postgres_pids) - stores_before)) "$(field "$s" requests)")
    echo "round $round: embedded $(field "$e" requestsPerSecond) req/s p99 $(field "$e" p99ms) ms ($(field "$e" failures) failures);" \
        "shared $(field "$s" requestsPerSecond) req/s p99 $(field "$s" p99ms) ms ($(field "$s" failures) failures);" \
        "CPU per call: gateway embedded $embedded_cpu us, shared $shared_cpu us, + Redis/PostgreSQL $stores_cpu us (same core)"
    ratios+=("$(awk -v a="$(field "$s" requestsPerSecond)" -v b="$(field "$e" requestsPerSecond)" 'BEGIN { printf "%.3f", a/b }')")
    added+=("$(awk -v a="$(field "$s" p99ms)" -v b="$(field "$e" p99ms)" 'BEGIN { printf "%.2f", a-b }')")
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END { print v[int((NR+1)/2)] }'; }
echo "shared / embedded throughput, median of $rounds: $(median "${ratios[@]}")x (rounds: ${ratios[*]}); added p99, median: $(median "${added[@]}") ms"

echo
echo "events into the PostgreSQL inbox vs pgbench INSERT … COMMIT on the same server"
$bin/citygate sign --partner hmac-demo --manifests "$work/manifests" --path /v1/partners/hmac-demo/events \
    --body '{"type":"citizen.rating","data":{"stars":5}}' --format json --count "$events" >"$work/unbound.jsonl"
accepted=$(taskset -c 1 $bin/citygate-client-bench "http://127.0.0.1:$shared" 64 600 --requests "$work/unbound.jsonl")
url="postgresql://citygate@127.0.0.1:$postgres_port/postgres"
psql "$url" -q -X -c "CREATE TABLE bench_event (id BIGSERIAL PRIMARY KEY, body BYTEA NOT NULL)"
printf "INSERT INTO bench_event (body) VALUES (decode(repeat('78', 700), 'hex'));\n" >"$work/insert.sql"
pgbench=$(ls /usr/lib/postgresql/*/bin/pgbench | sort -V | tail -1)
one=$(taskset -c 1 "$pgbench" -n -f "$work/insert.sql" -c 1 -T 5 "$url" 2>/dev/null | awk '/^tps/ {print int($3)}')
many=$(taskset -c 1 "$pgbench" -n -f "$work/insert.sql" -c 64 -j 1 -T 5 "$url" 2>/dev/null | awk '/^tps/ {print int($3)}')
rps=$(field "$accepted" requestsPerSecond)
echo "citygate, events acknowledged after COMMIT (group commit), 64 in flight: $rps events/s ($(field "$accepted" failures) failures, p99 $(field "$accepted" p99ms) ms)"
echo "pgbench INSERT … COMMIT, 1 client: $one/s; 64 clients: $many/s"
awk -v a="$rps" -v b="$one" -v c="$many" 'BEGIN { printf "ratio: %.2fx a one-commit-per-event loop, %.2fx 64 concurrent committers\n", a/b, a/c }'
