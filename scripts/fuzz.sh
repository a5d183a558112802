#!/usr/bin/env bash
# scripts/fuzz.sh [DURATION] [PATTERN]: runs every fuzz target of the module
# (or those whose package/name matches PATTERN) for DURATION each (default
# 10m), one after the other, each on every core. A target that finds a
# failing input leaves it under its package's testdata/fuzz/FuzzX/, where it
# becomes a seed that `go test` runs from then on: commit it with the fix.
# Prints one line per target (ok / FOUND) and a summary; exits 1 if any
# target found something.
#
#   scripts/fuzz.sh            # the full campaign: 10 minutes per target
#   scripts/fuzz.sh 30s        # a smoke run
#   scripts/fuzz.sh 5m xzsafe  # the targets of one package
set -uo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10m}
pattern=${2:-}
log=${FUZZ_LOG:-fuzz.log}
: >"$log"

mapfile -t targets < <(grep -rl --include='*_test.go' '^func Fuzz' . |
	xargs grep -H '^func Fuzz' | sed -E 's#^\./(.*)/[^/]+_test\.go:func (Fuzz[A-Za-z0-9_]+).*#\1 \2#' |
	sort -u | grep -- "$pattern")
[ ${#targets[@]} -gt 0 ] || { echo "fuzz.sh: no fuzz target matches '$pattern'" >&2; exit 2; }

found=0
for t in "${targets[@]}"; do
	pkg=${t% *} name=${t#* }
	start=$SECONDS
	if go test "./$pkg" -run '^$' -fuzz "^$name\$" -fuzztime "$duration" >>"$log" 2>&1; then
		status=ok
	else
		status=FOUND
		found=$((found + 1))
	fi
	printf '%-6s %-24s %-22s %4ds\n' "$status" "$pkg" "$name" $((SECONDS - start))
done
echo "${#targets[@]} targets, $duration each: $found found something (details in $log)"
[ "$found" -eq 0 ]
