#!/usr/bin/env bash
# Installs Debian's podman and runc when missing, so that `make test-image` can start the image (CI
# runs on a clean machine). runc, because podman's default crun refuses this kind of machine's
# hybrid cgroups (deploy/tools/imagebuild's runtimeArgs). Idempotent: nothing happens when both are
# on the PATH. Without root or apt-get it only says so; the image test then checks the image's
# config and contents alone (TestImageRunsUnderPodman skips, saying why).
set -euo pipefail
if command -v podman >/dev/null 2>&1 && command -v runc >/dev/null 2>&1; then
	exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "ensure-podman: podman is missing and cannot be installed here (needs root and apt-get); the image test will not run the image" >&2
	exit 0
fi
echo "ensure-podman: installing Debian's podman and runc" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq podman runc >/dev/null
podman --version
