#!/usr/bin/env bash
# bench/fleet.sh: a fleet of N simulated servers (default 2000) checking one
# repository, served by "hotfix serve" and by nginx (see BENCHMARKS.md,
# "Fleet"). The clients are goroutines of bench/fleet running the real
# client code, each with its own state and cache directories; not N
# processes. Per server, three phases over the same client directories:
#
#   cold       every client at once, first run: index, signature and the
#              one pending archive (2,000 concurrent connections)
#   unchanged  every client at once, checks again: two 304s each
#   night      a new fix is published; the clients check with random_wait
#              1 h compressed into SPREAD: new index, signature and the new
#              archive (the old one is in the cache), peak rate shown
#
# It prints requests/s, bytes per client per check, p50/p99 latency of one
# check, errors, the requests each server logged, and the peak RSS and
# connections of "hotfix serve". Only 127.0.0.1. Under 5 minutes.
#
# Usage: bench/fleet.sh          (N=2000 SIZE_KB=256 SPREAD=30s override)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

N=${N:-2000}
SIZE_KB=${SIZE_KB:-256}
SPREAD=${SPREAD:-30s}
OUT=$top/bench/out/fleet
KEY=$top/testdata/keys/vendor.sec.asc
PUB=$top/testdata/keys/vendor.pub.asc

if ! command -v nginx >/dev/null; then
	SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nginx-light >/dev/null
fi
command -v ss >/dev/null || { echo "bench: ss (iproute2) is required" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)" # 2,000 clients and their connections, on both ends

rm -rf "$OUT" && mkdir -p "$OUT"
go build -o "$OUT/hotfix" . && go build -o "$OUT/fleet" ./bench/fleet
hf=$OUT/hotfix

# fix VERSION: a fix of one SIZE_KB incompressible payload, added to the
# repository and the repository rebuilt (a new serial, as on a release night).
fix() {
	local v=$1 src=$OUT/src-$1
	mkdir -p "$src/files/lib" "$OUT/packed"
	head -c "$((SIZE_KB * 1024))" /dev/urandom >"$src/files/lib/payload-$v.bin"
	printf 'product = "bench"\nversion = "%s"\nsummary = "fleet fix %s"\n' "$v" "$v" >"$src/fix.toml"
	"$hf" -q pack "$src" --out "$OUT/packed" >/dev/null
	"$hf" repo add "$OUT/repo" "$OUT/packed/bench-$v.fix" >/dev/null
	"$hf" -q repo build "$OUT/repo" --key "$KEY" >/dev/null
}
mkdir -p "$OUT/repo"
fix 1.0.1

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# hotfix serve, its access log counted per phase.
"$hf" serve "$OUT/repo" --addr 127.0.0.1:0 >"$OUT/serve.out" 2>"$OUT/serve.log" &
serve_pid=$!
pids+=("$serve_pid")
for _ in $(seq 50); do grep -q serving "$OUT/serve.out" && break; sleep 0.1; done
serve_url=$(sed -n 's|.* on \(http://[^ ]*\)/$|\1|p' "$OUT/serve.out")
[ -n "$serve_url" ] || { echo "bench: hotfix serve did not start" >&2; exit 1; }

# nginx on a free loopback port, its own prefix, master process in front.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$OUT/nginx/logs"
cat >"$OUT/nginx/nginx.conf" <<CONF
$([ "$(id -u)" -eq 0 ] && echo "user root;")
worker_processes 1;
worker_rlimit_nofile 20000;
daemon off;
pid $OUT/nginx/nginx.pid;
error_log $OUT/nginx/logs/error.log;
events { worker_connections 8192; }
http {
	access_log $OUT/nginx/logs/access.log;
	sendfile on;
	keepalive_requests 10000;
	types { application/octet-stream fix; application/json json; }
	server { listen 127.0.0.1:$port; root $OUT/repo; }
}
CONF
nginx -p "$OUT/nginx" -c "$OUT/nginx/nginx.conf" &
pids+=("$!")
for _ in $(seq 50); do curl -fsS -o /dev/null "http://127.0.0.1:$port/repo.json" 2>/dev/null && break; sleep 0.1; done
nginx_url=http://127.0.0.1:$port

# phase NAME URL LOG ARGS...: one fleet run, then the requests the server
# logged during it.
phase() {
	local name=$1 url=$2 log=$3; shift 3
	local before; before=$(wc -l <"$log")
	"$OUT/fleet" -url "$url" -n "$N" -keys "$PUB" -label "$name" "$@"
	echo "$(printf '%-22s' "$name") server logged $(($(wc -l <"$log") - before)) requests"
}

# Peak established connections to hotfix serve, sampled every 0.1 s while
# the cold phase runs (bounded: stops with the phase, or after 4 minutes).
sport=${serve_url##*:}
(for _ in $(seq 2400); do ss -Htn state established "( sport = :$sport )" | wc -l; sleep 0.1; done) >"$OUT/conns" &
sampler=$!
pids+=("$sampler")

echo "== $N clients, archive ${SIZE_KB} KiB, random_wait 1h -> $SPREAD"
phase "serve cold" "$serve_url" "$OUT/serve.log" -work "$OUT/c-serve" -phase download
kill "$sampler" 2>/dev/null || true
phase "serve unchanged" "$serve_url" "$OUT/serve.log" -work "$OUT/c-serve" -phase check
phase "nginx cold" "$nginx_url" "$OUT/nginx/logs/access.log" -work "$OUT/c-nginx" -phase download
phase "nginx unchanged" "$nginx_url" "$OUT/nginx/logs/access.log" -work "$OUT/c-nginx" -phase check
fix 1.0.2
phase "serve night" "$serve_url" "$OUT/serve.log" -work "$OUT/c-serve" -phase download -spread "$SPREAD"
phase "nginx night" "$nginx_url" "$OUT/nginx/logs/access.log" -work "$OUT/c-nginx" -phase download -spread "$SPREAD"

echo "hotfix serve: peak RSS $(awk '/VmHWM/ {print $2, $3}' /proc/"$serve_pid"/status), RSS now $(awk '/VmRSS/ {print $2, $3}' /proc/"$serve_pid"/status), peak established connections $(sort -n "$OUT/conns" | tail -1)"
echo "archives: $(stat -c '%n %s' "$OUT"/packed/*.fix | sed "s|$OUT/packed/||" | tr '\n' ' ')"
