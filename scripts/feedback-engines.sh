#!/usr/bin/env bash
# Make sure the feedback engines (ruff, ty) are installed in the Python environment the
# feedback tests and benchmark use. Idempotent: installs only what is missing, from PyPI,
# with the environment's own pip (they are dependencies of ailoop, so `pip install .`
# brings them too).
#
# Use: scripts/feedback-engines.sh [PYTHON]     (default: $PYTHON, else ~/.cache/ailoop/dev/bin/python)
set -euo pipefail

PY="${1:-${PYTHON:-$HOME/.cache/ailoop/dev/bin/python}}"
BIN="$(dirname "$PY")"

log() { echo "feedback-engines.sh: $*" >&2; }

if [[ ! -x "$PY" ]]; then
    log "no Python at $PY"
    exit 1
fi

missing=()
for engine in ruff ty; do
    if [[ -x "$BIN/$engine" ]]; then
        log "$engine: $("$BIN/$engine" --version)"
    else
        missing+=("$engine")
    fi
done

if (( ${#missing[@]} )); then
    log "installing ${missing[*]} into $("$PY" -c 'import sys; print(sys.prefix)')"
    "$PY" -m pip install --quiet "ruff>=0.15" "ty>=0.0.1a20"
    for engine in "${missing[@]}"; do
        "$BIN/$engine" --version >&2
    done
fi
