#!/usr/bin/env bash
# `make bench`: every benchmark, each comparing against a reference measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
# Everything printed is also kept, and the table at the top of docs/benchmarks.md is written from
# it at the end (bench/report.py).
mkdir -p .build
log=.build/bench.log
exec > >(tee "$log") 2>&1
echo "== HTTP server: citygate vs nginx (GET /bench/fixed, 200-byte JSON)"
bench/http.sh
echo
echo "== TLS: citygate vs nginx terminating TLS with the same certificate (keep-alive and new handshakes)"
bench/tls.sh
echo
echo "== outbound client: HTTPClient vs wrk against nginx"
bench/client.sh
echo
echo "== full pipeline: partner calls through citygate vs nginx proxying the same backend"
bench/pipeline.sh
echo
echo "== work per call: retains, allocations, task switches and system calls of one pipeline call (uprobes; nginx for system calls)"
bench/counts.sh
echo
echo "== partner events: durable acceptance (group commit) vs one fsync per event, then delivery"
bench/events.sh
echo
echo "== rate limiter: the pipeline with and without four limits per call"
bench/limiter.sh
echo
echo "== shared state: one instance on Redis and PostgreSQL vs the same pipeline embedded; events into PostgreSQL vs pgbench"
bench/shared.sh
echo
echo "== connections: 10,000 idle keep-alive connections and 1,000 active, citygate vs nginx"
bench/connections.sh
python3 bench/report.py "$log" docs/benchmarks.md
echo
echo "docs/benchmarks.md: the table of this run is written at the top"
