#!/usr/bin/env bash
# Makes sure Debian's HAProxy is installed (/usr/sbin/haproxy), for make test-fleet (test/fleet:
# three edges behind it). Idempotent and quiet: does nothing when it is there; otherwise apt-get
# update and apt-get install haproxy, waiting for another apt or dpkg run to finish first. Needs
# root (or sudo) only when it has to install. Only the binary is used: the package's own service
# is not started here, and the test runs haproxy as its own process with a generated config.
set -euo pipefail

HAPROXY=${HAPROXY:-/usr/sbin/haproxy}
if [ -x "$HAPROXY" ]; then
  exit 0
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo -n"
  else
    echo "haproxy/install.sh: $HAPROXY is missing and installing it needs root (apt-get install haproxy)" >&2
    exit 1
  fi
fi

# apt-get's lock timeout waits for another apt or dpkg run (up to 10 minutes) instead of failing.
# policy-rc.d-less containers may try to start the package's service: harmless if it fails, and
# the test never uses it.
apt_get() {
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -qq "$@"
}

echo "haproxy/install.sh: installing Debian's haproxy package" >&2
apt_get update >/dev/null
apt_get install -y haproxy >/dev/null
if [ ! -x "$HAPROXY" ]; then
  echo "haproxy/install.sh: apt-get installed haproxy but $HAPROXY is not there" >&2
  exit 1
fi
"$HAPROXY" -v | head -n 1 >&2
