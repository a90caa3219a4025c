#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed (/usr/bin/chromium), for the browser tests of
# client/js (npm test drives it with playwright-core; no browser is downloaded by npm).
# Idempotent and quiet: does nothing when it is there; otherwise apt-get installs it, waiting for
# another apt or dpkg run to finish first. Needs root (or sudo) only when it has to install.
set -euo pipefail

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then
  exit 0
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo -n"
  else
    echo "ensure-chromium: $CHROMIUM is missing and installing it needs root (apt-get install chromium)" >&2
    exit 1
  fi
fi

# apt-get's lock timeout waits for another apt or dpkg run (up to 10 minutes) instead of failing.
apt_get() {
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -qq "$@"
}

echo "ensure-chromium: installing Debian's chromium package" >&2
apt_get update >/dev/null
apt_get install -y chromium >/dev/null
if [ ! -x "$CHROMIUM" ]; then
  echo "ensure-chromium: apt-get installed chromium but $CHROMIUM is not there" >&2
  exit 1
fi
