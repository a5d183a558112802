#!/usr/bin/env bash
# Benchmarks of "hotfix install" (see BENCHMARKS.md, "client install"):
#
#  1. A fix of 1000 files of about 4 KB: "hotfix install --yes" against
#     "tar -xf" of the same archive (zstd since issue 10) into an empty directory, timed by
#     hyperfine in one run, with the ratio (aim: at most 3x; hotfix fsyncs
#     every file, tar does not).
#  2. Peak memory (maximum RSS, /usr/bin/time -v) installing a fix of
#     500 MB (aim: under 64 MiB).
#
# Inputs are generated once and cached under bench/out/ (git-ignored); the
# 500 MB archive takes a few minutes to pack with Go's xz the first time.
# Usage: bench/install.sh [RUNS]   (default 10 hyperfine runs)
set -euo pipefail

cd "$(dirname "$0")/.."
top=$PWD
out=$top/bench/out
runs=${1:-10}
mkdir -p "$out"

need() {
	command -v "$1" >/dev/null && return
	echo "installing $2" >&2
	apt-get install -y -q "$2" >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q "$2" >/dev/null; }
}
need hyperfine hyperfine
need jq jq
need xz xz-utils
[ -x /usr/bin/time ] || need /usr/bin/time time

echo "== building hotfix"
go build -o "$out/hotfix" .
hf=$out/hotfix
secret=$top/testdata/keys/vendor.sec.asc
public=$top/testdata/keys/vendor.pub.asc

# make_fix NAME VERSION GENERATOR: writes the fix source $out/NAME/src with
# GENERATOR (run in src/files), packs it, and builds a signed repository
# $out/NAME/repo. Skipped when the repository exists already.
make_fix() {
	local name=$1 version=$2 gen=$3 dir=$out/$1
	if [ -f "$dir/repo/repo.json.asc" ]; then
		echo "== $name: cached in $dir"
		return
	fi
	echo "== $name: generating"
	rm -rf "$dir"
	mkdir -p "$dir/src/files" "$dir/packed" "$dir/repo"
	printf 'product = "bench"\nversion = "%s"\nsummary = "benchmark fix %s"\n' "$version" "$name" >"$dir/src/fix.toml"
	(cd "$dir/src/files" && $gen)
	echo "== $name: packing"
	local t0=$SECONDS
	"$hf" pack "$dir/src" --out "$dir/packed" >/dev/null
	echo "   packed in $((SECONDS - t0)) s: $(du -h "$dir"/packed/*.fix | cut -f1)"
	"$hf" repo add "$dir/repo" "$dir"/packed/*.fix >/dev/null
	"$hf" repo build "$dir/repo" --key "$secret" >/dev/null
}

# 1000 files of 2-6 KB of varied text in 25 directories, as source code.
gen_1000() {
	awk 'BEGIN {
		srand(1000)
		split("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango", w, " ")
		for (d = 0; d < 25; d++) system("mkdir -p app/m" sprintf("%02d", d))
		for (i = 0; i < 1000; i++) {
			f = sprintf("app/m%02d/f%04d.php", i % 25, i)
			n = 2048 + int(rand() * 4096)
			for (len = 0; len < n; len += length(s) + 1) {
				s = w[1 + int(rand() * 20)]
				if (rand() < 0.08) s = s " " int(rand() * 1e9)
				printf "%s%s", s, (rand() < 0.1 ? "\n" : " ") > f
			}
			close(f)
		}
	}'
}

# 500 MB: five files of 100 MiB, each a different block of 1 MiB of random
# bytes repeated. Random or log-like data would be more realistic, but
# Go's xz packs it at under 1 MB/s here (500 MB: a quarter of an hour or
# more), while this packs in seconds. Install memory does not depend on the
# content: the xz dictionary is 8 MiB whatever the data, and every copy
# streams through fixed buffers.
gen_500m() {
	mkdir -p data
	for i in 1 2 3 4 5; do
		head -c 1M /dev/urandom >block
		for _ in $(seq 100); do cat block; done >"data/blob$i.bin"
	done
	rm block
}

make_fix fix1000 1.0.1 gen_1000
make_fix fix500m 1.0.1 gen_500m

# setup NAME: a client configuration $out/NAME/run/hotfix.toml whose root
# holds only VERSION, with the archive already downloaded (a nightly run
# downloads ahead; what is measured is the install).
setup() {
	local run=$out/$1/run
	rm -rf "$run"
	mkdir -p "$run/root"
	echo 1.0 >"$run/root/VERSION"
	cat >"$run/hotfix.toml" <<EOF
repo = "file://$out/$1/repo"
product = "bench"
root = "$run/root"
version_file = "$run/root/VERSION"
trusted_keys = "$public"
state_dir = "$run/state"
cache_dir = "$run/cache"
log_dir = "$run/log"
lock_dir = "$run/lock"
EOF
	"$hf" --config "$run/hotfix.toml" download >/dev/null
}
reset="rm -rf ROOT STATE LOG && mkdir ROOT && echo 1.0 > ROOT/VERSION"

echo
echo "== 1000 files: hotfix install vs tar -xf ($runs runs each)"
setup fix1000
run=$out/fix1000/run
archive=$(ls "$out"/fix1000/packed/*.fix)
prep=${reset//ROOT/$run/root}
prep=${prep//STATE/$run/state}
prep=${prep//LOG/$run/log}
hyperfine --style basic --warmup 1 --runs "$runs" --export-json "$out/install1000.json" \
	--prepare "$prep" -n "hotfix install" "$hf --config $run/hotfix.toml install --yes" \
	--prepare "rm -rf $out/tarx && mkdir $out/tarx" -n "tar -xf" "tar -xf $archive -C $out/tarx"
ratio=$(jq -r '(.results[0].mean / .results[1].mean * 100 | round) / 100' "$out/install1000.json")
jq -r '.results[] | "   \(.command): mean \(.mean * 1000 | round) ms ± \(.stddev * 1000 | round) ms (min \(.min * 1000 | round), max \(.max * 1000 | round))"' "$out/install1000.json"
echo "   ratio hotfix/tar: ${ratio}x (aim: at most 3x)"

echo
echo "== 500 MB: peak memory of hotfix install"
setup fix500m
run=$out/fix500m/run
/usr/bin/time -v "$hf" --config "$run/hotfix.toml" install --yes 2>"$out/time500m.txt" >/dev/null || {
	cat "$out/time500m.txt" >&2
	exit 1
}
rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out/time500m.txt")
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$out/time500m.txt")
echo "   maximum RSS: $((rss / 1024)) MiB ($rss KiB) (aim: under 64 MiB); wall clock $wall"
archive=$(ls "$out"/fix500m/packed/*.fix)
rm -rf "$out/tarx" && mkdir "$out/tarx"
/usr/bin/time -v tar -xf "$archive" -C "$out/tarx" 2>"$out/time500m-tar.txt"
echo "   tar -xf of the same archive: wall clock $(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$out/time500m-tar.txt")," \
	"maximum RSS $(($(awk -F': ' '/Maximum resident set size/ {print $2}' "$out/time500m-tar.txt") / 1024)) MiB"
rm -rf "$out/tarx" "$run/root" "$run/state"

echo
echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {print int($2/1024) " MiB"}' /proc/meminfo), $(df -T "$out" | awk 'NR == 2 {print $2}') under bench/out, $(go version | cut -d' ' -f3)"
