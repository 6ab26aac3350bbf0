#!/usr/bin/env bash
# `make run`: builds, starts the mock government backends and the gateway on the sample
# manifests, and prints calls to try. Ctrl-C stops both. TLS=1: the public listener speaks TLS
# with a throwaway CA (scripts/tls-demo.sh), and webhooks-demo is known by a client certificate.
set -euo pipefail
cd "$(dirname "$0")/.."
listen=${LISTEN:-127.0.0.1:8080}
ops=${OPS:-127.0.0.1:9090}
swift build -c release >/dev/null
bin=.build/release
tree=manifests
scheme=http
cert=""
if [[ "${TLS:-0}" == 1 ]]; then
    demo=$(scripts/tls-demo.sh .build/tls-demo)
    tree=$demo/manifests
    scheme=https
    cert=" --tls-cert $demo/webhooks-demo.pem --tls-key $demo/webhooks-demo.key"
fi
$bin/citygate validate --manifests "$tree"
$bin/citygate-mock-backends --base-port 18100 >.build/mock-backends.log 2>&1 &
mocks=$!
# The mock partner platforms that receive case pushes and verify them with the platforms' own
# PyPI libraries (standardwebhooks, wechatpy, python-alipay-sdk), from the venv.
scripts/venv.sh >/dev/null
.build/venv/bin/python mocks/partner_receiver.py --port 18110 >.build/partner-receiver.log 2>&1 &
receiver=$!
trap 'kill $mocks $receiver 2>/dev/null || true' EXIT

cat <<TEXT

CityGate is starting: public $scheme://$listen   ops http://$ops
  mock government backends on 127.0.0.1:18100-18106 (log: .build/mock-backends.log)
  mock partner platforms receiving case pushes on 127.0.0.1:18110 (GET /_mock/pushes)

