#!/bin/sh
# Package pre-remove script (deb prerm / rpm %preun) of hotfix.
# On removal (not upgrade) stop and disable the daemon and the timer. SIGTERM lets it
# finish the fix it may be installing. State, logs and the record of
# installed fixes in /var/lib/hotfix stay: rollback needs them.
# deb: $1 = remove | upgrade | ...; rpm: $1 = 0 on erase, 1 on upgrade.
set -e
case "$1" in
    remove|0)
        if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
            systemctl stop hotfix.timer hotfix-run.service hotfix.service >/dev/null 2>&1 || true
            systemctl disable hotfix.timer hotfix.service >/dev/null 2>&1 || true
        fi
        ;;
esac
exit 0
