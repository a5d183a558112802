#!/bin/sh
# Repository indexing: hotfix repo build against createrepo_c, one run.
#
#   bench/createrepo.sh [WORKDIR]
#
# Makes 2000 small fix RPMs (3-20 files of 1 KB-200 KB of random data each)
# in one channel and 200 RPMs of 5 MB in another, with hotfix pack, then
# times with hyperfine:
#   fresh:  hotfix repo build          vs createrepo_c --workers 2 --no-database
#   update: hotfix repo add + build    vs cp + createrepo_c --update --workers 2 --no-database
#           (one RPM added to the 2000)
# on the same files (createrepo_c indexes a hard-linked copy of each channel,
# so neither sees the other's metadata). The page cache is warm for both.
# Finally stock dnf reads the hotfix repodata of the 2001-package channel.
# Prints the times and the ratios hotfix/createrepo_c.
set -eu
need() { command -v "$1" >/dev/null 2>&1 || { echo "createrepo.sh: $1 is needed" >&2; exit 1; }; }
need hyperfine
need createrepo_c
need dnf
need go

here=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d /tmp/hotfix-createrepo.XXXXXX)}
mkdir -p "$work"
work=$(cd "$work" && pwd)
key=$here/testdata/keys/vendor.sec.asc
export SOURCE_DATE_EPOCH=1714564800
hotfix=$work/hotfix
(cd "$here" && go build -o "$hotfix" .)
echo "work directory: $work" >&2

# gen DIR PRODUCT BASE FROM TO MODE: fix sources BASE.FROM .. BASE.TO.
# MODE small: 3-20 files of 1 KB-200 KB; MODE large: one file of 5 MB.
gen() {
	dir=$1 product=$2 base=$3 from=$4 to=$5 mode=$6
	i=$from
	while [ "$i" -le "$to" ]; do
		src=$dir/$base.$i
		mkdir -p "$src/files/lib"
		printf 'product = "%s"\nversion = "%s.%s"\nsummary = "Benchmark fix %s"\n\n[[bug]]\nid = "BENCH-%s"\nsummary = "Benchmark bug %s"\n' \
			"$product" "$base" "$i" "$i" "$i" "$i" >"$src/fix.toml"
		if [ "$mode" = large ]; then
			head -c 5242880 /dev/urandom >"$src/files/lib/blob.bin"
		else
			n=$(( $(od -An -N2 -tu2 /dev/urandom) % 18 + 3 ))
			j=1
			while [ "$j" -le "$n" ]; do
				size=$(( ($(od -An -N4 -tu4 /dev/urandom) % 200) * 1024 + 1024 ))
				head -c "$size" /dev/urandom >"$src/files/lib/f$j.php"
				j=$((j + 1))
			done
		fi
		i=$((i + 1))
	done
}

