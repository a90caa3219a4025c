#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed (/usr/bin/chromium), for the browser tests of
# client/js (npm test drives it with playwright-core; no browser is downloaded by npm).
# Idempotent and quiet: does nothing when it is there; otherwise apt-get installs it
# (scripts/lib/apt.sh). Needs root (or sudo) only when it has to install.
set -euo pipefail
. "$(dirname "$0")/../lib/apt.sh"

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
apt_install ensure-chromium chromium
if [ ! -x "$CHROMIUM" ]; then
  echo "ensure-chromium: apt-get installed chromium but $CHROMIUM is not there" >&2
  exit 1
fi
