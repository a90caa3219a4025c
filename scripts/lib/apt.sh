# Sourced by the scripts that install a Debian package the tests use (Chromium, Prometheus,
# HAProxy). apt_install WHO PACKAGE [apt-get install options...]: apt-get update, then apt-get
# install -y PACKAGE, quietly, waiting for another apt or dpkg run to finish first (up to 10
# minutes) instead of failing; as root, or through sudo -n. WHO names the caller in messages.
apt_install() {
  local who=$1 pkg=$2
  shift 2
  local sudo=
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo="sudo -n"
    else
      echo "$who: installing Debian's $pkg package needs root (apt-get install $pkg)" >&2
      return 1
    fi
  fi
  echo "$who: installing Debian's $pkg package" >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -qq update >/dev/null
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -qq install -y "$@" "$pkg" >/dev/null
}
