#!/usr/bin/env bash
# EPOP benchmarks: builds the release gateway and load generator, starts the gateway against a scratch
# database on loopback, runs the scenarios and prints their figures. Traffic goes to 127.0.0.1 only; every loop
# is bounded in time.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/services.sh
ensure_postgres
ensure_redis

PORT="${EPOP_BENCH_PORT:-18181}"
DB="epop_bench"
SECONDS_PER_RUN="${EPOP_BENCH_SECONDS:-15}"
CORES=$(nproc)

epop_log "building release binaries"
cargo build --release --locked -p epop-gateway -p epop-loadgen
GATEWAY=target/release/epop-gateway
LOADGEN=target/release/epop-loadgen

PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE $DB"
STORE=$(mktemp -d)
env -i PATH="$PATH" HOME="$HOME" \
    DATABASE_URL="postgres://postgres:postgres@127.0.0.1:5432/$DB" \
    REDIS_URL="redis://127.0.0.1:6379" EPOP_REDIS_PREFIX="epopbench" \
    EPOP_JWT_SECRET="bench-secret-bench-secret-bench-secret" \
    EPOP_LISTEN="127.0.0.1:$PORT" EPOP_STORAGE_DIR="$STORE" \
    EPOP_AUTH_RATE_LIMIT=0 EPOP_API_RATE_LIMIT=0 RUST_LOG=warn \
    "$GATEWAY" > /tmp/epop-bench-gateway.log 2>&1 &
GW_PID=$!
trap 'kill $GW_PID 2>/dev/null; wait $GW_PID 2>/dev/null; rm -rf "$STORE"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health/live" >/dev/null && break; sleep 0.2; done

curl -sf -X POST "http://127.0.0.1:$PORT/api/auth/register" -H 'content-type: application/json' \
    -d '{"name":"Bench","email":"bench@example.com","password":"bench password 1"}' >/dev/null

echo "== machine: $CORES cores; $(uname -sr)"
echo "== login, one at a time (time per Argon2id verification + request overhead)"
"$LOADGEN" --base-url "http://127.0.0.1:$PORT" login --email bench@example.com --password 'bench password 1' \
    --concurrency 1 --seconds 5 --probe-rate 0
echo "== login saturated ($((CORES * 4)) concurrent), /health/live probed at 200/s"
"$LOADGEN" --base-url "http://127.0.0.1:$PORT" login --email bench@example.com --password 'bench password 1' \
    --concurrency $((CORES * 4)) --seconds "$SECONDS_PER_RUN" --probe-rate 200
echo "== /health/live alone, probed at 200/s (baseline)"
"$LOADGEN" --base-url "http://127.0.0.1:$PORT" login --email bench@example.com --password 'bench password 1' \
    --concurrency 0 --seconds 5 --probe-rate 200
