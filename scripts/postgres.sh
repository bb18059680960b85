#!/usr/bin/env bash
# Make sure PostgreSQL 15's server binaries are installed, and say where they are.
#
# The shared-store tests (tests/store/pg_cluster.py) and bench/store_bench.py start
# private clusters of their own with these binaries: initdb in a new temporary
# directory, the UNIX socket in that directory, a free loopback port or the socket only,
# stopped and removed at the end. This script starts no server, creates no role or
# database and edits no configuration.
#
# Idempotent. When the binaries are missing it installs the Debian package
# postgresql-$VERSION with apt-get (root, or sudo). Debian's package then creates and
# starts a `main` cluster of its own; when this script installed the package and that
# cluster did not exist before, it drops it again at once (pg_dropcluster --stop), so that
# the package's files are all that is left. A `main` cluster that was there before, for
# instance one that an older version of this script started and whose pg_hba.conf it
# edited, is left as it is (docs/development.md says how to undo that by hand).
#
# Prints, for eval:
#   export AILOOP_PG_BINDIR=/usr/lib/postgresql/15/bin
#
# Use: eval "$(scripts/postgres.sh)"
#
# Environment:
#   AILOOP_PG_BINDIR   binaries to use instead (a directory with initdb, pg_ctl, postgres)
#   AILOOP_SKIP_APT=1  never run apt-get (the binaries must be there already)
set -Eeuo pipefail

VERSION=15
BINDIR=${AILOOP_PG_BINDIR:-/usr/lib/postgresql/$VERSION/bin}

log() { echo "postgres.sh: $*" >&2; }
die() { echo "postgres.sh: ERROR: $*" >&2; exit 1; }

have_binaries() { [[ -x $BINDIR/initdb && -x $BINDIR/pg_ctl && -x $BINDIR/postgres ]]; }
has_main_cluster() { [[ -f /etc/postgresql/$VERSION/main/postgresql.conf ]]; }

if ! have_binaries; then
    [[ -z ${AILOOP_PG_BINDIR:-} ]] || die "AILOOP_PG_BINDIR=$AILOOP_PG_BINDIR has no initdb, pg_ctl and postgres"
    [[ ${AILOOP_SKIP_APT:-} != 1 ]] || die "PostgreSQL $VERSION is not installed and AILOOP_SKIP_APT=1: apt-get install postgresql-$VERSION"
    command -v apt-get >/dev/null || die "PostgreSQL $VERSION not found in $BINDIR and no apt-get: install it, then set AILOOP_PG_BINDIR"
    sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null || die "PostgreSQL $VERSION is not installed; run as root or: apt-get install postgresql-$VERSION"
        sudo=(sudo)
    fi
    had_main=0
    if has_main_cluster; then had_main=1; fi
    log "installing postgresql-$VERSION with apt-get (the server binaries)"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
        install -y -qq --no-upgrade "postgresql-$VERSION" >&2
    if ((!had_main)) && has_main_cluster; then
        log "dropping the $VERSION/main cluster the package's install just created (the tests start their own)"
        "${sudo[@]}" pg_dropcluster --stop "$VERSION" main >&2
    fi
    have_binaries || die "after apt-get install postgresql-$VERSION, $BINDIR has no initdb, pg_ctl and postgres"
fi

echo "export AILOOP_PG_BINDIR=$BINDIR"
