#!/usr/bin/env bash
# Restores an EPOP backup (a custom-format dump written by deploy/backup.sh) into an EMPTY database.
#
#   deploy/restore.sh BACKUP.dump postgres://USER:PASSWORD@HOST:5432/NEW_DATABASE
#
# The database must exist and be empty (create it with `createdb` or `CREATE DATABASE`); the dump brings the
# schema, the migration history and every row, so a gateway started on it applies no migration and serves the
# same data. Stops at the first error. See deploy/BACKUP.md for the whole procedure.
set -euo pipefail
if [ $# -ne 2 ]; then
    echo "usage: $0 BACKUP.dump DATABASE_URL" >&2
    exit 2
fi
dump=$1
url=$2
[ -f "$dump" ] || { echo "error: no such backup: $dump" >&2; exit 1; }
tables=$(psql "$url" -Atqc "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
if [ "$tables" != 0 ]; then
    echo "error: the target database is not empty ($tables tables): restore into a new database" >&2
    exit 1
fi
pg_restore --no-owner --no-privileges --exit-on-error --dbname "$url" "$dump"
echo "restore: $dump restored ($(psql "$url" -Atqc 'SELECT count(*) FROM __diesel_schema_migrations') migrations applied, $(psql "$url" -Atqc 'SELECT count(*) FROM users') users, $(psql "$url" -Atqc 'SELECT count(*) FROM messages') messages)"
