#!/usr/bin/env bash
# The reference for `intake schema test`: Wikimedia's jsonschema-tools 1.3.0 running a schema
# repository's own CI (mocha over its test/ directory), installed and run by this script only.
#
#   reference.sh install
#       npm ci of scripts/schema/package-lock.json (@wikimedia/jsonschema-tools 1.3.0, mocha 6)
#       into .cache/schema-reference/ (gitignored). Idempotent: nothing is done when the stamp of
#       the last whole install (.installed) names the committed lockfile's hash. Every other
#       command installs first.
#   reference.sh run [--map URI=DIR]... [--keep] REPO
#       Copies REPO (a schema repository: .jsonschema-tools.yaml, jsonschema/, test/) into a
#       temporary directory; turns alias entries laid out as plain files holding their target's
#       name (latest, latest.yaml, latest.json, <version>) back into symlinks, since jsonschema-tools
#       checks for real ones; for each --map, copies DIR (a schema base directory, e.g. the primary
#       repository's jsonschema/) beside it the same way and replaces URI by that copy in the
#       copy's .jsonschema-tools.yaml (schemaBaseUris); runs mocha with verdicts-reporter.js.
#       Prints one JSON object per test case on stdout (fields: status passed|failed|pending,
#       suite, case, schema, title, path, error; see verdicts-reporter.js), then a summary line on
#       stderr: "reference: N passing, N failing, N pending". Exits 0 when mocha ran (whatever
#       the verdicts), 2 on a usage error, 3 when mocha could not run. When jsonschema-tools throws
#       while declaring the tests (a layout it cannot read), the one verdict is
#       {"status":"failed","suite":"load","case":"load",...,"error":"<the error>"}.
#       --keep leaves the temporary copy and says where.
#   reference.sh mocha-path
#       Prints the path of the installed mocha (for timing it by hand).
#
# Needs node and npm (npm's registry, through npm's own configuration). INTAKE_SCHEMA_REFERENCE_DIR
# moves the install (default: <repo>/.cache/schema-reference).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
dest=${INTAKE_SCHEMA_REFERENCE_DIR:-$root/.cache/schema-reference}

die() { echo "reference.sh: $1" >&2; exit "${2:-2}"; }

# installed: the stamp written after the last whole install names the committed lockfile.
installed() {
  [ -f "$dest/.installed" ] && [ -x "$dest/node_modules/.bin/mocha" ] &&
    [ "$(cat "$dest/.installed")" = "$(sha256sum <"$here/package-lock.json" | cut -d' ' -f1)" ]
}

install() {
  command -v node >/dev/null 2>&1 || die "node is not installed (Debian: apt-get install nodejs npm)" 3
  command -v npm >/dev/null 2>&1 || die "npm is not installed (Debian: apt-get install npm)" 3
  installed && return 0
  mkdir -p "$dest"
  # One install at a time (go test runs packages in parallel, and make targets may too).
  exec 9>"$dest/.install.lock"
  flock 9
  if installed; then
    flock -u 9
    return 0
  fi
  echo "reference.sh: installing @wikimedia/jsonschema-tools 1.3.0 and mocha 6 into $dest" >&2
  rm -f "$dest/.installed"
  cp "$here/package.json" "$here/package-lock.json" "$dest/"
  if ! (cd "$dest" && npm ci --no-audit --no-fund --loglevel=error >&2); then
    die "npm ci failed in $dest" 3
  fi
  # The stamp comes last: an install cut short is done again.
  sha256sum <"$here/package-lock.json" | cut -d' ' -f1 >"$dest/.installed"
  flock -u 9
}

# fix_aliases DIR: a regular file named latest, latest.<ext> or <major>.<minor>.<patch> whose whole
# content names another file in the same directory becomes a symlink to that file.
fix_aliases() {
  local f target dir
  while IFS= read -r -d '' f; do
    [ "$(stat -c %s "$f")" -le 256 ] || continue
    target=$(tr -d '\r\n' <"$f")
    dir=$(dirname "$f")
    case "$target" in ''|*/*) continue ;; esac
    [ -e "$dir/$target" ] || continue
    ln -sfn "$target" "$f"
  done < <(find "$1" -type f \( -name latest -o -name 'latest.*' -o -regex '.*/[0-9]+\.[0-9]+\.[0-9]+' \) -print0)
}

copy_tree() { # copy_tree SRC DST: a writable copy, symlinks kept, no node_modules
  mkdir -p "$2"
  (cd "$1" && tar --exclude=./node_modules -cf - .) | (cd "$2" && tar -xf -)
  chmod -R u+w "$2"
}

