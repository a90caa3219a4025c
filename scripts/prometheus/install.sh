#!/usr/bin/env bash
# Makes sure promtool and prometheus are on the PATH, for `make test-alerts` (promtool check rules
# and promtool test rules over deploy/prometheus) and `make test-monitoring` (a Prometheus
# scraping two edges). Both come with Debian's prometheus package. Idempotent and quiet: does
# nothing when they are there; otherwise apt-get installs the package (scripts/lib/apt.sh), without
# its recommends. Needs root (or sudo) only when it has to install. The package's own service is
# not used (in a container without an init system it is not started).
set -euo pipefail
. "$(dirname "$0")/../lib/apt.sh"

if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then
  exit 0
fi
apt_install scripts/prometheus/install.sh prometheus --no-install-recommends
if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
  echo "scripts/prometheus/install.sh: apt-get installed prometheus but promtool or prometheus is not on the PATH" >&2
  exit 1
fi
