#!/bin/sh
# Installs the real third-party tools the tests run against (gpg, rpm, dnf,
# createrepo_c, xz) when they are missing. Debian/Ubuntu only; elsewhere it
# says what to install and fails.
set -eu
need=""
command -v gpg >/dev/null 2>&1 || need="$need gnupg"
command -v xz >/dev/null 2>&1 || need="$need xz-utils"
command -v rpm >/dev/null 2>&1 || need="$need rpm"
command -v dnf >/dev/null 2>&1 || need="$need dnf"
command -v createrepo_c >/dev/null 2>&1 || need="$need createrepo-c"
command -v openssl >/dev/null 2>&1 || need="$need openssl"
[ -z "$need" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-deps: missing:$need (install them with your package manager)" >&2
	exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "install-deps: installing$need" >&2
$SUDO apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null
