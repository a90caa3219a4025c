#!/usr/bin/env bash
# The Python client's tests (client/python): the venv (scripts/python/venv.sh: pytest, mypy and the
# client installed by pip from client/python); mypy --strict over the package and
# tests/typecheck_usage.py (the API as a producer uses it); then pytest against a real edge built
# from this tree (INTAKE_BIN, default bin/intake). Extra arguments go to pytest (test.sh -k spool).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/python/venv.sh
cd client/python
py=../../.cache/python-venv/bin/python
"$py" -m mypy --strict --no-error-summary src/intake_client tests/typecheck_usage.py example.py
INTAKE_BIN=${INTAKE_BIN:-$PWD/../../bin/intake} exec "$py" -m pytest -q "$@"
