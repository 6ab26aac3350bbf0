#!/usr/bin/env bash
# `make run-cluster`: the gateway as a city runs it — three instances sharing Redis and
# PostgreSQL, nginx in front as the load balancer on 127.0.0.1:8080 — with the sample manifests
# and mock backends, and the same calls to try as `make run`. Redis and PostgreSQL are started by
# the scripts the tests use (scripts/redis.sh, scripts/postgres.sh) on loopback, with throwaway
# data in .build/cluster; Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
dir=$root/.build/cluster
redis_port=${REDIS_PORT:-16379}
postgres_port=${POSTGRES_PORT:-15432}
swift build -c release >/dev/null
bin=$root/.build/release

# A fresh tree each time: the cluster's state starts empty, like a new city.
scripts/redis.sh stop "$redis_port" 2>/dev/null || true
scripts/postgres.sh stop "$dir/postgres" 2>/dev/null || true
rm -rf "$dir"
mkdir -p "$dir/keys"
scripts/redis.sh start "$redis_port" "$dir/redis"
scripts/postgres.sh start "$postgres_port" "$dir/postgres"
printf 'redis://127.0.0.1:%s\n' "$redis_port" >"$dir/keys/redis.url"
printf 'postgresql://citygate@127.0.0.1:%s/postgres\n' "$postgres_port" >"$dir/keys/postgres.url"
# Instances that share state share their token signing key, subject salt and issuer (the load
# balancer's address): gateway.json refuses shared state without them.
openssl genpkey -algorithm ed25519 -out "$dir/keys/token-signing.pem" 2>/dev/null
openssl rand -hex 32 >"$dir/keys/subject-salt"
chmod 600 "$dir/keys/"*
cp -r manifests "$dir/manifests"
ln -s "$root/mocks" "$dir/mocks"
python3 - "$dir" <<'PY'
import json, sys
directory = sys.argv[1]
path = directory + "/manifests/gateway.json"
gateway = json.load(open(path))
gateway.pop("listen", None)
gateway.pop("ops", None)
gateway.pop("dataDirectory", None)
gateway["state"] = {"redis": "file:../keys/redis.url", "postgres": "file:../keys/postgres.url",
                    "rateLimits": "fail-open"}
gateway["tokens"] = {"issuer": "http://127.0.0.1:8080", "subjectSalt": "file:../keys/subject-salt",
                     "signingKeys": [{"id": "cluster-1", "privateKey": "file:../keys/token-signing.pem"}]}
json.dump(gateway, open(path, "w"), indent=2, ensure_ascii=False)
PY
"$bin/citygate" validate --manifests "$dir/manifests"

"$bin/citygate-mock-backends" --base-port 18100 >"$dir/mock-backends.log" 2>&1 &
pids=($!)
scripts/venv.sh >/dev/null
.build/venv/bin/python mocks/partner_receiver.py --port 18110 >"$dir/partner-receiver.log" 2>&1 &
pids+=($!)
cleanup() {
    kill "${pids[@]}" 2>/dev/null || true
    [ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null || true
    wait 2>/dev/null || true
    scripts/redis.sh stop "$redis_port" || true
    scripts/postgres.sh stop "$dir/postgres" || true
}
trap cleanup EXIT INT TERM
for index in 1 2 3; do
    "$bin/citygate" serve --listen "127.0.0.1:808$index" --ops "127.0.0.1:909$index" \
        --manifests "$dir/manifests" --data "$dir/data-$index" >"$dir/citygate-$index.log" 2>&1 &
    pids+=($!)
done
for index in 1 2 3; do
    for _ in $(seq 1 100); do
        curl -sf "http://127.0.0.1:909$index/readyz" >/dev/null 2>&1 && break
        sleep 0.1
    done
    curl -sf "http://127.0.0.1:909$index/readyz" >/dev/null || {
        echo "instance $index did not become ready:" >&2
        tail -5 "$dir/citygate-$index.log" >&2
        exit 1
    }
done
# nginx in front: round-robin over the three, an instance failing /readyz-worthy errors skipped.
cat >"$dir/nginx.conf" <<NGINX
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log;
events { worker_connections 4096; }
http {
    access_log $dir/nginx-access.log;
    client_max_body_size 16m;
    upstream citygate {
        server 127.0.0.1:8081 max_fails=3 fail_timeout=5s;
        server 127.0.0.1:8082 max_fails=3 fail_timeout=5s;
        server 127.0.0.1:8083 max_fails=3 fail_timeout=5s;
        keepalive 64;
    }
    server {
        listen 127.0.0.1:8080;
        location / {
            proxy_pass http://citygate;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$remote_addr;
            proxy_next_upstream error timeout;
        }
    }
}
NGINX
nginx -c "$dir/nginx.conf" -p "$dir"

cat <<TEXT

CityGate cluster: nginx http://127.0.0.1:8080 in front of three instances
  instances: public 127.0.0.1:8081-8083, ops http://127.0.0.1:9091-9093 (logs: $dir/citygate-N.log)
  shared state: Redis 127.0.0.1:$redis_port (replay window, rate limits, reload notice), PostgreSQL 127.0.0.1:$postgres_port
    (event inbox with delivery leases, tokens, revocations, delegations, idempotency keys, cases,
    one audit chain sealed by each instance's own key)
    psql postgresql://citygate@127.0.0.1:$postgres_port/postgres
  mock government backends on 127.0.0.1:18100-18106, partner platforms on 18110

Every call of \`make run\` works here through http://127.0.0.1:8080 (run \`make run\` once to see
them all); for instance:
  curl -s http://127.0.0.1:8080/v1/cities/330100/services
  for i in 1 2 3; do curl -s http://127.0.0.1:909\$i/readyz; echo; done
  eval "\$($bin/citygate sign --partner webhooks-demo --url http://127.0.0.1:8080 --path /v1/cities/330100/services/service-hall.queue/status --body '{"hall":"west-lake"}')"
  # A token from one instance, used on the others (nginx spreads the calls):
  TOKEN=\$(curl -s -u webhooks-demo-app:\$(cat mocks/keys/webhooks-demo-client.secret) http://127.0.0.1:8080/oauth/token \\
    -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange \\
    -d subject_token_type=urn:ietf:params:oauth:token-type:jwt \\
    -d subject_token=\$($bin/citygate assertion --partner webhooks-demo --subject 33010619900101123X --city 330100) \\
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  for i in 1 2 3; do eval "\$($bin/citygate sign --partner webhooks-demo --url http://127.0.0.1:8080 --bearer \$TOKEN --path /v1/cities/330100/services/social-security.account/balance --body '{"year":2026}')"; done
  # Events land in the shared inbox; any instance delivers them:
  eval "\$($bin/citygate sign --partner webhooks-demo --url http://127.0.0.1:8080 --path /v1/partners/webhooks-demo/events --body '{"type":"case.progress","data":{"caseNumber":"330100-2026-000001","stage":"办结"}}')"
  psql postgresql://citygate@127.0.0.1:$postgres_port/postgres -c 'SELECT id, state, lease_owner FROM citygate_event'
  # One audit chain for all three, checked against each instance's public key:
  $bin/citygate audit verify --postgres file:$dir/keys/postgres.url \
    --public-key $dir/data-1/audit-signing-key.pub --public-key $dir/data-2/audit-signing-key.pub \
    --public-key $dir/data-3/audit-signing-key.pub
  # Kill one instance: nginx moves on, the others take over its leased deliveries.
  kill -9 \$(pgrep -f 'citygate serve --listen 127.0.0.1:8082')

TEXT
echo "Ctrl-C stops the cluster."
wait "${pids[2]}"
