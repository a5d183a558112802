#!/usr/bin/env bash
# bench/repo.sh: how fast "hotfix repo build" is against the hashing floor.
#
#   fresh:        hotfix repo build over N fix archives (default 1000 x ~1 MiB,
#                 about 1 GB) with no catalog and no index, against
#                 openssl dgst -sha256 over the same files (single core).
#   incremental:  hotfix repo add of one more fix + hotfix repo build.
#
# The archives are made once with the real "hotfix pack" (incompressible
# payloads, so the sizes are real) into bench/out/ and reused when present:
# Go's xz packs about 1-7 MB/s per core, so the first run takes minutes.
# Results are printed as ratios; hyperfine's JSON lands in bench/out/.
#
# Usage: bench/repo.sh            (N=1000 SIZE_KB=1024 RUNS=5 override)
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-1000}
SIZE_KB=${SIZE_KB:-1024}
RUNS=${RUNS:-5}
OUT=bench/out
KEY=testdata/keys/vendor.sec.asc
EXTRA=$((N + 1)) # the fix added in the incremental case

if ! command -v hyperfine >/dev/null; then
	SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq hyperfine >/dev/null
fi
command -v openssl >/dev/null || { echo "bench: openssl is required" >&2; exit 1; }

. bench/lib.sh
bench_archives "$OUT" "$EXTRA"

# The repository: archives 1..N, added once.
REPO=$OUT/repo
CH=$REPO/bench/1.0
if [ ! -f "$CH/bench-1.0.$N.fix" ]; then
	rm -rf "$REPO" && mkdir -p "$REPO"
	"$HOTFIX" repo add "$REPO" $(for i in $(seq 1 "$N"); do echo "$OUT/archives/bench-1.0.$i.fix"; done) >/dev/null
fi
rm -f "$CH/bench-1.0.$EXTRA.fix"
bytes=$(du -cb "$CH"/bench-1.0.*.fix | tail -1 | cut -f1)
echo "repository: $N archives, $((bytes / 1000000)) MB, $(nproc) cores" >&2

CLEAN="rm -f $CH/.catalog $CH/.catalog.json $CH/index.json $CH/index.json.asc $CH/index.html $REPO/repo.json $REPO/repo.json.asc"
hyperfine --runs "$RUNS" --warmup 1 --export-json "$OUT/fresh.json" \
	--prepare "$CLEAN" -n "hotfix repo build (fresh)" "$HOTFIX -q repo build $REPO --key $KEY" \
	--prepare true -n "openssl dgst -sha256" "openssl dgst -sha256 $CH/bench-1.0.*.fix >/dev/null"

# Incremental: the repository is built (catalog present); add one fix and rebuild.
"$HOTFIX" -q repo build "$REPO" --key "$KEY" >/dev/null
hyperfine --runs "$((RUNS * 2))" --warmup 1 --export-json "$OUT/incremental.json" \
	--prepare "rm -f $CH/bench-1.0.$EXTRA.fix" -n "repo add 1 + repo build" \
	"$HOTFIX -q repo add $REPO $OUT/archives/bench-1.0.$EXTRA.fix >/dev/null && $HOTFIX -q repo build $REPO --key $KEY"
rm -f "$CH/bench-1.0.$EXTRA.fix"

python3 - "$OUT/fresh.json" "$OUT/incremental.json" "$bytes" <<'EOF'
import json, sys
fresh = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
inc = json.load(open(sys.argv[2]))["results"][0]
size = int(sys.argv[3])
build, sha = fresh["hotfix repo build (fresh)"], fresh["openssl dgst -sha256"]
print(f"fresh build:       {build['mean']:.3f} s ± {build['stddev']:.3f} ({size / build['mean'] / 1e6:.0f} MB/s)")
print(f"openssl sha256:    {sha['mean']:.3f} s ± {sha['stddev']:.3f} ({size / sha['mean'] / 1e6:.0f} MB/s)")
print(f"ratio build/openssl: {build['mean'] / sha['mean']:.2f}x   (aim: <= 1.0x)")
print(f"incremental (add 1 + build): {inc['mean'] * 1000:.0f} ms ± {inc['stddev'] * 1000:.0f}   (aim: < 100 ms)")
print(f"ratio incremental/fresh: {inc['mean'] / build['mean']:.3f}x")
EOF
