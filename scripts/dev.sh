#!/usr/bin/env bash
# Runs the EPOP gateway on 127.0.0.1:8080 with its services, on a fresh Debian/Ubuntu machine that has only the
# Rust toolchain: installs and starts PostgreSQL and Redis when missing, creates the `epop` database, writes a
# generated EPOP_JWT_SECRET into .env when there is none, and serves (files in ./data/objects, no S3 needed).
#   ./scripts/dev.sh            release build (first build takes ~15 min on 2 cores)
#   EPOP_PROFILE=dev ./scripts/dev.sh   debug build (faster to build, slower to run)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/services.sh

ensure_rust
ensure_postgres
ensure_redis
ensure_database epop

touch .env
if ! grep -q '^EPOP_JWT_SECRET=..*' .env; then
    epop_log "writing a generated EPOP_JWT_SECRET into .env"
    sed -i '/^EPOP_JWT_SECRET=/d' .env
    printf 'EPOP_JWT_SECRET=%s\n' "$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=')" >> .env
fi
grep -q '^DATABASE_URL=' .env || echo 'DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/epop' >> .env
grep -q '^REDIS_URL=' .env || echo 'REDIS_URL=redis://127.0.0.1:6379' >> .env
grep -q '^EPOP_LISTEN=' .env || echo 'EPOP_LISTEN=127.0.0.1:8080' >> .env
# Plain HTTP on localhost: the refresh cookie cannot be `Secure` there.
grep -q '^EPOP_COOKIE_SECURE=' .env || echo 'EPOP_COOKIE_SECURE=false' >> .env

profile="${EPOP_PROFILE:-release}"
epop_log "building and starting epop-gateway ($profile) on http://127.0.0.1:8080 (docs: /docs/)"
if [ "$profile" = "release" ]; then
    # mimalloc returns freed memory to the system at once (the hashing blocks, after a login burst).
    export MIMALLOC_PURGE_DELAY="${MIMALLOC_PURGE_DELAY:-0}"
    export MIMALLOC_ALLOW_THP="${MIMALLOC_ALLOW_THP:-0}"
    exec cargo run --release --locked -p epop-gateway -- "$@"
else
    exec cargo run --locked -p epop-gateway -- "$@"
fi
