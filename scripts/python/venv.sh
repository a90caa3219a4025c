#!/usr/bin/env bash
# The Python client's venv, .cache/python-venv: pytest, mypy and the client installed by pip from
# client/python, as a producer installs it. Idempotent: the venv is made once, and pip runs again
# only when client/python's files (tests aside) or the pins below changed (a hash in the venv).
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python3}
VENV=.cache/python-venv
PYTEST_SPEC='pytest>=8,<10'
MYPY_SPEC='mypy>=1.11,<3'

if [ ! -x "$VENV/bin/python" ]; then
	"$PYTHON" -m venv "$VENV"
fi
stamp=$( (echo "$PYTEST_SPEC $MYPY_SPEC"; git ls-files -co --exclude-standard client/python | grep -v '^client/python/tests/' | sort | xargs sha256sum) | sha256sum | cut -d' ' -f1)
if [ "$(cat "$VENV/.intake-client-stamp" 2>/dev/null)" != "$stamp" ]; then
	"$VENV/bin/python" -m pip install -q --disable-pip-version-check "$PYTEST_SPEC" "$MYPY_SPEC"
	"$VENV/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps ./client/python
	echo "$stamp" >"$VENV/.intake-client-stamp"
fi
