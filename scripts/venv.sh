#!/usr/bin/env bash
# Creates .build/venv with the Python packages the interop tests use, once per requirements change.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.build/venv
stamp="$venv/.requirements.sha256"
want=$(sha256sum Tests/Interop/requirements.txt | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then exit 0; fi
python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check -r Tests/Interop/requirements.txt
echo "$want" >"$stamp"
