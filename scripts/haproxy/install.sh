#!/usr/bin/env bash
# Makes sure Debian's HAProxy is installed (/usr/sbin/haproxy), for make test-fleet (test/fleet:
# three edges behind it). Idempotent and quiet: does nothing when it is there; otherwise apt-get
# installs it (scripts/lib/apt.sh). Needs root (or sudo) only when it has to install. Only the
# binary is used: the package's own service is not started here (a container without
# policy-rc.d may try; harmless), and the test runs haproxy as its own process with a generated
# config.
set -euo pipefail
. "$(dirname "$0")/../lib/apt.sh"

HAPROXY=${HAPROXY:-/usr/sbin/haproxy}
if [ -x "$HAPROXY" ]; then
  exit 0
fi
apt_install haproxy/install.sh haproxy
if [ ! -x "$HAPROXY" ]; then
  echo "haproxy/install.sh: apt-get installed haproxy but $HAPROXY is not there" >&2
  exit 1
fi
"$HAPROXY" -v | head -n 1 >&2
