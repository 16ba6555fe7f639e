#!/usr/bin/env bash
# The long schemathesis run: the gateway (debug build) against a scratch database on loopback, checked by
# schemathesis (tests/clients/python/.venv, from tests/clients/python/requirements.txt) with every check, many more
# examples than the test suite's bounded run (apps/gateway/tests/it/openapi.rs), and the settings of
# tests/schemathesis.toml. Exits non-zero when schemathesis finds anything.
#
# Usage: bench/openapi.sh
#   EPOP_OPENAPI_EXAMPLES   examples per operation (200)
#   EPOP_OPENAPI_SECONDS    time budget of the run (900)
#   EPOP_OPENAPI_SEED       schemathesis seed (random when unset)
#   EPOP_OPENAPI_PORT / EPOP_OPENAPI_DB   the gateway's port (18182) and scratch database (epop_openapi)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/services.sh
ensure_postgres
ensure_redis
ensure_socketio_clients

PORT="${EPOP_OPENAPI_PORT:-18182}"
DB="${EPOP_OPENAPI_DB:-epop_openapi}"
EXAMPLES="${EPOP_OPENAPI_EXAMPLES:-200}"
BUDGET="${EPOP_OPENAPI_SECONDS:-900}"
SEED_ARGS=()
[ -n "${EPOP_OPENAPI_SEED:-}" ] && SEED_ARGS=(--seed "$EPOP_OPENAPI_SEED")
URL="http://127.0.0.1:$PORT"

epop_log "building the gateway (debug)"
cargo build --locked -p epop-gateway
TARGET_DIR="${CARGO_TARGET_DIR:-target}"

PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS \"$DB\"" >/dev/null
ensure_database "$DB"
STORE=$(mktemp -d)
LOG=$(mktemp)
DATABASE_URL="postgres://postgres:postgres@127.0.0.1:5432/$DB" \
    REDIS_URL="redis://127.0.0.1:6379" EPOP_REDIS_PREFIX="epopopenapi" \
    EPOP_JWT_SECRET="openapi-secret-openapi-secret-openapi" EPOP_LISTEN="127.0.0.1:$PORT" EPOP_PUBLIC_URL="$URL" \
    EPOP_STORAGE_DIR="$STORE" EPOP_AUTH_RATE_LIMIT=0 EPOP_API_RATE_LIMIT=0 EPOP_COOKIE_SECURE=false RUST_LOG=warn \
    "$TARGET_DIR/debug/epop-gateway" >"$LOG" 2>&1 &
GATEWAY=$!
trap 'kill "$GATEWAY" 2>/dev/null || true; rm -rf "$STORE"' EXIT
for _ in $(seq 120); do curl -fs "$URL/health/live" >/dev/null 2>&1 && break; sleep 0.5; done

TOKEN=$(curl -fs -X POST "$URL/api/auth/register" -H 'content-type: application/json' \
    -d '{"name":"Schema Thesis","email":"schemathesis@example.com","password":"correct horse battery"}' |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')

epop_log "schemathesis: $EXAMPLES examples per operation, at most $BUDGET s"
status=0
tests/clients/python/.venv/bin/schemathesis --config-file tests/schemathesis.toml run "$URL/api/openapi.json" \
    --header "Authorization: Bearer $TOKEN" --checks all --max-examples "$EXAMPLES" --max-time "$BUDGET" \
    --workers 2 "${SEED_ARGS[@]}" || status=$?
if grep -q '"level":"ERROR"' "$LOG"; then
    echo "the gateway logged errors during the run:" >&2
    grep '"level":"ERROR"' "$LOG" | head -n 20 >&2
    status=1
fi
exit "$status"
