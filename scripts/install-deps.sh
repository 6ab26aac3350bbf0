#!/usr/bin/env bash
# Installs the Debian packages CityGate builds and tests with, only those that are missing.
# Idempotent: a machine that has them all runs no apt-get at all.
set -euo pipefail

packages=(libcurl4-openssl-dev libssl-dev libsqlite3-dev libhiredis-dev libpq-dev curl python3-venv nginx)
for extra in "$@"; do packages+=("$extra"); done

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: need root to install ${missing[*]} (or install them yourself)" >&2
    exit 1
fi
# A new machine's package lists can be empty or stale: update once before installing.
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
