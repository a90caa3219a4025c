#!/usr/bin/env bash
# Makes sure Debian's podman and runc are installed, so that `make test-image` can start the image
# (CI runs on a clean machine). runc, because podman's default runtime, crun, refuses the mixed
# cgroup v1/v2 hierarchy of this project's machines (deploy/tools/imagebuild's runtimeArgs).
# Idempotent and quiet: does nothing when both are there; otherwise apt-get installs what is
# missing (scripts/lib/apt.sh). Needs root (or sudo) only when it has to install.
set -euo pipefail
. "$(dirname "$0")/../lib/apt.sh"

for cmd in podman runc; do
  if ! command -v "$cmd" >/dev/null 2>&1; then
    apt_install ensure-podman "$cmd"
    command -v "$cmd" >/dev/null 2>&1 || { echo "ensure-podman: apt-get installed $cmd but it is not on the PATH" >&2; exit 1; }
  fi
done
