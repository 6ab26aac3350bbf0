#!/usr/bin/env bash
# `make bench`, events part: partner events accepted per second with the inbox's durability
# (SQLite WAL, synchronous=FULL: an fsync per commit, group commit batching every event that
# arrives while one commit runs), against the same disk's ceiling for the naive discipline (one
# event per FULL commit, measured here with Python's sqlite3 in the same run). Phase 1 sends
# events no service binds (acceptance alone, through the whole HTTP path); phase 2 sends bound
# events and measures acceptance with delivery running, and acknowledged → delivered throughput
# to a fast mock backend. The bare server's reference: the same signed bytes posted to the
# gateway's `/bench/fixed` (`--bench-route`: parsed, answered with a fixed body, nothing checked
# or stored), in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
events=${BENCH_EVENTS:-20000}
concurrency=${BENCH_EVENTS_CONCURRENCY:-64}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

swift build -c release >/dev/null
bin=.build/release
start_mocks "$work"
approvals=$(mock_port "$work" approvals)
python3 - "$work/manifests/cities/330100.json" "$approvals" <<'PY'
import json, sys
path, port = sys.argv[1], sys.argv[2]
city = json.load(open(path))
city["backends"]["approvals"]["baseURL"] = f"http://127.0.0.1:{port}"
city["backends"]["approvals"]["maxConnections"] = 256
json.dump(city, open(path, "w"))
PY
gateway=$(free_port); ops=$(free_port)
taskset -c 0 $bin/citygate serve --listen "127.0.0.1:$gateway" --ops "127.0.0.1:$ops" --threads 1 \
    --manifests "$work/manifests" --data "$work/data" --bench-route >"$work/gateway.log" 2>&1 &
sleep 1
$bin/citygate sign --partner webhooks-demo --manifests "$work/manifests" --path /v1/partners/webhooks-demo/events \
    --body '{"type":"case.progress","data":{"stage":"受理"}}' --format json --count "$events" >"$work/events.jsonl"
$bin/citygate sign --partner hmac-demo --manifests "$work/manifests" --path /v1/partners/hmac-demo/events \
    --body '{"type":"citizen.rating","data":{"stars":5}}' --format json --count "$events" >"$work/unbound.jsonl"

# The reference: one row per FULL commit, as a naive inbox would do it, on the same disk.
naive=$(python3 - "$work/naive.db" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=FULL")
db.execute("CREATE TABLE event (id INTEGER PRIMARY KEY, body BLOB)")
row = b"x" * 700
start = time.monotonic(); count = 0
while time.monotonic() - start < 3:
    db.execute("BEGIN"); db.execute("INSERT INTO event (body) VALUES (?)", (row,)); db.execute("COMMIT"); count += 1
print(round(count / (time.monotonic() - start)))
PY
)
python3 - "$work/unbound.jsonl" "$work/bare.jsonl" <<'PY'
import json, sys
with open(sys.argv[1]) as source, open(sys.argv[2], "w") as target:
    for line in source:
        request = json.loads(line)
        request["path"] = "/bench/fixed"
        target.write(json.dumps(request) + "\n")
PY
bare=$(taskset -c 1 $bin/citygate-client-bench "http://127.0.0.1:$gateway" "$concurrency" 600 --requests "$work/bare.jsonl")
echo "bare server, the same bytes to POST /bench/fixed: $bare"
unbound=$(taskset -c 1 $bin/citygate-client-bench "http://127.0.0.1:$gateway" "$concurrency" 600 --requests "$work/unbound.jsonl")
echo "phase 1, unbound (acceptance only): $unbound"
start=$(date +%s.%N)
result=$(taskset -c 1 $bin/citygate-client-bench "http://127.0.0.1:$gateway" "$concurrency" 600 --requests "$work/events.jsonl")
accepted_at=$(date +%s.%N)
echo "phase 2, bound (delivery running): $result"
admin="Authorization: Bearer $(cat mocks/keys/admin.token)"
while true; do
    delivered=$(curl -s -H "$admin" "http://127.0.0.1:$ops/admin/deliveries?limit=1" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["counts"]["delivered"])')
    [ "$delivered" -ge "$events" ] && break
    sleep 0.2
done
done_at=$(date +%s.%N)
rps=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['requestsPerSecond'])" "$result")
alone=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['requestsPerSecond'])" "$unbound")
echo "naive ceiling (one event per FULL commit, same disk, no HTTP): $naive events/s"
echo "durable acceptance (FULL, group commit), acceptance only: $alone events/s; with delivery running: $rps events/s ($concurrency in flight)"
awk -v a="$alone" -v b="$naive" 'BEGIN { printf "ratio acceptance / naive fsync ceiling: %.2f\n", a/b }'
bare_rps=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['requestsPerSecond'])" "$bare")
awk -v a="$alone" -v b="$bare_rps" 'BEGIN { printf "ratio acceptance / bare server on the same bytes: %.2f (target >= 0.30)\n", a/b }'
awk -v s="$start" -v d="$done_at" -v n="$events" 'BEGIN {
    printf "acknowledged to delivered: %d events in %.2f s from the first send = %.0f events/s end to end\n", n, d-s, n/(d-s) }'
