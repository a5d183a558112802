#!/usr/bin/env bash
# bench/publish.sh: "hotfix repo publish" of a 1,000-fix channel to a real
# S3 server (moto, on loopback) against "aws s3 sync" of the same directory
# to the same server.
#
#   first:        an empty bucket prefix; everything goes up.
#   incremental:  one fix added (or removed again) and the repository
#                 rebuilt; only what changed goes up.
#
# aws s3 sync is the baseline a vendor would otherwise use: it compares
# size and modification time (not content) and knows no order. Dot-files
# are excluded from the sync as publish never copies them.
# Archives (N x SIZE_KB KiB of incompressible data, zstd) are packed once
# into bench/out/publish/ and reused. moto runs on one core here and is the
# bottleneck for both tools; the ratio is the point, not the seconds.
#
# Usage: bench/publish.sh            (N=1000 SIZE_KB=64 RUNS=3 override)
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-1000}
SIZE_KB=${SIZE_KB:-64}
RUNS=${RUNS:-3}
OUT=bench/out/publish
KEY=testdata/keys/vendor.sec.asc
EXTRA=$((N + 1))

for tool in moto_server aws python3; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is required (scripts/install-deps.sh)" >&2; exit 1; }
done
. bench/lib.sh
bench_archives "$OUT" "$EXTRA"

REPO=$OUT/repo
CH=$REPO/bench/1.0
rm -rf "$REPO" && mkdir -p "$REPO"
"$HOTFIX" -q repo add "$REPO" $(for i in $(seq 1 "$N"); do echo "$OUT/archives/bench-1.0.$i.fix"; done) >/dev/null
"$HOTFIX" -q repo build "$REPO" --key "$KEY" >/dev/null
files=$(find "$REPO" -type f -not -name '.*' | wc -l)
bytes=$(find "$REPO" -type f -not -name '.*' -printf '%s\n' | awk '{s+=$1} END {print s}')
echo "repository: $N fixes, $files files, $((bytes / 1000000)) MB, $(nproc) cores" >&2

# moto on a free loopback port, test credentials only, no instance metadata.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
	AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN
EP=http://127.0.0.1:$PORT
setsid moto_server -H 127.0.0.1 -p "$PORT" >"$OUT/moto.log" 2>&1 &
MOTO=$!
trap 'kill -- -$MOTO 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do curl -s -o /dev/null "$EP/" && break; sleep 0.1; done
AWS="aws --endpoint-url $EP"

now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.2f}')"; }
median() { tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

pub_first="" sync_first=""
for r in $(seq 1 "$RUNS"); do
	$AWS s3 mb "s3://pub$r" >/dev/null
	$AWS s3 mb "s3://sync$r" >/dev/null
	t0=$(now); "$HOTFIX" -q repo publish "$REPO" "s3://pub$r/repo" --endpoint "$EP"; t1=$(now)
	$AWS s3 sync "$REPO" "s3://sync$r/repo" --exclude '.*' --exclude '*/.*' --only-show-errors; t2=$(now)
	pub_first="$pub_first $(elapsed "$t0" "$t1")"
	sync_first="$sync_first $(elapsed "$t1" "$t2")"
done

# Incremental: alternately add fix N+1 and take it away again (each time
# a rebuild: new serial, new indexes), then bring both copies up to date.
pub_inc="" sync_inc=""
for r in $(seq 1 "$((RUNS * 2))"); do
	if [ -f "$CH/bench-1.0.$EXTRA.fix" ]; then
		rm "$CH/bench-1.0.$EXTRA.fix"
	else
		"$HOTFIX" -q repo add "$REPO" "$OUT/archives/bench-1.0.$EXTRA.fix" >/dev/null
	fi
	"$HOTFIX" -q repo build "$REPO" --key "$KEY" >/dev/null
	t0=$(now); "$HOTFIX" -q repo publish "$REPO" s3://pub1/repo --endpoint "$EP"; t1=$(now)
	$AWS s3 sync "$REPO" s3://sync1/repo --exclude '.*' --exclude '*/.*' --only-show-errors; t2=$(now)
	pub_inc="$pub_inc $(elapsed "$t0" "$t1")"
	sync_inc="$sync_inc $(elapsed "$t1" "$t2")"
done

pf=$(echo $pub_first | median) sf=$(echo $sync_first | median)
pi=$(echo $pub_inc | median) si=$(echo $sync_inc | median)
printf '\n| case | hotfix repo publish | aws s3 sync | sync / publish |\n|---|---|---|---|\n'
printf '| first (%d files, %d MB) | %s s | %s s | %s |\n' "$files" "$((bytes / 1000000))" "$pf" "$sf" "$(python3 -c "print(f'{$sf / $pf:.2f}x')")"
printf '| incremental (1 fix added or removed, rebuilt) | %s s | %s s | %s |\n' "$pi" "$si" "$(python3 -c "print(f'{$si / $pi:.2f}x')")"
printf '\nmedians of %d first and %d incremental runs; all runs: publish first%s; sync first%s; publish incremental%s; sync incremental%s\n' \
	"$RUNS" "$((RUNS * 2))" "$pub_first" "$sync_first" "$pub_inc" "$sync_inc"
