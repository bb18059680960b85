#!/usr/bin/env bash
# setup-emacs.sh
#
# Installs what the Emacs test (tests/emacs/) needs, idempotently, from Debian's packages:
#   emacs-nox   Emacs without X (Debian 12: 28.2)
#   elpa-eglot  eglot, Emacs's LSP client (Debian 12: 1.9), with its ELPA dependencies
# A second run only checks (well under a second) and installs nothing.
#
# Only root installs: as root, through apt-get. Run as another user, it prints the
# packages to install (`sudo apt-get install emacs-nox elpa-eglot`) and exits 0, so the
# Emacs test is skipped with that reason; with CI=true it exits 1 instead, as the test
# then fails when Emacs is missing.
#
# Prints the path of emacs on success:
#   AILOOP_EMACS=/usr/bin/emacs
# (the test reads AILOOP_EMACS and falls back to `emacs` on PATH).
#
# Environment:
#   AILOOP_SKIP_APT=1   never run apt-get (the packages must be there already)

set -Eeuo pipefail

die() { printf 'setup-emacs.sh: ERROR: %s\n' "$*" >&2; exit 1; }
say() { printf 'setup-emacs.sh: %s\n' "$*"; }

PACKAGES=(emacs-nox elpa-eglot)
EMACS=/usr/bin/emacs
LOG_DIR=${AILOOP_EDITORS_DIR:-$HOME/.cache/ailoop-editors}/logs

in_ci() { [[ ${CI:-} =~ ^(1|true|yes|TRUE|True)$ ]]; }

emacs_version() {  # prints e.g. 28.2, or nothing when there is no working emacs
  [[ -x $EMACS ]] || return 0
  "$EMACS" --batch -Q --eval '(princ emacs-version)' 2>/dev/null || true
}

eglot_version() {  # prints the eglot Emacs loads (e.g. eglot-1.9), or nothing
  # Not -Q: Debian's site-start (/etc/emacs/site-start.d/00debian.el) puts the elpa-*
  # packages on the load path; --batch already skips the user's init file.
  [[ -x $EMACS ]] || return 0
  "$EMACS" --batch --eval "(progn (require 'eglot)
    (princ (file-name-nondirectory (directory-file-name (file-name-directory (locate-library \"eglot\"))))))" \
    2>/dev/null || true
}

ev=$(emacs_version)
gv=$(eglot_version)
if [[ -n $ev && -n $gv ]]; then
  say "Emacs $ev with $gv already installed: $EMACS"
  echo "AILOOP_EMACS=$EMACS"
  exit 0
fi

missing=()
[[ -n $ev ]] || missing+=(emacs-nox)
missing+=(elpa-eglot)  # no eglot that loads: (re)install it with its dependencies
[[ ${AILOOP_SKIP_APT:-0} == 1 ]] && die "AILOOP_SKIP_APT=1 but missing: ${missing[*]} (Emacs: '${ev:-missing}', eglot: '${gv:-missing}')"
if [[ $(id -u) -ne 0 ]]; then
  msg="not root, so not installing: run  sudo apt-get install --no-install-recommends ${PACKAGES[*]}"
  if in_ci; then
    die "$msg (CI=true: the Emacs test needs them)"
  fi
  say "$msg"
  say "until then the Emacs test (tests/emacs/) is skipped"
  exit 0
fi
command -v apt-get >/dev/null || die "apt-get not found: install ${PACKAGES[*]} (Debian 12 versions) by hand"
mkdir -p "$LOG_DIR"
log=$LOG_DIR/apt-emacs.log
say "apt-get update; apt-get install ${PACKAGES[*]} (log: $log)"
if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
       && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-upgrade \
            --no-install-recommends "${PACKAGES[@]}"; } >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  die "apt-get install ${PACKAGES[*]} failed; full log: $log"
fi
ev=$(emacs_version)
gv=$(eglot_version)
[[ -n $ev ]] || die "after apt-get install, $EMACS does not run"
[[ -n $gv ]] || die "after apt-get install, Emacs $ev cannot (require 'eglot'); see $log"
say "installed Emacs $ev with $gv: $EMACS"
echo "AILOOP_EMACS=$EMACS"
