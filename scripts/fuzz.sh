#!/usr/bin/env bash
# Builds every libFuzzer target under Tests/Fuzz and runs each for the given seconds (default
# 600 each) from its committed seed corpus. Findings (crashing inputs) land in Tests/Fuzz/findings/.
# Each target is compiled with swiftc together with the module sources it exercises, because
# SwiftPM renames executable entry points and libFuzzer's main would never run (shared/NOTES.md).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
out=.build/fuzz
mkdir -p "$out" Tests/Fuzz/findings Tests/Fuzz/work

declare -A sources=(
    [ParserFuzzer]="Sources/HTTPCore/*.swift"
    [VerifierHeaderFuzzer]="Sources/CityGate/Verification/SignatureHeaders.swift Sources/CityGate/Verification/FormEncoding.swift"
    [JSONFuzzer]="Sources/CityGate/JSON/*.swift Sources/HTTPCore/JSONText.swift Sources/CityGate/Manifests/AnchoredPattern.swift"
)

status=0
# run_target NAME BINARY: fuzzes from the committed seeds plus what earlier runs found.
run_target() {
    local corpus="Tests/Fuzz/work/$1"
    mkdir -p "$corpus"
    cp -n Tests/Fuzz/corpus/"$1"/* "$corpus"/ 2>/dev/null || true
    echo "== running $1 for ${seconds}s"
    if ! "$2" "$corpus" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
        -artifact_prefix="Tests/Fuzz/findings/$1-" -print_final_stats=1 2>"$out/$1.log"; then
        status=1
        echo "!! $1 found a crash; see Tests/Fuzz/findings/ and $out/$1.log"
    fi
    grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|Done )" "$out/$1.log" || tail -5 "$out/$1.log"
    echo "corpus now: $(ls "$corpus" | wc -l) inputs"
}

for target in "${!sources[@]}"; do
    echo "== building $target"
    # The sources are compiled into one module: imports of the package's own modules go.
    staged="$out/src/$target"
    rm -rf "$staged" && mkdir -p "$staged"
    # shellcheck disable=SC2086
    for file in ${sources[$target]}; do
        sed -E '/^import (HTTPCore|HTTPClient|HTTPServer|Cryptography)$/d' "$file" >"$staged/$(basename "$file")"
    done
    swiftc -O -g -sanitize=fuzzer,address -use-ld=lld -parse-as-library -module-name "$target" \
        "$staged"/*.swift "Tests/Fuzz/$target.swift" -o "$out/$target"
    if compgen -G "Tests/Fuzz/regressions/$target/*" >/dev/null; then
        echo "== replaying past findings of $target"
        "$out/$target" Tests/Fuzz/regressions/"$target"/* 2>"$out/$target.regressions.log" \
            || { echo "!! a past finding of $target fails again"; tail -5 "$out/$target.regressions.log"; exit 1; }
    fi
    run_target "$target" "$out/$target"
done
# Targets that need the package's modules (OpenSSL and all) are built by SwiftPM with the fuzzer
# sanitizer in a separate scratch path, so the normal build never sees -DFUZZING.
for product in citygate-verifier-fuzzer; do
    echo "== building $product"
    swift build --scratch-path .build-fuzz --product "$product" \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld -Xswiftc -DFUZZING >"$out/$product.build.log" 2>&1 \
        || { tail -20 "$out/$product.build.log"; exit 1; }
    run_target "$product" ".build-fuzz/debug/$product"
done
exit $status
