#!/usr/bin/env bash
# bench/add.sh: issue 10's last ratio alone, a fresh "repo add" of N
# archives of SIZE_KB KiB + "repo build" against "openssl dgst -sha256"
# over the same archives (aim: 2x), with the same inputs as bench/pack.sh
# (bench/out/_pack/archives, made once). See BENCHMARKS.md, "archives".
#
# Each add goes into a new empty directory, and the repositories of the
# runs are removed only after the last one: on ext4 without a journal (this
# machine's root) the inode allocator skips inodes freed recently (within
# 60 s, or 360 s while their inode table block is dirty: recently_deleted
# in fs/ext4/ialloc.c), reading each of them for every file it creates, so
# an add run just after "rm -rf" of a thousand files paid for that scan (up
# to 40 % of its CPU in one profile). That case is measured too ("after rm
# -rf"), for comparison with the figures recorded before.
#
# "cp + sync" is the floor of any copy: stock cp of the same archives into
# a new directory and one sync, no verification at all.
#
# Usage: bench/add.sh      (RUNS=5 N=1000 SIZE_KB=256 override; REPOS=DIR
#                           puts the repositories on another file system,
#                           e.g. a journaled ext4 or an xfs mount)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
RUNS=${RUNS:-5}
N=${N:-1000}
SIZE_KB=${SIZE_KB:-256}
out=$top/bench/out/_pack
secret=$top/testdata/keys/vendor.sec.asc
repos=${REPOS:-$out}
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine >/dev/null
command -v jq >/dev/null || apt-get install -y -qq jq >/dev/null
. bench/lib.sh
bench_archives "$out" "$N"
hf=$HOTFIX
list=$out/archives.list
for i in $(seq 1 "$N"); do echo "$out/archives/bench-1.0.$i.fix"; done >"$list"
cat $(cat "$list") >/dev/null # warm the page cache, as openssl finds it

echo "== repo add of $N archives of $SIZE_KB KiB + repo build ($RUNS runs), repositories on $(df --output=fstype "$repos" | tail -1), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
# Earlier runs' repositories are moved aside, not removed, so that the
# first add does not meet their freed inodes (see above).
mkdir -p "$repos/trash"
mv "$repos"/brepo.* "$repos"/cpcopy.* "$repos/trash/" 2>/dev/null || true
rm -f "$out/brepo" "$out/cpcopy"
# --prepare points $out/brepo at a new empty directory (a symlink, so the
# command line stays the same).
hyperfine --style basic --runs "$RUNS" --export-json "$out/add.json" \
	--prepare "ln -sfn \$(mktemp -d $repos/brepo.XXXXXX) $out/brepo" \
	-n "add + build, fresh directory" "$hf -q repo add $out/brepo/ \$(cat $list) >/dev/null && $hf -q repo build $out/brepo/ --key $secret >/dev/null" \
	--prepare "rm -rf $out/brepo $repos/brepo.* && mkdir $out/brepo" \
	-n "add + build, after rm -rf" "$hf -q repo add $out/brepo \$(cat $list) >/dev/null && $hf -q repo build $out/brepo --key $secret >/dev/null" \
	--prepare "true" \
	-n "openssl dgst -sha256" "openssl dgst -sha256 \$(cat $list) >/dev/null" \
	--prepare "ln -sfn \$(mktemp -d $repos/cpcopy.XXXXXX) $out/cpcopy" \
	-n "cp + sync" "cp \$(cat $list) $out/cpcopy/ && sync" >/dev/null
rm -rf "$out"/brepo "$out"/cpcopy "$repos"/brepo.* "$repos"/cpcopy.* "$repos/trash"
jq -r '.results[] | "   \(.command): \(.mean * 1000 | round) ms ± \(.stddev * 1000 | round), min \(.min * 1000 | round) (user \(.user * 1000 | round), system \(.system * 1000 | round))"' "$out/add.json"
for i in 0 1 3; do
	aim="[aim <= 2]"
	[ "$i" = 3 ] && aim="(the copy alone, unverified)"
	jq -r --argjson a "$i" --arg aim "$aim" '"   \(.results[$a].command) / openssl: mean \((.results[$a].mean / .results[2].mean * 100 | round) / 100)x, min \((.results[$a].min / .results[2].min * 100 | round) / 100)x  \($aim)"' "$out/add.json"
done
echo "machine: $(nproc) CPUs, load after: $(cut -d' ' -f1-3 /proc/loadavg), $(go version | cut -d' ' -f3), commit $(git rev-parse --short HEAD)"
