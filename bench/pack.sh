#!/usr/bin/env bash
# bench/pack.sh: issue 10's ratios in one run, hotfix against the stock
# tools on the same files (see BENCHMARKS.md, "archives").
#
#   pack        hotfix pack (zstd) and pack --compress xz of a mixed fix
#               (24 MB of Go sources, the jars under /usr/share/java, 4 MB
#               of executables from /usr/bin), against tar -cJf and tar -czf
#               of the same files; aims 0.1x and 1.0x of tar -cJf
#   size        the .fix against the tar.xz; aim 1.15x
#   install     hotfix install --yes of that fix (every fsync) against
#               tar -xJf of the tar.xz into an empty directory; aim 1.0x
#   repo        a fresh repo add of N archives of SIZE_KB random KiB + repo
#               build, against openssl dgst -sha256 over the same archives;
#               aim 2x
#   memory      maximum RSS of pack and install of the mixed fix
#
# Inputs are made once under bench/out/_pack/ (git-ignored) and reused.
# Usage: bench/pack.sh      (RUNS=3 N=1000 SIZE_KB=256 override)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
RUNS=${RUNS:-3}
N=${N:-1000}
SIZE_KB=${SIZE_KB:-256}
# "_": the go tool must not take the copied Go sources for packages of ours.
out=$top/bench/out/_pack
secret=$top/testdata/keys/vendor.sec.asc
public=$top/testdata/keys/vendor.pub.asc
export SOURCE_DATE_EPOCH=1714564800

need() {
	command -v "$1" >/dev/null && return
	echo "installing $2" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null ||
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; }
}
need hyperfine hyperfine
need jq jq
need xz xz-utils
need openssl openssl
[ -x /usr/bin/time ] || need /usr/bin/time time
mkdir -p "$out"
go build -o "$out/hotfix" .
hf=$out/hotfix

