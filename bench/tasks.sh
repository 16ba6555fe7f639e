#!/usr/bin/env bash
# Tasks list benchmark: GET /api/projects/:id/tasks?limit=50 (first page and a deep cursor page) over a project
# with 100,000 tasks, measured with wrk (installed from the distribution when missing). Loopback only, bounded
# in time. Uses the release gateway (built by bench/run.sh or `cargo build --release -p epop-gateway`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/services.sh
ensure_postgres
ensure_redis
command -v wrk >/dev/null 2>&1 || apt_install wrk
[ -x target/release/epop-gateway ] || cargo build --release --locked -p epop-gateway

PORT="${EPOP_BENCH_PORT:-18182}"
DB=epop_bench_tasks
TASKS="${EPOP_BENCH_TASKS:-100000}"
SECONDS_PER_RUN="${EPOP_BENCH_SECONDS:-15}"
psql_bench() { PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
psql_bench -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
STORE=$(mktemp -d)
env -i PATH="$PATH" HOME="$HOME" DATABASE_URL="postgres://postgres:postgres@127.0.0.1:5432/$DB" \
    REDIS_URL="redis://127.0.0.1:6379" EPOP_REDIS_PREFIX=epopbenchtasks EPOP_JWT_SECRET=bench-secret-bench-secret-bench-secret \
    EPOP_LISTEN="127.0.0.1:$PORT" EPOP_STORAGE_DIR="$STORE" EPOP_AUTH_RATE_LIMIT=0 EPOP_API_RATE_LIMIT=0 RUST_LOG=warn \
    target/release/epop-gateway > /tmp/epop-bench-tasks.log 2>&1 &
GW=$!
trap 'kill $GW 2>/dev/null; wait $GW 2>/dev/null; rm -rf "$STORE"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health/live" >/dev/null && break; sleep 0.2; done
TOKEN=$(curl -sf -X POST "http://127.0.0.1:$PORT/api/auth/register" -H 'content-type: application/json' \
    -d '{"name":"Bench","email":"bench@example.com","password":"bench password 1"}' | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
PROJECT=$(curl -sf -X POST "http://127.0.0.1:$PORT/api/projects" -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" \
    -d '{"name":"Big"}' | sed -n 's/^{"id":"\([^"]*\)".*/\1/p')
started=$(date +%s.%N)
psql_bench -d "$DB" -c "INSERT INTO tasks (id, project_id, title, status, created_by, created_at, updated_at)
    SELECT (lpad(to_hex(n), 12, '0') || '7000800000000000' || lpad(to_hex(n), 4, '0'))::uuid, '$PROJECT',
           'Task ' || n, (ARRAY['todo','in_progress','in_review','done'])[1 + n % 4],
           (SELECT owner_id FROM projects WHERE id = '$PROJECT'), now() - (($TASKS - n) || ' seconds')::interval, now()
    FROM generate_series(1, $TASKS) AS n" -c "ANALYZE tasks"
echo "== seeded $TASKS tasks in $(echo "$(date +%s.%N) - $started" | bc) s"
URL="http://127.0.0.1:$PORT/api/projects/$PROJECT/tasks?limit=50"
DEEP=$(curl -sf "$URL&status=todo" -H "authorization: Bearer $TOKEN" | sed -n 's/.*"next_cursor":"\([^"]*\)".*/\1/p')
for c in ${EPOP_BENCH_TASKS_CONNECTIONS:-2 8}; do
    echo "== GET /api/projects/:id/tasks?limit=50 (first page), $c connections, ${SECONDS_PER_RUN}s"
    wrk -t2 -c"$c" -d"${SECONDS_PER_RUN}s" --latency -H "Authorization: Bearer $TOKEN" "$URL" | grep -E "Requests/sec|Latency|50%|90%|99%|Non-2xx"
    echo "== same, filtered by status, second page by cursor"
    wrk -t2 -c"$c" -d"${SECONDS_PER_RUN}s" --latency -H "Authorization: Bearer $TOKEN" "$URL&status=todo&cursor=$DEEP" | grep -E "Requests/sec|Latency|50%|90%|99%|Non-2xx"
done
