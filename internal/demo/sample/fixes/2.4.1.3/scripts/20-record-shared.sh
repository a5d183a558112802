#!/bin/sh
# Records the fix level in the shared data directory (primary node only).
set -e
mkdir -p "$HOTFIX_ROOT/var"
echo "$HOTFIX_VERSION" > "$HOTFIX_ROOT/var/fixlevel"
