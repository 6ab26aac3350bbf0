#!/usr/bin/env bash
# `make run`: builds, starts the mock government backends and the gateway on the sample
# manifests, and prints calls to try. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
listen=${LISTEN:-127.0.0.1:8080}
ops=${OPS:-127.0.0.1:9090}
swift build -c release >/dev/null
bin=.build/release
$bin/citygate validate --manifests manifests
$bin/citygate-mock-backends --base-port 18100 >.build/mock-backends.log 2>&1 &
mocks=$!
trap 'kill $mocks 2>/dev/null || true' EXIT

cat <<TEXT

CityGate is starting: public http://$listen   ops http://$ops
  mock government backends on 127.0.0.1:18100-18104 (log: .build/mock-backends.log)

Try, in another terminal (each signed call is fresh: signatures expire after 5 minutes and are
accepted once):
  curl -s http://$listen/v1/cities/330100/services
  curl -s http://$listen/v1/cities/330100/services/permit.application
  curl -s http://$ops/readyz
  # Standard Webhooks partner, Hangzhou service-hall queue:
  eval "\$($bin/citygate sign --partner webhooks-demo --url http://$listen --path /v1/cities/330100/services/service-hall.queue/status --body '{"hall":"west-lake"}')"
  # WeChat-style partner (safe mode: the input travels AES-encrypted):
  eval "\$($bin/citygate sign --partner wechat-city --url http://$listen --path /v1/cities/330100/services/service-hall.queue/status --body '{"hall":"citizen-center"}')"
  # Generic HMAC partner, Shenzhen:
  eval "\$($bin/citygate sign --partner hmac-demo --url http://$listen --path /v1/cities/440300/services/service-hall.queue/status --body '{"hall":"futian"}')"
  # A real-name service for a citizen: exchange a partner-signed assertion for a token, then call.
  TOKEN=\$(curl -s -u webhooks-demo-app:\$(cat mocks/keys/webhooks-demo-client.secret) http://$listen/oauth/token \\
    -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange \\
    -d subject_token_type=urn:ietf:params:oauth:token-type:jwt \\
    -d subject_token=\$($bin/citygate assertion --partner webhooks-demo --subject 33010619900101123X --city 330100) \\
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  eval "\$($bin/citygate sign --partner webhooks-demo --url http://$listen --bearer \$TOKEN --path /v1/cities/330100/services/social-security.account/balance --body '{"year":2026}')"
  # A partner event (acknowledged once durably stored, then delivered to the permits backend):
  eval "\$($bin/citygate sign --partner webhooks-demo --url http://$listen --path /v1/partners/webhooks-demo/events --body '{"type":"case.progress","data":{"caseNumber":"330100-2026-000001","stage":"办结"}}')"
  curl -s -H "Authorization: Bearer \$(cat mocks/keys/admin.token)" http://$ops/admin/deliveries
  # Token flow: docs/tokens.md. Events: docs/events.md.

TEXT
$bin/citygate serve --listen "$listen" --ops "$ops" --manifests manifests --data .build/citygate-data
