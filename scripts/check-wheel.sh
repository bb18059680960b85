#!/usr/bin/env bash
# check-wheel.sh: build ailoop's sdist and wheel as a release would, check them, and run
# the wheel from a fresh virtualenv.
#
#   1. copies the clone's files (tracked and untracked, not ignored) into a temporary
#      directory outside the clone, so that building writes nothing into the clone;
#   2. `python -m build` there (sdist, then the wheel from the sdist; the build backend
#      comes from PyPI into build's isolated environment, pinned by scripts/constraints.txt);
#   3. `twine check --strict` of both;
#   4. the wheel's and the sdist's metadata version equal ailoop.__version__;
#   5. `pip install` of the wheel (dependencies from PyPI, pinned by the same constraints)
#      into a fresh venv, then `ailoop --version` and `ailoop replay examples/session.jsonl`
#      from it, with a data and config directory of their own;
#   6. `uv tool install` of the wheel into an empty tool directory, then `ailoop replay`.
# Everything lives in one temporary directory, removed at the end.
#
# Environment:
#   PYTHON         interpreter with build and twine installed (default: python3 on PATH;
#                  scripts/test passes the test venv's)
#   BASE_PYTHON    interpreter that creates the fresh venv (default: $PYTHON's base)
set -Eeuo pipefail

die() { printf 'check-wheel.sh: ERROR: %s\n' "$*" >&2; exit 1; }
say() { printf 'check-wheel.sh: %s\n' "$*"; }

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
CONSTRAINTS=$REPO/scripts/constraints.txt
PYTHON=${PYTHON:-python3}
BASE_PYTHON=${BASE_PYTHON:-$("$PYTHON" -c 'import sys; print(sys._base_executable)')}
"$PYTHON" -c 'import build, twine' 2>/dev/null \
    || die "$PYTHON has no build or twine (pip install -c scripts/constraints.txt -e '.[dev]')"
command -v git >/dev/null || die "git not found (the files to build are the clone's)"

work=$(mktemp -d "${TMPDIR:-/tmp}/ailoop-wheel.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/src" "$work/dist" "$work/data" "$work/config"

# 1. the files a fresh clone would have, plus new ones not yet committed
git -C "$REPO" ls-files -z --cached --others --exclude-standard \
    | (cd "$REPO" && while IFS= read -r -d '' f; do [[ -e $f ]] && printf '%s\0' "$f"; done) \
    | tar -C "$REPO" --null -T - -cf - | tar -C "$work/src" -xf -

# 2. build (PIP_CONSTRAINT reaches the pip that installs the build backend)
say "python -m build (in $work)"
PIP_CONSTRAINT=$CONSTRAINTS "$PYTHON" -m build --outdir "$work/dist" "$work/src" >"$work/build.log" 2>&1 \
    || { cat "$work/build.log" >&2; die "python -m build failed"; }
shopt -s nullglob
wheels=("$work"/dist/ailoop-*.whl)
sdists=("$work"/dist/ailoop-*.tar.gz)
((${#wheels[@]} == 1 && ${#sdists[@]} == 1)) || die "expected one wheel and one sdist, got: $(ls "$work/dist")"
wheel=${wheels[0]}
sdist=${sdists[0]}
say "built $(basename "$sdist") and $(basename "$wheel")"

# 3. twine
"$PYTHON" -m twine check --strict "$wheel" "$sdist"

# 4. one version everywhere
version=$(cd "$work/src/server" && "$PYTHON" -c 'import ailoop; print(ailoop.__version__)')
"$PYTHON" - "$wheel" "$sdist" "$version" <<'EOF'
import sys
import tarfile
import zipfile
from email.parser import HeaderParser

wheel, sdist, version = sys.argv[1:]
with zipfile.ZipFile(wheel) as zf:
    [name] = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
    wheel_version = HeaderParser().parsestr(zf.read(name).decode())["Version"]
with tarfile.open(sdist) as tf:
    [member] = [m for m in tf.getmembers() if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO")]
    sdist_version = HeaderParser().parsestr(tf.extractfile(member).read().decode())["Version"]
if not wheel_version == sdist_version == version:
    sys.exit(f"check-wheel.sh: ERROR: versions differ: ailoop.__version__ {version}, "
             f"wheel {wheel_version}, sdist {sdist_version}")
print(f"check-wheel.sh: metadata version {version} = ailoop.__version__")
EOF

# 5. a fresh venv with the wheel, run from outside the clone
say "pip install of the wheel into a fresh venv ($BASE_PYTHON)"
"$BASE_PYTHON" -m venv "$work/venv"
(cd "$work" && env -u PYTHONPATH "$work/venv/bin/python" -m pip install --quiet \
    --disable-pip-version-check -c "$CONSTRAINTS" "$wheel") || die "pip install of $wheel failed"
run() { (cd "$work" && env -u PYTHONPATH AILOOP_DATA_DIR="$work/data" AILOOP_CONFIG_DIR="$work/config" "$@"); }
said=$(run "$work/venv/bin/ailoop" --version) || die "ailoop --version failed"
[[ $said == *"$version"* ]] || die "ailoop --version said '$said', expected $version"
say "ailoop --version: $said"
run "$work/venv/bin/ailoop" replay "$REPO/examples/session.jsonl" >"$work/replay.log" 2>&1 \
    || { cat "$work/replay.log" >&2; die "ailoop replay examples/session.jsonl failed"; }
for expected in "AI snippet from copilot, 5 lines" "[ruff:E722]" "Events recorded (4)"; do
    grep -qF -- "$expected" "$work/replay.log" \
        || { cat "$work/replay.log" >&2; die "ailoop replay did not print '$expected'"; }
done
say "ailoop replay examples/session.jsonl from the installed wheel: ok"

# 6. `uv tool install` of the wheel into an empty tool directory: the documented install for
#    the command line, in an environment of its own (uv itself from PyPI, pinned)
say "uv tool install of the wheel into an empty tool directory"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check -c "$CONSTRAINTS" uv \
    || die "pip install uv failed"
mkdir "$work/tools" "$work/bin" "$work/uv-cache"
(cd "$work" && env -u PYTHONPATH -u VIRTUAL_ENV UV_TOOL_DIR="$work/tools" UV_TOOL_BIN_DIR="$work/bin" \
    UV_CACHE_DIR="$work/uv-cache" UV_PYTHON_DOWNLOADS=never \
    "$work/venv/bin/uv" tool install --quiet --python "$BASE_PYTHON" --constraints "$CONSTRAINTS" "$wheel") \
    || die "uv tool install of $wheel failed"
run "$work/bin/ailoop" replay "$REPO/examples/session.jsonl" >"$work/replay-tool.log" 2>&1 \
    || { cat "$work/replay-tool.log" >&2; die "ailoop replay from the uv tool install failed"; }
grep -qF -- "Events recorded (4)" "$work/replay-tool.log" \
    || { cat "$work/replay-tool.log" >&2; die "ailoop replay (uv tool) did not record its events"; }
say "ailoop replay examples/session.jsonl from uv tool install: ok"
