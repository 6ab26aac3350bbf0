"""Writes the "Latest `make bench`" table of docs/benchmarks.md from the log of one `make bench`
run (bench/run.sh passes it): the machine, the date, the command of each part and every ratio
with its target. The rest of the page (history, profiles, what was tried) is kept as it is.

    python3 bench/report.py BENCH-LOG docs/benchmarks.md
"""
import datetime
import os
import platform
import re
import sys

BEGIN, END = "<!-- make bench: begin -->", "<!-- make bench: end -->"

# (part heading in the log, what, pattern of the ratio line, target as text, check)
RATIOS = [
    ("HTTP server", "bare server vs nginx, requests/s", r"ratio requests/s citygate/nginx: ([\d.]+)", "≥ 0.85", lambda v: v >= 0.85),
    ("HTTP server", "bare server vs nginx, p99", r"ratio p99 citygate/nginx:\s+([\d.]+)", "≤ 2.0", lambda v: v <= 2.0),
    ("TLS", "TLS keep-alive vs nginx, requests/s", r"ratio keepalive citygate/nginx: ([\d.]+)", "≥ 0.70", lambda v: v >= 0.70),
    ("TLS", "TLS new handshakes vs nginx, handshakes/s", r"ratio handshake citygate/nginx: ([\d.]+)", "≥ 0.70", lambda v: v >= 0.70),
    ("outbound client", "HTTPClient vs plain C over the same libcurl", r"ratio HTTPClient/C libcurl: ([\d.]+)", "≥ 0.90", lambda v: v >= 0.90),
    ("full pipeline", "pipeline vs nginx proxying the same backend, requests/s", r"ratio requests/s gateway/nginx: ([\d.]+)", "≥ 0.75", lambda v: v >= 0.75),
    ("full pipeline", "pipeline vs nginx, CPU per call", r"median CPU per call: .* ratio ([\d.]+)", "≤ 2.0", lambda v: v <= 2.0),
    ("full pipeline", "pipeline vs nginx, p99 at saturation", r"ratio p99 gateway/nginx: ([\d.]+)", "≤ 1.5", lambda v: v <= 1.5),
    ("full pipeline", "added p99 over a direct call at half saturation, gateway vs nginx", r"added p99 over direct: .* ratio ([\d.]+)", "≤ 2.0", lambda v: v <= 2.0),
    ("partner events", "event acceptance vs the bare server on the same bytes", r"ratio acceptance / bare server on the same bytes: ([\d.]+)", "≥ 0.30", lambda v: v >= 0.30),
    ("partner events", "event acceptance vs one fsync per event", r"ratio acceptance / naive fsync ceiling: ([\d.]+)", "> 1", lambda v: v > 1),
    ("rate limiter", "pipeline with four limits vs without", r"ratio with/without the limiter: ([\d.]+)", "≥ 0.90", lambda v: v >= 0.90),
    ("shared state", "one instance on Redis and PostgreSQL vs embedded", r"shared / embedded throughput, median of \d+: ([\d.]+)x", "≥ 0.80", lambda v: v >= 0.80),
    ("shared state", "events into PostgreSQL vs pgbench, one client", r"ratio: ([\d.]+)x a one-commit-per-event loop", "> 1", lambda v: v > 1),
    ("connections", "RSS per idle keep-alive connection vs nginx", r"RSS per idle connection: .* ratio ([\d.]+)", "≤ 2.0", lambda v: v <= 2.0),
]

# Lines worth quoting beside the ratios (absolute figures of this run).
FIGURES = [
    r"^median citygate: .*", r"^median nginx: .*", r"^median HTTPClient: .*", r"^median C libcurl: .*",
    r"^median gateway pipeline: .*", r"^median nginx proxy: .*", r"^median CPU per call: .*",
    r"^median latency at half saturation: .*", r"^added p99 over direct: .*",
    r"^work per call: .*", r"^system calls per call: .*",
    r"^durable acceptance .*", r"^bare server, .*", r"^RSS per idle connection: .*",
    r"^citygate\s+RSS .*", r"^nginx\s+RSS .*", r"^shared / embedded .*", r"^requests/s with the idle .*",
]


def machine():
    model = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                memory = f", {int(line.split()[1]) // 1048576} GiB"
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {model}{memory}, Linux {platform.release()}"


def main(log_path, page_path):
    log = open(log_path, encoding="utf-8", errors="replace").read()
    rows = []
    for part, what, pattern, target, check in RATIOS:
        found = re.findall(pattern, log)
        if not found:
            rows.append(f"| {part} | {what} | not measured | {target} | — |")
            continue
        value = float(found[-1])
        rows.append(f"| {part} | {what} | {value:.2f} | {target} | {'met' if check(value) else '**not met**'} |")
    figures = [line for line in log.splitlines() if any(re.match(p, line) for p in FIGURES)]
    today = datetime.date.today().isoformat()
    section = "\n".join(
        [
            BEGIN,
            "## Latest `make bench`",
            "",
            f"Written by `bench/report.py` at the end of `make bench` (`bench/run.sh`) on {today}; machine: {machine()}.",
            "Each part runs the gateway and its reference in the same run, interleaved, the system under test on",
            "core 0 and the load generator on core 1; every figure is a median of the part's rounds. Commands:",
            "`bench/http.sh`, `bench/tls.sh`, `bench/client.sh`, `bench/pipeline.sh`, `bench/counts.sh`, `bench/events.sh`,",
            "`bench/limiter.sh`, `bench/shared.sh`, `bench/connections.sh` (each also runs alone; `BENCH_ROUNDS`",
            "and `BENCH_DURATION` change the rounds and their length).",
            "",
            "| part | ratio | this run | target | |",
            "|---|---|---|---|---|",
            *rows,
            "",
            "Figures of this run:",
            "",
            "```",
            *figures,
            "```",
            END,
        ]
    )
    page = open(page_path, encoding="utf-8").read()
    if BEGIN in page and END in page:
        page = page[: page.index(BEGIN)] + section + page[page.index(END) + len(END) :]
    else:
        title, _, rest = page.partition("\n")
        page = title + "\n\n" + section + "\n" + rest
    open(page_path, "w", encoding="utf-8").write(page)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
