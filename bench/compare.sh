#!/usr/bin/env bash
# bench/compare.sh OLD [NEW]: the same bench/ workloads, run by two builds of
# hotfix side by side in one hyperfine run each, printed as NEW/OLD ratios.
# Made for refactorings that must not slow anything down (the renovation's
# aim: no case more than 5 % slower). OLD and NEW are git revisions (NEW
# defaults to the work tree). Inputs are made once with the OLD binary, so
# both read the very same bytes:
#
#   pack        hotfix pack of a 1000-file source fix (bench/install.sh's)
#   build       fresh repo build of N archives of SIZE_KB (bench/repo.sh's)
#   incremental repo add of one more archive + repo build
#   rpmbuild    fresh repo build of M small signed RPMs (bench/createrepo.sh's)
#   install     install --yes of the 1000-file fix from a warm cache
#
# Each case runs in both orders (see run); the last column is what counts.
#
# Usage: bench/compare.sh 4dc6d97        (N=300 SIZE_KB=256 M=400 RUNS=10)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
OLD=${1:?usage: bench/compare.sh OLD [NEW]}
NEW=${2:-}
N=${N:-300}
SIZE_KB=${SIZE_KB:-256}
M=${M:-400}
RUNS=${RUNS:-10}
out=$top/bench/out/compare
key=$top/testdata/keys/vendor.sec.asc
pub=$top/testdata/keys/vendor.pub.asc
export SOURCE_DATE_EPOCH=1714564800
command -v hyperfine >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null; }
command -v jq >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq >/dev/null; }
mkdir -p "$out"

# build REV DEST: the hotfix binary of a revision (empty: the work tree).
build() {
	if [ -z "$1" ]; then go build -o "$2" . && return; fi
	local wt; wt=$(mktemp -d)
	git worktree add -q --detach "$wt" "$1"
	(cd "$wt" && go build -o "$2" .)
	git worktree remove --force "$wt"
}
old=$out/hotfix-old new=$out/hotfix-new
build "$OLD" "$old"
build "$NEW" "$new"
echo "old: $OLD, new: ${NEW:-work tree at $(git rev-parse --short HEAD)}" >&2

# Inputs, made once with the old binary.
src=$out/src
if [ ! -f "$out/archives/bench-1.0.$((N + 1)).fix" ]; then
	rm -rf "$src" "$out/archives" && mkdir -p "$src" "$out/archives"
	for i in $(seq 1 $((N + 1))); do
		mkdir -p "$src/$i/files/lib"
		head -c $((SIZE_KB * 1024)) /dev/urandom >"$src/$i/files/lib/payload-$i.bin"
		printf 'product = "bench"\nversion = "1.0.%d"\nsummary = "benchmark fix %d"\n' "$i" "$i" >"$src/$i/fix.toml"
	done
	seq 1 $((N + 1)) | xargs -P "$(nproc)" -I{} "$old" -q pack "$src/{}" --out "$out/archives" >/dev/null
fi
if [ ! -f "$out/rpms/done" ]; then
	rm -rf "$out/rsrc" "$out/rpms" && mkdir -p "$out/rsrc" "$out/rpms"
	for i in $(seq 1 "$M"); do
		mkdir -p "$out/rsrc/$i/files/lib"
		for j in 1 2 3 4; do head -c $(((i * j % 64 + 1) * 1024)) /dev/urandom >"$out/rsrc/$i/files/lib/f$j.php"; done
		printf 'product = "rbench"\nversion = "2.0.%d"\nsummary = "rpm benchmark fix %d"\n' "$i" "$i" >"$out/rsrc/$i/fix.toml"
	done
	seq 1 "$M" | xargs -P "$(nproc)" -I{} "$old" -q pack "$out/rsrc/{}" --format rpm --key "$key" --out "$out/rpms" >/dev/null
	touch "$out/rpms/done"
fi
big=$out/big
if [ ! -f "$big/fix.toml" ]; then
	mkdir -p "$big/files"
	(cd "$big/files" && for d in $(seq -w 0 24); do mkdir -p "app/m$d"; done &&
		for i in $(seq 0 999); do head -c $((2048 + i * 4 % 4096)) /dev/urandom | base64 >"app/m$(printf %02d $((i % 25)))/f$i.php"; done)
	printf 'product = "bench"\nversion = "1.0.1"\nsummary = "1000 files"\n' >"$big/fix.toml"
fi

