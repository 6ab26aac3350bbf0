#!/usr/bin/env bash
# `make run TLS=1` and `make bench`: a throwaway CA in DIR (default .build/tls-demo) with a server
# certificate for 127.0.0.1/localhost and a client certificate for the webhooks-demo partner, and
# a copy of the sample manifests that serves TLS with them and pins that client certificate.
# Everything here is for demonstrations and benchmarks only; never use these keys elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-.build/tls-demo}
rm -rf "$dir"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
cd "$dir"
ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
openssl req -x509 "${ec[@]}" -days 30 -subj "/CN=CityGate Demo CA" -keyout ca.key -out ca.pem 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >server.ext
openssl req "${ec[@]}" -subj "/CN=127.0.0.1" -keyout server.key -out server.csr 2>/dev/null
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -extfile server.ext \
    -out server.pem 2>/dev/null
openssl req "${ec[@]}" -subj "/O=Demo Partner/CN=webhooks-demo" -keyout webhooks-demo.key -out webhooks-demo.csr 2>/dev/null
openssl x509 -req -in webhooks-demo.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -out webhooks-demo.pem 2>/dev/null
pin=$(openssl x509 -in webhooks-demo.pem -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)
cd - >/dev/null
cp -r manifests "$dir/manifests"
# The partner files reach the demo keys as ../../mocks/keys: keep that path valid from the copy.
ln -s "$(pwd)/mocks" "$dir/mocks"
python3 - "$dir" "$pin" <<'PY'
import json, sys
directory, pin = sys.argv[1], sys.argv[2]
path = directory + "/manifests/gateway.json"
gateway = json.load(open(path))
gateway["tls"] = {"certificate": "file:../server.pem", "key": "file:../server.key", "clientCA": "file:../ca.pem"}
json.dump(gateway, open(path, "w"), indent=2, ensure_ascii=False)
path = directory + "/manifests/partners/webhooks-demo.json"
partner = json.load(open(path))
partner["clientCertificates"] = [{"spkiSha256": pin}]
json.dump(partner, open(path, "w"), indent=2, ensure_ascii=False)
PY
echo "$dir"
