#!/bin/sh
# Package post-remove script (deb postrm / rpm %postun) of hotfix.
# Tells systemd the unit is gone. Keeps /var/lib/hotfix, /var/log/hotfix
# and /etc/hotfix: they record what was installed on this server.
set -e
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
