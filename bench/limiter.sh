#!/usr/bin/env bash
# `make bench`, limiter part: the full pipeline with four rate limits on every call (partner at
# city and service level, operation, client IP; all far above the load, so none refuses) against
# the same pipeline with no limits, alternating runs of bench/pipeline.sh. Reports the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
export BENCH_ROUNDS=${BENCH_ROUNDS:-2} BENCH_DURATION=${BENCH_DURATION:-5}
export BENCH_PIPELINE_REQUESTS=${BENCH_PIPELINE_REQUESTS:-80000}
# Throughput only: the latency phase of bench/pipeline.sh is not needed here.
export BENCH_LATENCY_ROUNDS=0
on=(); off=()
for round in 1 2; do
    on+=("$(BENCH_LIMITS=on bench/pipeline.sh | awk '/^median gateway pipeline/ {print $4}')")
    off+=("$(BENCH_LIMITS=off bench/pipeline.sh | awk '/^median gateway pipeline/ {print $4}')")
done
with=$(printf '%s\n' "${on[@]}" | median); without=$(printf '%s\n' "${off[@]}" | median)
echo "pipeline with 4 limits per call: $with req/s (runs: ${on[*]})"
echo "pipeline without limits:         $without req/s (runs: ${off[*]})"
awk -v a="$with" -v b="$without" 'BEGIN { printf "ratio with/without the limiter: %.2f\n", a/b }'
