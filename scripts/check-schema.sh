#!/usr/bin/env bash
# Checks the Diesel migrations and the committed schema against each other.
#
# On the PostgreSQL server of $DATABASE_URL it creates a scratch database, runs
# every migration up, reverts and re-applies all of them (down/up round trip),
# prints the schema and diffs it against crates/storage/src/schema.rs. The
# scratch database is dropped on exit. Exits non-zero on any failure or drift.
#
# Needs: diesel CLI (cargo install diesel_cli --no-default-features --features postgres --locked),
# psql, and a DATABASE_URL whose user may CREATE DATABASE (and CREATE EXTENSION
# pg_trgm / btree_gist, both trusted extensions).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
schema_file="$root/crates/storage/src/schema.rs"
migrations_dir="$root/migrations"
config_file="$root/diesel.toml"

: "${DATABASE_URL:?DATABASE_URL must be set (postgres://user:pass@host:port/db)}"
command -v diesel >/dev/null || { echo "check-schema: diesel CLI not found in PATH" >&2; exit 2; }
command -v psql >/dev/null || { echo "check-schema: psql not found in PATH" >&2; exit 2; }

# Split DATABASE_URL into scheme://authority, database and ?query.
if [[ ! "$DATABASE_URL" =~ ^([a-zA-Z][a-zA-Z0-9+.-]*://[^/?]*)(/[^?]*)?(\?.*)?$ ]]; then
    echo "check-schema: cannot parse DATABASE_URL" >&2
    exit 2
fi
base="${BASH_REMATCH[1]}"
query="${BASH_REMATCH[3]:-}"
scratch_db="epop_schema_check_$(date +%s)_$$"
scratch_url="$base/$scratch_db$query"
# Maintenance connection: DATABASE_URL's own database, else the server's
# `postgres` database (when DATABASE_URL names one that does not exist yet).
admin_url="$DATABASE_URL"
if ! psql "$admin_url" -X -q -c 'SELECT 1' >/dev/null 2>&1; then
    admin_url="$base/postgres$query"
fi

psql_admin() {
    psql "$admin_url" -X -q -v ON_ERROR_STOP=1 "$@"
}

tmp_dir="$(mktemp -d)"
cleanup() {
    local status=$?
    psql_admin -c "DROP DATABASE IF EXISTS \"$scratch_db\" WITH (FORCE)" >/dev/null 2>&1 \
        || echo "check-schema: could not drop scratch database $scratch_db" >&2
    rm -rf "$tmp_dir"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "check-schema: creating scratch database $scratch_db"
psql_admin -c "CREATE DATABASE \"$scratch_db\""

# `diesel migration run/redo` rewrite [print_schema] file after running; use a
# config with only the migrations directory so the committed schema.rs is never
# touched, and keep the project's diesel.toml for print-schema.
run_config="$tmp_dir/diesel.toml"
printf '[migrations_directory]\ndir = "%s"\n' "$migrations_dir" >"$run_config"

cd "$root"
echo "check-schema: migration run"
diesel migration run --database-url "$scratch_url" --config-file "$run_config"
echo "check-schema: migration redo --all (down/up round trip)"
diesel migration redo --all --database-url "$scratch_url" --config-file "$run_config"
echo "check-schema: migration run (nothing pending)"
diesel migration run --database-url "$scratch_url" --config-file "$run_config"

echo "check-schema: print-schema"
diesel print-schema --database-url "$scratch_url" --config-file "$config_file" >"$tmp_dir/schema.rs"

if ! diff -u "$schema_file" "$tmp_dir/schema.rs"; then
    echo "check-schema: $schema_file differs from the migrations; regenerate it with" >&2
    echo "  diesel print-schema > crates/storage/src/schema.rs   (against a freshly migrated database)" >&2
    exit 1
fi
echo "check-schema: OK"
