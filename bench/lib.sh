# Helpers shared by the bench scripts (sourced, not run).

# A TCP port free right now on 127.0.0.1.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# The median of numbers on standard input.
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# start_nginx WORKDIR HTTP_BLOCK: one worker pinned to core 0, no access log, long keep-alive.
start_nginx() {
    cat >"$1/nginx.conf" <<NGINX
worker_processes 1;
pid $1/nginx.pid;
error_log $1/nginx-error.log;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    $2
}
NGINX
    taskset -c 0 nginx -c "$1/nginx.conf" -p "$1"
}

# start_mocks WORK: the mock government backends on core 0 (ephemeral ports, listed in
# WORK/mocks.json) and a copy of the sample manifests in WORK/manifests.
start_mocks() {
    taskset -c 0 .build/release/citygate-mock-backends --base-port 0 >"$1/mocks.json" 2>"$1/mocks.log" &
    sleep 1
    cp -r manifests "$1/manifests"
    ln -s "$PWD/mocks" "$1/mocks"
}

# mock_port WORK NAME: the port of one mock backend.
mock_port() { python3 -c "import json; print(json.load(open('$1/mocks.json'))['mockBackends']['$2'])"; }

# cpu_ticks PID...: user + system CPU of the processes so far, in clock ticks (/proc/PID/stat).
cpu_ticks() { local total=0 pid; for pid in "$@"; do total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat"))); done; echo "$total"; }

# ticks_per_request TICKS REQUESTS: CPU microseconds per request.
ticks_per_request() { awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", (n > 0) ? (t * 1e6 / hz / n) : 0 }'; }

# run_wrk URL [HEADER]: wrk on core 1 with $connections connections for $duration s (the caller
# sets both, and $work); prints "requests/s p99-ms".
run_wrk() {
    local header=()
    [ -n "${2:-}" ] && header=(-H "$2")
    taskset -c 1 wrk -t1 -c"$connections" -d"${duration}s" --latency "${header[@]}" "$1" >"$work/wrk.out"
    local rps p99
    rps=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.out")
    p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub("us","",v); v=v/1000} else if (v ~ /ms$/) {sub("ms","",v)} else if (v ~ /s$/) {sub("s","",v); v=v*1000}; print v}' "$work/wrk.out")
    echo "$rps $p99"
}

# pipeline_manifests WORK HALLS_PORT: the sample manifests in WORK/manifests pointed at the mock
# halls backend, with rate limits far above any offered load (a measure of the pipeline, not of
# refusals): one per city, three per service, so each call checks four. BENCH_LIMITS=off removes
# them (bench/limiter.sh compares the two).
pipeline_manifests() {
    python3 - "$1/manifests/cities/330100.json" "$2" <<'PY'
import json, os, sys
path, port = sys.argv[1], sys.argv[2]
limits = os.environ.get("BENCH_LIMITS", "on") != "off"
unlimited = {"limit": 10000000, "period": "1s", "burst": 10000000}
city = json.load(open(path))
city["backends"]["halls"]["baseURL"] = f"http://127.0.0.1:{port}"
city["backends"]["halls"]["maxConnections"] = 256
city["rateLimits"] = [dict(unlimited, scope="partner")] if limits else []
json.dump(city, open(path, "w"))
service_path = path.replace("cities/330100.json", "services/service-hall.queue.json")
service = json.load(open(service_path))
service["rateLimits"] = [dict(unlimited, scope=s) for s in ("partner", "operation", "ip")] if limits else []
json.dump(service, open(service_path, "w"))
PY
}

# The route the pipeline benchmarks call, and nginx's equivalent of it.
pipeline_route=/v1/cities/330100/services/service-hall.queue/status

# start_pipeline_proxy WORK PORT HALLS_PORT: nginx on PORT proxying $pipeline_route to the mock
# halls backend as the gateway maps it (GET, no body), keep-alive to the backend.
start_pipeline_proxy() {
    start_nginx "$1" "upstream halls { server 127.0.0.1:$3; keepalive 64; }
    server {
        listen 127.0.0.1:$2;
        location = $pipeline_route {
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_method GET;
            proxy_pass_request_body off;
            proxy_set_header Content-Length \"\";
            proxy_pass http://halls/halls/west-lake/queue?city=330100;
        }
    }"
}
