#!/usr/bin/env bash
# Start the machine's PostgreSQL 15 for the shared-store tests and benchmark.
#
# Idempotent: installs postgresql-15 from apt when the binaries are missing (root only),
# starts the `main` cluster, lets the test role connect over loopback without a password
# (trust, for this role and database only), creates that role and database, and prints
# the settings to use:
#
#   AILOOP_PG_BINDIR=/usr/lib/postgresql/15/bin      (tests create their own clusters with it)
#   AILOOP_TEST_PG_URL=postgresql://ailoop_test@127.0.0.1:5432/ailoop_test   (bench)
#
# Use: eval "$(scripts/postgres.sh)"
set -euo pipefail

VERSION=15
CLUSTER=main
ROLE=ailoop_test
DB=ailoop_test
BINDIR="/usr/lib/postgresql/$VERSION/bin"
MARK="# ailoop-test: trust for the test role (scripts/postgres.sh)"

log() { echo "postgres.sh: $*" >&2; }

if [[ ! -x "$BINDIR/postgres" ]]; then
    if [[ $(id -u) -ne 0 ]]; then
        log "PostgreSQL $VERSION is not installed; run as root or: apt-get install postgresql-$VERSION"
        exit 1
    fi
    log "installing postgresql-$VERSION"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq "postgresql-$VERSION" >&2
fi

as_postgres() {
    if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if ! pg_lsclusters -h 2>/dev/null | awk -v v="$VERSION" -v c="$CLUSTER" '$1==v && $2==c' | grep -q .; then
    log "creating cluster $VERSION/$CLUSTER"
    pg_createcluster "$VERSION" "$CLUSTER" >&2
fi

CONF_DIR="/etc/postgresql/$VERSION/$CLUSTER"
HBA="$CONF_DIR/pg_hba.conf"
PORT=$(awk '$1=="port" {print $3}' "$CONF_DIR/postgresql.conf" | head -n1)
PORT=${PORT:-5432}

if ! grep -qF "$MARK" "$HBA"; then
    log "allowing $ROLE on loopback without a password ($HBA)"
    tmp=$(mktemp)
    {
        echo "$MARK"
        echo "host    all    $ROLE    127.0.0.1/32    trust"
        echo "host    all    $ROLE    ::1/128         trust"
        cat "$HBA"
    } >"$tmp"
    cat "$tmp" >"$HBA"
    rm -f "$tmp"
    RELOAD=1
fi

if ! pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1==v && $2==c {print $4}' | grep -q online; then
    log "starting cluster $VERSION/$CLUSTER"
    pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$CLUSTER" start >&2
elif [[ -n ${RELOAD:-} ]]; then
    pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$CLUSTER" reload >&2
fi

psql_admin() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" -d postgres "$@"; }

# Wait for the server to accept connections (start returns once it is up, reload is async).
for _ in $(seq 1 100); do
    if as_postgres "$BINDIR/pg_isready" -q -p "$PORT"; then break; fi
    sleep 0.1
done

if [[ $(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'") != 1 ]]; then
    log "creating role $ROLE"
    psql_admin -c "CREATE ROLE $ROLE LOGIN CREATEDB CREATEROLE"
fi
if [[ $(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'") != 1 ]]; then
    log "creating database $DB"
    psql_admin -c "CREATE DATABASE $DB OWNER $ROLE"
fi

echo "export AILOOP_PG_BINDIR=$BINDIR"
echo "export AILOOP_TEST_PG_URL=postgresql://$ROLE@127.0.0.1:$PORT/$DB"
