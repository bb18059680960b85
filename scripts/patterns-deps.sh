#!/usr/bin/env bash
# Install what the pattern tests need into the given Python environment (idempotent):
# ast-grep-py (matching), jsonschema (SARIF validation), pre-commit (the hook test).
# Usage: scripts/patterns-deps.sh [PYTHON]   (default: ~/.cache/ailoop/dev/bin/python)
set -euo pipefail
PYTHON="${1:-${PYTHON:-$HOME/.cache/ailoop/dev/bin/python}}"
missing=()
"$PYTHON" -c "import ast_grep_py" 2>/dev/null || missing+=("ast-grep-py>=0.51")
"$PYTHON" -c "import jsonschema" 2>/dev/null || missing+=("jsonschema>=4.18")
"$PYTHON" -m pre_commit --version >/dev/null 2>&1 || missing+=("pre-commit>=3")
if ((${#missing[@]})); then
    "$PYTHON" -m pip install --quiet "${missing[@]}"
fi
# pre-commit keeps the hook environments it builds here, outside the clone
mkdir -p "$HOME/.cache/ailoop-precommit"
echo "pattern test dependencies ready for $PYTHON"
