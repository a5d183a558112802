#!/bin/sh
# Package post-install script (deb postinst / rpm %post) of hotfix.
# Creates hotfix's directories; never enables or starts the service.
# deb: $1 = configure, $2 = the previous version on upgrade;
# rpm: $1 = 1 on install, 2 on upgrade.
set -e

install -d -m 0755 /var/lib/hotfix /var/cache/hotfix /etc/hotfix /etc/hotfix/trusted.d
install -d -m 0750 /var/log/hotfix
if command -v systemd-tmpfiles >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemd-tmpfiles --create hotfix.conf || install -d -m 0755 /run/hotfix
else
    install -d -m 0755 /run/hotfix
fi

upgrade=no
case "$1" in
    configure) [ -n "$2" ] && upgrade=yes ;;
    2) upgrade=yes ;;
esac

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    systemctl daemon-reload || true
    # A running daemon picks up the new binary. SIGTERM lets it finish the
    # fix it may be installing first.
    if [ "$upgrade" = yes ]; then
        systemctl try-restart hotfix.service || true
    fi
fi

if [ "$upgrade" = no ]; then
    cat <<'MSG'
hotfix installed. Next: edit /etc/hotfix/hotfix.toml, put the vendor's public
key into /etc/hotfix/trusted.d, run "hotfix check", then either
"systemctl enable --now hotfix.service" or HOTFIX_CRON=yes in /etc/default/hotfix.
MSG
fi
exit 0
