#!/usr/bin/env bash
# Create (once) the Brian2 reference-simulator virtualenv at <repo>/.venv-brian2.
#
# Brian2 2.9 needs numpy<2, while the main project venv uses numpy 2, so the
# reference simulator lives in its own venv. Idempotent: when the stamp file
# holds the same requirement string, this exits at once.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv-brian2"
STAMP="$VENV/.installed"
REQS='brian2==2.9.0 numpy<2 cython setuptools'

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$REQS" && -x "$VENV/bin/python" ]]; then
    exit 0
fi

# Prefer an explicit python3.11; fall back to python3 if it is 3.11.
PY="${BRIAN2_PYTHON:-}"
if [[ -z "$PY" ]]; then
    if command -v python3.11 >/dev/null 2>&1; then
        PY=python3.11
    else
        PY=python3
    fi
fi
if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)'; then
    echo "brian2-venv: need Python 3.11, '$PY' is $("$PY" -V 2>&1)" >&2
    exit 1
fi

echo "brian2-venv: creating $VENV" >&2
rm -f "$STAMP"
if [[ ! -x "$VENV/bin/python" ]]; then
    "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
# shellcheck disable=SC2086  # word splitting of REQS is intended
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check $REQS
# Fail now (not in a test) if the install is unusable.
"$VENV/bin/python" -c 'import brian2, numpy; assert brian2.__version__ == "2.9.0", brian2.__version__'
printf '%s' "$REQS" > "$STAMP"
echo "brian2-venv: ready" >&2