run() {
  local maps=() keep=0 repo=
  while [ $# -gt 0 ]; do
    case "$1" in
      --map) [ $# -ge 2 ] || die "--map needs URI=DIR"; maps+=("$2"); shift 2 ;;
      --map=*) maps+=("${1#--map=}"); shift ;;
      --keep) keep=1; shift ;;
      -*) die "unknown option $1" ;;
      *) [ -z "$repo" ] || die "one repository at a time"; repo=$1; shift ;;
    esac
  done
  [ -n "$repo" ] || die "usage: reference.sh run [--map URI=DIR]... [--keep] REPO"
  [ -f "$repo/.jsonschema-tools.yaml" ] || [ -d "$repo/jsonschema" ] || die "$repo is not a schema repository (no .jsonschema-tools.yaml, no jsonschema/)"
  install

  # global: the EXIT trap reads it after run returns
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/intake-schema-reference.XXXXXX")
  if [ "$keep" = 1 ]; then
    echo "reference.sh: the copy is kept in $tmp" >&2
  else
    trap 'rm -rf "$tmp"' EXIT
  fi
  copy_tree "$repo" "$tmp/repo"
  fix_aliases "$tmp/repo"
  local m uri dir i=0
  for m in ${maps[@]+"${maps[@]}"}; do
    uri=${m%%=*}
    dir=${m#*=}
    [ "$uri" != "$m" ] && [ -d "$dir" ] || die "--map $m: want URI=DIR with DIR a directory"
    i=$((i + 1))
    copy_tree "$dir" "$tmp/map$i"
    fix_aliases "$tmp/map$i"
    [ -f "$tmp/repo/.jsonschema-tools.yaml" ] || die "--map given but $repo has no .jsonschema-tools.yaml"
    # Plain string replacement: the URI is a YAML scalar in schemaBaseUris.
    URI="$uri" NEW="$tmp/map$i/" node -e '
      const fs = require("fs"); const f = process.argv[1];
      const s = fs.readFileSync(f, "utf8");
      if (!s.includes(process.env.URI)) { console.error("reference.sh: --map: " + process.env.URI + " is not in " + f); process.exit(2); }
      fs.writeFileSync(f, s.split(process.env.URI).join(process.env.NEW));
    ' "$tmp/repo/.jsonschema-tools.yaml"
  done
  ln -s "$dest/node_modules" "$tmp/repo/node_modules"

  local spec=test
  [ -d "$tmp/repo/test/jsonschema" ] && spec=test/jsonschema
  local verdicts="$tmp/verdicts.jsonl" rc=0
  # jsonschema-tools logs through pino on stdout: it goes to stderr here, the verdicts to a file.
  # The timeout is raised from mocha's 2 s: materializing current.yaml can take longer on a busy
  # machine, and a time-out is no verdict of the schema's.
  (cd "$tmp/repo" && INTAKE_VERDICTS="$verdicts" NODE_PATH="$dest/node_modules" "$dest/node_modules/.bin/mocha" \
     --reporter "$here/verdicts-reporter.js" --timeout 60000 "$spec" >"$tmp/mocha.log" 2>&1) || rc=$?
  cat "$tmp/mocha.log" >&2
  if [ ! -s "$verdicts" ]; then
    [ "$rc" -ne 0 ] || die "mocha ran no test in $repo" 3
    # jsonschema-tools threw while declaring the tests (a repository it cannot read): the
    # repository's CI fails, so that is one failed verdict, named "load", with the error.
    local msg
    msg=$(grep -m1 -E '^[A-Za-z]*Error\b' "$tmp/mocha.log" || echo "mocha exited with status $rc")
    MSG="$msg" node -e 'console.log(JSON.stringify({status: "failed", suite: "load", case: "load", schema: "",
      title: "jsonschema-tools could not declare the tests", path: [], error: process.env.MSG}))' >"$verdicts"
  fi
  cat "$verdicts"
  awk '/"status":"passed"/{p++} /"status":"failed"/{f++} /"status":"pending"/{s++}
       END{printf "reference: %d passing, %d failing, %d pending\n", p, f, s}' "$verdicts" >&2
}

case "${1:-}" in
  install) install ;;
  run) shift; run "$@" ;;
  mocha-path) install; echo "$dest/node_modules/.bin/mocha" ;;
  *) die "usage: reference.sh install | run [--map URI=DIR]... [--keep] REPO | mocha-path" ;;
esac