Try, in another terminal (each signed call is fresh: signatures expire after 5 minutes and are
accepted once):$( [[ $scheme == https ]] && printf '%s' "
  # TLS (docs/edge.md): trust the demo CA; webhooks-demo presents its client certificate.
  export CURL_CA_BUNDLE=$demo/ca.pem
  curl -s --cacert $demo/ca.pem https://$listen/healthz
  curl -s --cert $demo/webhooks-demo.pem --key $demo/webhooks-demo.key https://$listen/v1/cities/330100/services
  openssl s_client -connect $listen -CAfile $demo/ca.pem -brief </dev/null" )
  curl -s $scheme://$listen/v1/cities/330100/services
  curl -s $scheme://$listen/v1/cities/330100/services/permit.application
  curl -s http://$ops/readyz
  # Standard Webhooks partner, Hangzhou service-hall queue:
  eval "\$($bin/citygate sign --partner webhooks-demo$cert --url $scheme://$listen --path /v1/cities/330100/services/service-hall.queue/status --body '{"hall":"west-lake"}')"
  # WeChat-style partner (safe mode: the input travels AES-encrypted):
  eval "\$($bin/citygate sign --partner wechat-city --url $scheme://$listen --path /v1/cities/330100/services/service-hall.queue/status --body '{"hall":"citizen-center"}')"
  # Generic HMAC partner, Shenzhen:
  eval "\$($bin/citygate sign --partner hmac-demo --url $scheme://$listen --path /v1/cities/440300/services/service-hall.queue/status --body '{"hall":"futian"}')"
  # A real-name service for a citizen: exchange a partner-signed assertion for a token, then call.
  TOKEN=\$(curl -s$([[ -n $cert ]] && printf %s " --cert $demo/webhooks-demo.pem --key $demo/webhooks-demo.key") -u webhooks-demo-app:\$(cat mocks/keys/webhooks-demo-client.secret) $scheme://$listen/oauth/token \\
    -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange \\
    -d subject_token_type=urn:ietf:params:oauth:token-type:jwt \\
    -d subject_token=\$($bin/citygate assertion --partner webhooks-demo --subject 33010619900101123X --city 330100) \\
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  eval "\$($bin/citygate sign --partner webhooks-demo$cert --url $scheme://$listen --bearer \$TOKEN --path /v1/cities/330100/services/social-security.account/balance --body '{"year":2026}')"
  # A partner event (acknowledged once durably stored, then delivered to the permits backend):
  eval "\$($bin/citygate sign --partner webhooks-demo$cert --url $scheme://$listen --path /v1/partners/webhooks-demo/events --body '{"type":"case.progress","data":{"caseNumber":"330100-2026-000001","stage":"办结"}}')"
  curl -s -H "Authorization: Bearer \$(cat mocks/keys/admin.token)" http://$ops/admin/deliveries
  # A case, end to end (docs/cases.md): apply for a permit as that citizen (the answer has the case
  # number and its working-day deadlines), report progress as the city's approvals backend, and see
  # the push the partner received, verified by the standardwebhooks library; then the case view.
  TOKEN=\$(curl -s$([[ -n $cert ]] && printf %s " --cert $demo/webhooks-demo.pem --key $demo/webhooks-demo.key") -u webhooks-demo-app:\$(cat mocks/keys/webhooks-demo-client.secret) $scheme://$listen/oauth/token \\
    -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange -d scope='permit.write cases.read cases.rate' \\
    -d subject_token_type=urn:ietf:params:oauth:token-type:jwt \\
    -d subject_token=\$($bin/citygate assertion --partner webhooks-demo --subject 33010619900101123X --city 330100) \\
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  CASE=\$(eval "\$($bin/citygate sign --partner webhooks-demo$cert --url $scheme://$listen --bearer \$TOKEN --path /v1/cities/330100/services/permit.application/apply --body '{"applicant":{"name":"张三","idNumber":"33010619900101123X","phone":"13800138000"},"location":"西湖区文三路 100 号","from":"2026-12-10","to":"2026-12-12"}')" | tail -1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["caseNumber"])'); echo \$CASE
  eval "\$($bin/citygate sign --backend 330100/approvals --url $scheme://$listen --path /v1/cities/330100/backends/approvals/cases/\$CASE/events --body '{"id":"evt-1","stage":"accepted","note":"材料齐全，已受理"}')"
  curl -s http://127.0.0.1:18110/_mock/pushes | python3 -m json.tool
  eval "\$($bin/citygate sign --partner webhooks-demo$cert --url $scheme://$listen --bearer \$TOKEN --method GET --path /v1/cities/330100/cases/\$CASE)"
  curl -s -H "Authorization: Bearer \$(cat mocks/keys/admin.token)" "http://$ops/admin/supervision?city=330100&month=\$(TZ=Asia/Shanghai date +%Y-%m)&format=csv"
  # Ningbo (docs/manifests.md): the provident fund's SOAP 1.1 service in GBK with a WS-Security
  # digest, answered as typed JSON; its fault for another citizen's account becomes a 404.
  TOKEN=\$(curl -s$([[ -n $cert ]] && printf %s " --cert $demo/webhooks-demo.pem --key $demo/webhooks-demo.key") -u webhooks-demo-app:\$(cat mocks/keys/webhooks-demo-client.secret) $scheme://$listen/oauth/token \\
    -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange -d scope='housing-fund.read birth.write' \\
    -d subject_token_type=urn:ietf:params:oauth:token-type:jwt \\
    -d subject_token=\$($bin/citygate assertion --partner webhooks-demo --subject 33010619900101123X --city 330200) \\
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  eval "\$($bin/citygate sign --partner webhooks-demo$cert --url $scheme://$listen --bearer \$TOKEN --path /v1/cities/330200/services/housing-fund.account/query --body '{"accountNo":"NB2015080100123","idNumber":"33010619900101123X"}')"
  eval "\$($bin/citygate sign --partner webhooks-demo$cert --url $scheme://$listen --bearer \$TOKEN --path /v1/cities/330200/services/birth.registration/apply --body '{"mother":{"name":"张三","idNumber":"33010619900101123X"},"baby":{"name":"张小宝","gender":"female","birthDate":"2026-11-28"},"hospital":"宁波市妇女儿童医院"}')"
  # Token flow: docs/tokens.md. Events: docs/events.md. Cases: docs/cases.md.

TEXT
$bin/citygate serve --listen "$listen" --ops "$ops" --manifests "$tree" --data .build/citygate-data
