# Shared helpers for the .ci scripts (sourced, not run).
# Conventions: scripts run as root; anything that talks to Postgres runs as the
# postgres user (initdb, pg_regress and TAP refuse root).

VECDB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The Postgres install to build against: Debian's PG 15 unless told otherwise.
PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
PG_USER="${PG_USER:-postgres}"
JOBS="${JOBS:-2}"
# Datasets (README in shared/data): CI puts shared/ beside the clone.
VECDB_SHARED="${VECDB_SHARED:-$VECDB_ROOT/../shared}"
export PG_CONFIG

log() { printf '\n==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

require_root() {
    [ "$(id -u)" -eq 0 ] || die "run this as root (or with sudo): it installs packages and drops to '$PG_USER' for Postgres"
}

as_pg() { runuser -u "$PG_USER" -- "$@"; }

# Postgres refuses to run as root, so the postgres user must own the tree and be
# able to reach it (a clone under /root is not reachable: mode 700).
give_tree_to_postgres() {
    chown -R "$PG_USER" "$VECDB_ROOT"
    as_pg test -w "$VECDB_ROOT/Makefile" ||
        die "user '$PG_USER' cannot reach $VECDB_ROOT (a parent directory is private); clone it somewhere like /srv or /tmp"
}