# pack SRCROOT OUT: every source as a signed RPM, on every core.
pack() {
	mkdir -p "$2"
	ls -d "$1"/*/ | xargs -P "$(nproc)" -I{} "$hotfix" -q pack {} --format rpm --key "$key" --out "$2" >/dev/null
}

if [ ! -f "$work/.generated" ]; then
	rm -rf "$work/src" "$work/rpms" "$work/repo-small" "$work/repo-large" "$work/cr-small" "$work/cr-large"
	echo "generating 2001 small and 200 large fixes (once per WORKDIR) ..." >&2
	gen "$work/src/small" bench 1.0 1 2001 small
	gen "$work/src/large" bigbench 1.0 1 200 large
	pack "$work/src/small" "$work/rpms/small"
	pack "$work/src/large" "$work/rpms/large"
	rm -rf "$work/src"
	mkdir -p "$work/repo-small" "$work/repo-large"
	"$hotfix" repo add "$work/repo-small" $(ls "$work"/rpms/small/*.rpm | grep -v -- '-1_0_2001-') >/dev/null
	"$hotfix" repo add "$work/repo-large" "$work"/rpms/large/*.rpm >/dev/null
	# createrepo_c indexes hard-linked copies of the same files.
	mkdir -p "$work/cr-small" "$work/cr-large"
	ln "$work"/repo-small/bench/1.0/*.rpm "$work/cr-small/"
	ln "$work"/repo-large/bigbench/1.0/*.rpm "$work/cr-large/"
	touch "$work/.generated"
fi
small=$work/repo-small/bench/1.0
large=$work/repo-large/bigbench/1.0
new=$(ls "$work"/rpms/small/*-1_0_2001-*.rpm)
# The update runs leave the 2001st RPM in both channels: take it out, so
# that the fresh builds index 2000 and the saved state below holds 2000.
rm -f "$small/$(basename "$new")" "$work/cr-small/$(basename "$new")"
du -sh "$small" "$large" >&2

clean_hotfix() { echo "rm -rf $1/repodata $1/.catalog $1/.catalog.json $1/.repodata.cache $1/.repodata.gz $1/index.json $1/index.json.asc $1/index.html"; }
results=$work/results
mkdir -p "$results"
hf() {
	name=$1
	shift
	hyperfine --style basic --warmup 1 --runs "${RUNS:-5}" --export-json "$results/$name.json" "$@"
}

# Fresh builds.
hf fresh-small -n "hotfix repo build (2000 small)" -n "createrepo_c (2000 small)" \
	--prepare "$(clean_hotfix "$small")" --prepare "rm -rf $work/cr-small/repodata" \
	"$hotfix -q repo build $work/repo-small --key $key" \
	"createrepo_c -q --workers 2 --no-database $work/cr-small" >&2
hf fresh-large -n "hotfix repo build (200 x 5 MB)" -n "createrepo_c (200 x 5 MB)" \
	--prepare "$(clean_hotfix "$large")" --prepare "rm -rf $work/cr-large/repodata" \
	"$hotfix -q repo build $work/repo-large --key $key" \
	"createrepo_c -q --workers 2 --no-database $work/cr-large" >&2

# Update: the state after a build of the 2000 is saved once and restored
# before every run; the run adds the 2001st RPM and rebuilds.
"$hotfix" -q repo build "$work/repo-small" --key "$key" >/dev/null
rm -rf "$work/cr-small/repodata" && createrepo_c -q --workers 2 --no-database "$work/cr-small"
rm -rf "$work/saved" && mkdir -p "$work/saved/hotfix" "$work/saved/cr"
cp -a "$small/repodata" "$small/.catalog" "$small/.repodata.cache" "$small/.repodata.gz" "$small/index.json" "$small/index.json.asc" "$small/index.html" "$work/saved/hotfix/"
cp -a "$work/repo-small/repo.json" "$work/repo-small/repo.json.asc" "$work/saved/"
cp -a "$work/cr-small/repodata" "$work/saved/cr/"
base=$(basename "$new")
restore_hotfix="rm -rf $small/repodata $small/$base && cp -a $work/saved/hotfix/. $small/ && cp -a $work/saved/repo.json $work/saved/repo.json.asc $work/repo-small/"
restore_cr="rm -rf $work/cr-small/repodata $work/cr-small/$base && cp -a $work/saved/cr/repodata $work/cr-small/"
hf update -n "hotfix repo add + build (2000 + 1)" -n "createrepo_c --update (2000 + 1)" \
	--prepare "$restore_hotfix" --prepare "$restore_cr" \
	"$hotfix -q repo add $work/repo-small $new && $hotfix -q repo build $work/repo-small --key $key" \
	"cp $new $work/cr-small/ && createrepo_c -q --update --workers 2 --no-database $work/cr-small" >&2

# dnf accepts what hotfix wrote (2001 packages).
root=$(mktemp -d)
count=$(dnf -q --installroot="$root" --setopt=reposdir=/dev/null --disableplugin='*' --releasever=1 \
	--repofrompath=b,"file://$small/" --repo=b repoquery --qf '%{name}' 2>/dev/null | wc -l)
rm -rf "$root"
echo "dnf repoquery on hotfix's repodata: $count packages" >&2

ratio() {
	python3 - "$results/$1.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
h, c = r[0], r[1]
print(f"{h['command']}: {h['mean']:.3f} s ± {h['stddev']:.3f} | {c['command']}: {c['mean']:.3f} s ± {c['stddev']:.3f} | ratio {h['mean']/c['mean']:.2f}x")
EOF
}
echo "== results (mean of ${RUNS:-5} runs, warm cache, $(nproc) cores) =="
for b in fresh-small fresh-large update; do
	printf '%s: ' "$b"
	ratio "$b"
done
