#!/bin/sh
# Clears this node's page cache so the new cart totals show at once.
set -e
mkdir -p "$HOTFIX_ROOT/var/cache"
rm -f "$HOTFIX_ROOT"/var/cache/*.html
echo "cache cleared on $(hostname) for $HOTFIX_PRODUCT $HOTFIX_VERSION ($HOTFIX_ROLE)"
