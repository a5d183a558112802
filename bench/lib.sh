# bench/lib.sh: sourced (not run) by the bench scripts that need a stock of
# fix archives, so that they make the same archives the same way and can
# share one stock in their OUT directory.
#
# bench_archives OUT COUNT: builds hotfix into OUT/hotfix (sets HOTFIX) and
# makes fix archives bench 1.0.1 .. bench 1.0.COUNT in OUT/archives, each
# one payload of SIZE_KB incompressible KiB, packed with the real "hotfix
# pack" on every core. Sources (OUT/src) and archives already there are
# reused: Go's xz packs about 1-7 MB/s per core, so the first run of a
# large stock takes minutes.

bench_source() {
	local i=$1 dir=$2
	[ -f "$dir/fix.toml" ] && return 0
	mkdir -p "$dir/files/lib"
	head -c "$((SIZE_KB * 1024))" /dev/urandom >"$dir/files/lib/payload-$i.bin"
	printf 'product = "bench"\nversion = "1.0.%d"\nsummary = "benchmark fix %d"\n\n[[bug]]\nid = "BENCH-%d"\nsummary = "bug %d"\nfiles = ["lib/payload-%d.bin"]\n' \
		"$i" "$i" "$i" "$i" "$i" >"$dir/fix.toml"
}

bench_archives() {
	local out=$1 count=$2 i missing start
	mkdir -p "$out/src" "$out/archives"
	go build -o "$out/hotfix" .
	HOTFIX=$(cd "$out" && pwd)/hotfix # OUT relative or absolute
	for i in $(seq 1 "$count"); do bench_source "$i" "$out/src/$i"; done
	missing=$(for i in $(seq 1 "$count"); do [ -f "$out/archives/bench-1.0.$i.fix" ] || echo "$i"; done)
	[ -n "$missing" ] || return 0
	echo "packing $(echo "$missing" | wc -l) archives (once; reused from $out/archives afterwards)..." >&2
	start=$(date +%s)
	echo "$missing" | xargs -P "$(nproc)" -I{} "$HOTFIX" -q pack "$out/src/{}" --out "$out/archives" >/dev/null
	echo "packed in $(($(date +%s) - start)) s" >&2
}
