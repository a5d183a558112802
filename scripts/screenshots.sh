#!/usr/bin/env bash
# scripts/screenshots.sh [DIR]: renders the fix pages (a channel of 40 fixes,
# an empty channel, a repository of many products) in headless Chromium at
# 390 and 1280 px, as TestPagesFitPhoneAndLaptop does, and saves one
# screenshot per page into DIR (default /tmp/hotfix-screenshots; never in
# the repository). The test fails on horizontal overflow or a word broken
# across lines.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-/tmp/hotfix-screenshots}
mkdir -p "$dir"
HOTFIX_SCREENSHOTS=$(cd "$dir" && pwd) go test ./repo/site -count=1 -run TestPagesFitPhoneAndLaptop
ls -1 "$dir"/*.png
