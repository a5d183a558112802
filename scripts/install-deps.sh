#!/bin/sh
# Installs the real third-party tools the tests run against (gpg, rpm, dnf,
# createrepo_c, xz, zstd, promtool, systemd-analyze, nginx, moto_server,
# versitygw) when they are missing.
# Debian/Ubuntu only; elsewhere it says what to install and fails.
set -eu
need=""
command -v gpg >/dev/null 2>&1 || need="$need gnupg"
command -v xz >/dev/null 2>&1 || need="$need xz-utils"
command -v zstd >/dev/null 2>&1 || need="$need zstd"
command -v rpm >/dev/null 2>&1 || need="$need rpm"
command -v dnf >/dev/null 2>&1 || need="$need dnf"
command -v createrepo_c >/dev/null 2>&1 || need="$need createrepo-c"
# promtool checks the metrics file and the alerting rules; systemd-analyze
# verifies the units and the timer.
command -v promtool >/dev/null 2>&1 || need="$need prometheus"
command -v systemd-analyze >/dev/null 2>&1 || need="$need systemd"
# Headless Chromium renders the fix pages at phone and laptop widths.
command -v chromium >/dev/null 2>&1 || need="$need chromium"
# nginx is the real static host the publish tests serve a repository with.
command -v nginx >/dev/null 2>&1 || need="$need nginx-light"
# moto's S3 server is the real object storage the publish tests write to
# (installed with this machine kind; Debian does not package it).
if ! command -v moto_server >/dev/null 2>&1; then
	echo "install-deps: installing moto's S3 server with pip" >&2
	python3 -m pip install --quiet 'moto[server]' || {
		echo "install-deps: moto_server is missing and pip could not install it: install moto[server] (Python) so that moto_server is on PATH" >&2
		exit 1
	}
fi
# versitygw is the S3 server the tests kill -9 mid-publish and start again
# on the same data: it keeps its objects as files (moto keeps them in
# memory and loses them). Not a Debian package: built through the module
# proxy (a few minutes, once); its posix backend needs a filesystem with
# user extended attributes (ext4, xfs, tmpfs on Linux 6.6+).
if ! command -v versitygw >/dev/null 2>&1 && [ ! -x "$(go env GOPATH)/bin/versitygw" ]; then
	echo "install-deps: building versitygw v1.8.0 (once; a few minutes)" >&2
	GOTOOLCHAIN=local go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
fi
# goreleaser validates goreleaser.yaml. It is not a Debian package; v2.15.4
# is the newest that builds with Go 1.26 through the module proxy (newer
# ones need Go 1.27 or a dependency the proxy refuses). The first build
# takes several minutes.
if ! command -v goreleaser >/dev/null 2>&1 && [ ! -x "$(go env GOPATH)/bin/goreleaser" ]; then
	echo "install-deps: building goreleaser v2.15.4 (once; several minutes)" >&2
	GOTOOLCHAIN=local go install github.com/goreleaser/goreleaser/v2@v2.15.4
fi
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
