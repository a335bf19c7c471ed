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

# copy_pg_install DEST: a private copy of the Postgres installation behind
# $PG_CONFIG (bin, lib, share, headers). Postgres and pg_config find their
# files relative to their own location, so the copy works on its own; hard
# links when possible. The copy has no vecdb yet. Prints its pg_config.
copy_pg_install() {
    local dest="$1" src d
    src="$(cd "$("$PG_CONFIG" --bindir)/../../../../.." && pwd)"   # X/usr/lib/postgresql/15/bin -> X
    rm -rf "$dest"
    for d in usr/lib/postgresql/15 usr/share/postgresql/15 usr/include/postgresql; do
        mkdir -p "$dest/$(dirname "$d")"
        cp -al "$src/$d" "$dest/$d" 2>/dev/null || cp -a "$src/$d" "$dest/$d"
    done
    rm -f "$dest"/usr/lib/postgresql/15/lib/vecdb.so "$dest"/usr/share/postgresql/15/extension/vecdb*
    echo "$dest/usr/lib/postgresql/15/bin/pg_config"
}
