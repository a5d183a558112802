#!/usr/bin/env bash
# scripts/fuzz.sh [DURATION] [PATTERN]: runs every fuzz target of the module
# (or those whose package/name matches PATTERN) for DURATION each (default
# 10m), one after the other, each on every core. A target that finds a
# failing input leaves it under its package's testdata/fuzz/FuzzX/, where it
# becomes a seed that `go test` runs from then on: commit it with the fix.
# Prints one line per target (ok / FOUND, seconds, executions) and a
# summary; exits 1 if any target found something. FUZZ_PARALLEL sets the
# workers per target (default: the number of cores), so that two campaigns
# over different PATTERNs can share a machine; FUZZ_LOG names the log.
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
	sort -u | grep -E -- "$pattern")
[ ${#targets[@]} -gt 0 ] || { echo "fuzz.sh: no fuzz target matches '$pattern'" >&2; exit 2; }

found=0
for t in "${targets[@]}"; do
	pkg=${t% *} name=${t#* }
	start=$SECONDS
	corpus="$pkg/testdata/fuzz/$name"
	before=$(ls "$corpus" 2>/dev/null | sort)
	out=$(mktemp)
	# -timeout well above -fuzztime: go test's default 10m would end a 10m
	# campaign as a failure.
	if go test "./$pkg" -run '^$' -fuzz "^$name\$" -fuzztime "$duration" \
		-parallel "${FUZZ_PARALLEL:-$(nproc)}" -timeout 0 >"$out" 2>&1; then
		status=ok
	elif [ "$(ls "$corpus" 2>/dev/null | sort)" = "$before" ] &&
		grep -q 'context deadline exceeded' "$out"; then
		# Go's coordinator can report its own -fuzztime deadline as a
		# failure, with no failing input written (golang/go#75804, fixed in
		# Go 1.27). Nothing was found: count it as a clean run.
		status=ok
	else
		status=FOUND
		found=$((found + 1))
	fi
	execs=$(grep -o 'execs: [0-9]*' "$out" | tail -1 | cut -d' ' -f2)
	cat "$out" >>"$log"
	rm -f "$out"
	printf '%-6s %-24s %-22s %4ds %12s execs\n' "$status" "$pkg" "$name" $((SECONDS - start)) "${execs:-?}"
done
echo "${#targets[@]} targets, $duration each: $found found something (details in $log)"
[ "$found" -eq 0 ]
