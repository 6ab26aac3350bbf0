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
