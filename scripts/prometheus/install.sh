#!/usr/bin/env bash
# Makes sure promtool is on the PATH, for `make test-alerts` (promtool check rules and promtool
# test rules over deploy/prometheus). promtool comes with Debian's prometheus package.
# Idempotent and quiet: does nothing when promtool is there; otherwise apt-get update, then
# apt-get install -y prometheus (without its recommends), waiting for another apt or dpkg run to
# finish first. Needs root (or sudo) only when it has to install. The package's own Prometheus
# server is installed too but not needed here; in a container without an init system it is not
# started.
set -euo pipefail

if command -v promtool >/dev/null 2>&1; then
  exit 0
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo -n"
  else
    echo "scripts/prometheus/install.sh: promtool is missing and installing it needs root (apt-get install prometheus)" >&2
    exit 1
  fi
fi

# apt-get's lock timeout waits for another apt or dpkg run (up to 10 minutes) instead of failing.
apt_get() {
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -qq "$@"
}

echo "scripts/prometheus/install.sh: installing Debian's prometheus package (for promtool)" >&2
apt_get update >/dev/null
apt_get install -y --no-install-recommends prometheus >/dev/null
if ! command -v promtool >/dev/null 2>&1; then
  echo "scripts/prometheus/install.sh: apt-get installed prometheus but promtool is not on the PATH" >&2
  exit 1
fi