# Repositories: each binary gets its own copy; the prepare step resets it.
mkrepo() { # DIR ARCHIVES...
	local dir=$1; shift
	rm -rf "$dir" && mkdir -p "$dir"
	"$old" -q repo add "$dir" "$@" >/dev/null
}
for b in old new; do
	mkrepo "$out/repo-$b" $(for i in $(seq 1 "$N"); do echo "$out/archives/bench-1.0.$i.fix"; done)
	mkrepo "$out/rrepo-$b" "$out"/rpms/*.rpm
done
clean() { # REPO CHANNEL
	echo "rm -f $1/$2/.catalog $1/$2/.catalog.json $1/$2/index.json $1/$2/index.json.asc $1/$2/index.html $1/$2/.repodata.cache $1/$2/.repodata.gz $1/repo.json $1/repo.json.asc && rm -rf $1/$2/repodata"
}

results=()
# run NAME OLD-CMD NEW-CMD OLD-PREP NEW-PREP: hyperfine runs every run of its
# first command before the second, and the second inherits the first's
# writeback (install fsyncs), so each case runs in both orders and the
# ratio printed is the geometric mean of the two.
run() {
	local name=$1
	hyperfine --style none --runs "$RUNS" --warmup 1 --export-json "$out/$name.json" \
		--prepare "$4" -n old "$2" --prepare "$5" -n new "$3" >/dev/null
	hyperfine --style none --runs "$RUNS" --warmup 1 --export-json "$out/$name.rev.json" \
		--prepare "$5" -n new "$3" --prepare "$4" -n old "$2" >/dev/null
	results+=("$name")
}
rm -rf "$out/pack-old" "$out/pack-new"
run pack "$old -q pack $big --out $out/pack-old" "$new -q pack $big --out $out/pack-new" \
	"rm -rf $out/pack-old" "rm -rf $out/pack-new"
run build "$old -q repo build $out/repo-old --key $key" "$new -q repo build $out/repo-new --key $key" \
	"$(clean "$out/repo-old" bench/1.0)" "$(clean "$out/repo-new" bench/1.0)"
extra=$out/archives/bench-1.0.$((N + 1)).fix
run incremental "sh -c '$old -q repo add $out/repo-old $extra >/dev/null && $old -q repo build $out/repo-old --key $key'" \
	"sh -c '$new -q repo add $out/repo-new $extra >/dev/null && $new -q repo build $out/repo-new --key $key'" \
	"rm -f $out/repo-old/bench/1.0/bench-1.0.$((N + 1)).fix" "rm -f $out/repo-new/bench/1.0/bench-1.0.$((N + 1)).fix"
run rpmbuild "$old -q repo build $out/rrepo-old --key $key" "$new -q repo build $out/rrepo-new --key $key" \
	"$(clean "$out/rrepo-old" rbench/2.0)" "$(clean "$out/rrepo-new" rbench/2.0)"

# install: one signed repository with the 1000-file fix, one client per binary.
# Each run starts after a sync: install fsyncs, and the writeback of the
# previous run's rm -rf would otherwise land on whichever binary runs next.
if [ ! -f "$out/irepo/repo.json.asc" ]; then
	rm -rf "$out/irepo" "$out/ipacked" && mkdir -p "$out/irepo"
	"$old" -q pack "$big" --out "$out/ipacked" >/dev/null
	"$old" -q repo add "$out/irepo" "$out"/ipacked/*.fix >/dev/null
	"$old" -q repo build "$out/irepo" --key "$key" >/dev/null
fi
for b in old new; do
	r=$out/install-$b
	rm -rf "$r" && mkdir -p "$r/root" && echo 1.0 >"$r/root/VERSION"
	cat >"$r/hotfix.toml" <<TOML
repo = "file://$out/irepo"
product = "bench"
root = "$r/root"
version_file = "$r/root/VERSION"
trusted_keys = "$pub"
state_dir = "$r/state"
cache_dir = "$r/cache"
log_dir = "$r/log"
lock_dir = "$r/lock"
TOML
	"$out/hotfix-$b" --config "$r/hotfix.toml" download >/dev/null
done
reset() { echo "rm -rf $1/root $1/state $1/log && mkdir $1/root && echo 1.0 > $1/root/VERSION && sync"; }
run install "$old --config $out/install-old/hotfix.toml install --yes" "$new --config $out/install-new/hotfix.toml install --yes" \
	"$(reset "$out/install-old")" "$(reset "$out/install-new")"

printf '| case | old | new | new/old (old first) | new/old (new first) | new/old |\n|---|---|---|---|---|---|\n'
for name in "${results[@]}"; do
	jq -r -s --arg n "$name" '
		(.[0].results | map({(.command): .}) | add) as $a | (.[1].results | map({(.command): .}) | add) as $b |
		($a.new.mean / $a.old.mean) as $r1 | ($b.new.mean / $b.old.mean) as $r2 |
		"| \($n) | \(($a.old.mean + $b.old.mean) * 500 | round) ms | \(($a.new.mean + $b.new.mean) * 500 | round) ms | \($r1 * 100 | round / 100)× | \($r2 * 100 | round / 100)× | **\(($r1 * $r2 | sqrt) * 100 | round / 100)×** |"' \
		"$out/$name.json" "$out/$name.rev.json"
done
