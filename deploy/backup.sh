#!/usr/bin/env bash
# Scheduled PostgreSQL backups of EPOP: a `pg_dump` in custom format every EPOP_BACKUP_INTERVAL seconds into
# EPOP_BACKUP_DIR, keeping EPOP_BACKUP_KEEP of them (the newest). Connection from the libpq variables
# (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE) or DATABASE_URL. `--once` takes one backup and exits
# (cron jobs, Kubernetes CronJobs, the restore drill). What it writes is restored by deploy/restore.sh.
#
#   EPOP_BACKUP_DIR       where dumps go                        (/backups)
#   EPOP_BACKUP_INTERVAL  seconds between two dumps             (21600: every 6 hours)
#   EPOP_BACKUP_KEEP      dumps kept, the newest                 (28: a week at the default interval)
set -euo pipefail
dir="${EPOP_BACKUP_DIR:-/backups}"
interval="${EPOP_BACKUP_INTERVAL:-21600}"
keep="${EPOP_BACKUP_KEEP:-28}"
target=()
[ -n "${DATABASE_URL:-}" ] && target=(--dbname "$DATABASE_URL")

backup_once() {
    mkdir -p "$dir"
    local stamp file
    stamp=$(date -u +%Y%m%dT%H%M%SZ)
    file="$dir/epop-$stamp.dump"
    # Written under a temporary name and renamed when complete: a half-written dump is never taken for a backup.
    pg_dump --format=custom --compress=6 --no-owner --no-privileges "${target[@]}" --file "$file.partial"
    mv "$file.partial" "$file"
    echo "backup: $file ($(du -h "$file" | cut -f1))"
    # Retention: the newest $keep dumps stay.
    ls -1t "$dir"/epop-*.dump 2>/dev/null | tail -n +"$((keep + 1))" | while read -r old; do
        rm -f -- "$old"
        echo "backup: removed $old (keeping the newest $keep)"
    done
}

if [ "${1:-}" = "--once" ]; then
    backup_once
    exit 0
fi
while true; do
    backup_once || echo "backup: failed; trying again at the next interval" >&2
    sleep "$interval"
done