# The mixed fix: the first 24 MB of Go's sources in name order, every jar
# under /usr/share/java, and ELF executables of 100 KB-2 MB from /usr/bin
# in name order up to 4 MB.
src=$out/src
if [ ! -f "$src/fix.toml" ]; then
	echo "== making the mixed fix in $src" >&2
	rm -rf "$src" && mkdir -p "$src/files/src" "$src/files/java" "$src/files/bin"
	goroot=$(go env GOROOT)
	(cd "$goroot/src" && find . -name '*.go' -type f -printf '%s %P\n' | LC_ALL=C sort -k2 |
		awk '{ t += $1; if (t <= 24 * 1048576) print $2 }' | tar -cf - -T - | tar -xf - -C "$src/files/src")
	find /usr/share/java -maxdepth 1 -name '*.jar' -type f -exec cp {} "$src/files/java/" \;
	t=0
	for f in $(find /usr/bin -maxdepth 1 -type f -size +100k -size -2048k | LC_ALL=C sort); do
		[ "$(head -c 4 "$f" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] || continue
		s=$(stat -c %s "$f")
		[ $((t + s)) -le $((4 * 1048576)) ] || continue
		cp "$f" "$src/files/bin/" && t=$((t + s))
	done
	printf 'product = "bench"\nversion = "1.0.1"\nsummary = "mixed benchmark fix"\n' >"$src/fix.toml"
fi
echo "mixed fix: $(du -sb "$src/files" | cut -f1) bytes in $(find "$src/files" -type f | wc -l) files" \
	"(src $(du -sb "$src/files/src" | cut -f1), java $(du -sb "$src/files/java" | cut -f1), bin $(du -sb "$src/files/bin" | cut -f1))"

# ratio JSON A B: mean of result A over mean of result B, two decimals.
ratio() { jq -r --argjson a "$2" --argjson b "$3" '(.results[$a].mean / .results[$b].mean * 100 | round) / 100' "$1"; }
show() { jq -r '.results[] | "   \(.command): \(.mean * 1000 | round) ms ± \(.stddev * 1000 | round) (user \(.user * 1000 | round), system \(.system * 1000 | round))"' "$1"; }

echo
echo "== pack ($RUNS runs)"
hyperfine --style basic --runs "$RUNS" --export-json "$out/pack.json" \
	--prepare "rm -rf $out/fix $out/fixxz $out/t.tar.xz $out/t.tar.gz" \
	-n "hotfix pack" "$hf -q pack $src --out $out/fix" \
	-n "hotfix pack --compress xz" "$hf -q pack $src --out $out/fixxz --compress xz" \
	-n "tar -cJf" "tar -cJf $out/t.tar.xz -C $src files" \
	-n "tar -czf" "tar -czf $out/t.tar.gz -C $src files" >/dev/null
show "$out/pack.json"
"$hf" -q pack "$src" --out "$out/fix" >/dev/null
"$hf" -q pack "$src" --out "$out/fixxz" --compress xz >/dev/null
tar -cJf "$out/t.tar.xz" -C "$src" files
tar -czf "$out/t.tar.gz" -C "$src" files
fix=$out/fix/bench-1.0.1.fix fixxz=$out/fixxz/bench-1.0.1.fix
sz() { stat -c %s "$1"; }
echo "   sizes: .fix $(sz "$fix"), .fix xz $(sz "$fixxz"), tar.xz $(sz "$out/t.tar.xz"), tar.gz $(sz "$out/t.tar.gz")"
xz -t "$fixxz" && zstd -tq "$fix" && tar --zstd -tf "$fix" >/dev/null && tar -tJf "$fixxz" >/dev/null
pack_ratio=$(ratio "$out/pack.json" 0 2)
packxz_ratio=$(ratio "$out/pack.json" 1 2)
size_ratio=$(echo "scale=3; $(sz "$fix") / $(sz "$out/t.tar.xz")" | bc)

echo
echo "== install ($RUNS runs)"
run=$out/run
rm -rf "$run" "$out/repo" && mkdir -p "$run/root" "$out/repo"
"$hf" -q repo add "$out/repo" "$fix" >/dev/null
"$hf" -q repo build "$out/repo" --key "$secret" >/dev/null
cat >"$run/hotfix.toml" <<EOF
repo = "file://$out/repo"
product = "bench"
root = "$run/root"
version_file = "$run/root/VERSION"
trusted_keys = "$public"
state_dir = "$run/state"
cache_dir = "$run/cache"
log_dir = "$run/log"
lock_dir = "$run/lock"
EOF
echo 1.0 >"$run/root/VERSION"
"$hf" --config "$run/hotfix.toml" download >/dev/null
hyperfine --style basic --runs "$RUNS" --export-json "$out/install.json" \
	--prepare "rm -rf $run/root $run/state $run/log && mkdir $run/root && echo 1.0 > $run/root/VERSION" \
	-n "hotfix install" "$hf --config $run/hotfix.toml install --yes" \
	--prepare "rm -rf $out/tarx && mkdir $out/tarx" \
	-n "tar -xJf" "tar -xJf $out/t.tar.xz -C $out/tarx" >/dev/null
show "$out/install.json"
install_ratio=$(ratio "$out/install.json" 0 1)

echo
echo "== memory"
rm -rf "$out/fixm"
/usr/bin/time -f %M "$hf" -q pack "$src" --out "$out/fixm" 2>"$out/rss-pack" >/dev/null
rm -rf "$run/root" "$run/state" "$run/log" && mkdir "$run/root" && echo 1.0 >"$run/root/VERSION"
/usr/bin/time -f %M "$hf" --config "$run/hotfix.toml" install --yes 2>"$out/rss-install" >/dev/null
echo "   maximum RSS: pack $(($(tail -1 "$out/rss-pack") / 1024)) MiB, install $(($(tail -1 "$out/rss-install") / 1024)) MiB"

echo
echo "== repo add of $N archives of $SIZE_KB KiB + repo build ($RUNS runs)"
. bench/lib.sh
bench_archives "$out" "$N"
list=$out/archives.list
for i in $(seq 1 "$N"); do echo "$out/archives/bench-1.0.$i.fix"; done >"$list"
# Each add into a new empty directory; an earlier run's repositories are
# moved aside, not removed just before (see bench/add.sh for why).
mkdir -p "$out/trash"
mv "$out"/brepo.* "$out/trash/" 2>/dev/null || true
rm -f "$out/brepo"
hyperfine --style basic --runs "$RUNS" --export-json "$out/repo.json" \
	--prepare "ln -sfn \$(mktemp -d $out/brepo.XXXXXX) $out/brepo" \
	-n "repo add + repo build" "$hf -q repo add $out/brepo/ \$(cat $list) >/dev/null && $hf -q repo build $out/brepo/ --key $secret >/dev/null" \
	--prepare "true" \
	-n "openssl dgst -sha256" "openssl dgst -sha256 \$(cat $list) >/dev/null" >/dev/null
rm -rf "$out"/brepo "$out"/brepo.* "$out/trash"
show "$out/repo.json"
repo_ratio=$(ratio "$out/repo.json" 0 1)

echo
echo "== ratios (aims in brackets)"
echo "   pack / tar -cJf:                 ${pack_ratio}x  [<= 0.1]"
echo "   pack --compress xz / tar -cJf:   ${packxz_ratio}x  [<= 1.0]"
echo "   .fix size / tar.xz size:         ${size_ratio}x  [<= 1.15]"
echo "   install / tar -xJf:              ${install_ratio}x  [<= 1.0, with fsync]"
echo "   repo add+build / openssl sha256: ${repo_ratio}x  [<= 2]"
echo "machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(go version | cut -d' ' -f3), commit $(git rev-parse --short HEAD)"
