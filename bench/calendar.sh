#!/usr/bin/env bash
# Calendar range-query benchmark (issue 15): GET /api/calendar-events over one month (limit=100) for a user with
# 1,000 single events alone, and for a user with the same 1,000 single events plus 200 recurring series (daily,
# weekly and monthly rules in several time zones, some with exdates, overrides and COUNT/UNTIL), measured with
# wrk in the same run; p99 printed side by side with the ratio (the target is at most 2x). The comparison is
# like for like: the same query and limit, and both answers a full page (the single events are spread over the
# first 300 days of 2026, so July holds 103 of them; both users' first page of July has 100 items, checked and
# printed). The two are measured in alternating rounds (EPOP_BENCH_CALENDAR_ROUNDS, 2), so that noise from
# other processes on the machine falls on both; each round's figures and the ratio of the mean p99s are
# printed. Loopback only, bounded in time. Uses the release gateway (built by bench/run.sh or `cargo build --release -p epop-gateway`,
# in CARGO_TARGET_DIR when set), or the binary EPOP_BENCH_GATEWAY names (a debug build for a quick check).
# EPOP_BENCH_CALENDAR_SINGLES and EPOP_BENCH_CALENDAR_SERIES change the counts (1000 and 200) for a smoke run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/services.sh
ensure_postgres
ensure_redis
command -v wrk >/dev/null 2>&1 || apt_install wrk
GATEWAY="${EPOP_BENCH_GATEWAY:-${CARGO_TARGET_DIR:-target}/release/epop-gateway}"
[ -x "$GATEWAY" ] || cargo build --release --locked -p epop-gateway
SINGLES="${EPOP_BENCH_CALENDAR_SINGLES:-1000}"
SERIES="${EPOP_BENCH_CALENDAR_SERIES:-200}"
ROUNDS="${EPOP_BENCH_CALENDAR_ROUNDS:-2}"
# EPOP_BENCH_CALENDAR_PROFILE=DIR: after the measured rounds, one more run of each user under `perf record`
# (DIR/singles.perf, DIR/mixed.perf, DIR/*.txt: where the gateway's CPU time goes); not counted in the figures.
PROFILE="${EPOP_BENCH_CALENDAR_PROFILE:-}"
LIMIT=100

PORT="${EPOP_BENCH_PORT:-18183}"
DB=epop_bench_calendar
SECONDS_PER_RUN="${EPOP_BENCH_SECONDS:-15}"
CONNECTIONS="${EPOP_BENCH_CALENDAR_CONNECTIONS:-4}"
psql_bench() { PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
psql_bench -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
STORE=$(mktemp -d)
env -i PATH="$PATH" HOME="$HOME" DATABASE_URL="postgres://postgres:postgres@127.0.0.1:5432/$DB" \
    REDIS_URL="redis://127.0.0.1:6379" EPOP_REDIS_PREFIX=epopbenchcal EPOP_JWT_SECRET=bench-secret-bench-secret-bench-secret \
    EPOP_LISTEN="127.0.0.1:$PORT" EPOP_STORAGE_DIR="$STORE" EPOP_AUTH_RATE_LIMIT=0 EPOP_API_RATE_LIMIT=0 RUST_LOG=warn \
    "$GATEWAY" > /tmp/epop-bench-calendar.log 2>&1 &
GW=$!
trap 'kill $GW 2>/dev/null; wait $GW 2>/dev/null; rm -rf "$STORE"; psql_bench -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true' EXIT
# A first start applies the migrations (a debug build takes a while).
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$PORT/health/live" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$PORT/health/live" >/dev/null || { echo "the gateway did not start:" >&2; cat /tmp/epop-bench-calendar.log >&2; exit 1; }
API="http://127.0.0.1:$PORT/api"
register() {
    curl -sf -X POST "$API/auth/register" -H 'content-type: application/json' \
        -d "{\"name\":\"$1\",\"email\":\"$1@example.com\",\"password\":\"bench password 1\"}" |
        sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p'
}
SINGLES_TOKEN=$(register singles)
MIXED_TOKEN=$(register mixed)
user_id() { psql_bench -d "$DB" -c "SELECT id FROM users WHERE email = '$1@example.com'"; }
SINGLES_ID=$(user_id singles)
MIXED_ID=$(user_id mixed)

started=$(date +%s.%N)
# $SINGLES single events for each user, spread over the first 300 days of 2026 (one to three hours long), so that
# July holds 103 of 1,000: a full first page for both users.
for owner in "$SINGLES_ID" "$MIXED_ID"; do
    psql_bench -d "$DB" -c "INSERT INTO calendar_events (id, user_id, title, description, start_time, end_time, created_at, updated_at)
        SELECT gen_random_uuid(), '$owner', 'Event ' || n, '',
               timestamptz '2026-01-01 00:00Z' + (n * (7200.0 / $SINGLES) || ' hours')::interval,
               timestamptz '2026-01-01 00:00Z' + (n * (7200.0 / $SINGLES) || ' hours')::interval + ((1 + n % 3) || ' hours')::interval,
               now() - interval '1 day', now() - interval '1 day'
        FROM generate_series(1, $SINGLES) AS n"
done
# $SERIES series for the mixed user, through the API (rules validated, series_end computed by the gateway).
rules=("FREQ=DAILY" "FREQ=WEEKLY;BYDAY=MO,WE,FR" "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU" "FREQ=MONTHLY;BYMONTHDAY=15"
       "FREQ=DAILY;COUNT=200" "FREQ=WEEKLY;UNTIL=20261231T235959Z" "FREQ=MONTHLY;BYDAY=1MO" "FREQ=YEARLY")
zones=("UTC" "Europe/London" "America/New_York" "Asia/Jakarta")
for i in $(seq 0 $((SERIES - 1))); do
    rule=${rules[$((i % ${#rules[@]}))]}
    zone=${zones[$((i % ${#zones[@]}))]}
    day=$((1 + i % 28))
    month=$((1 + i % 6))
    start=$(printf '2026-%02d-%02dT%02d:00:00Z' "$month" "$day" $((7 + i % 10)))
    end=$(printf '2026-%02d-%02dT%02d:45:00Z' "$month" "$day" $((7 + i % 10)))
    id=$(curl -sf -X POST "$API/calendar-events" -H 'content-type: application/json' -H "authorization: Bearer $MIXED_TOKEN" \
        -d "{\"title\":\"Series $i\",\"start_time\":\"$start\",\"end_time\":\"$end\",\"rrule\":\"$rule\",\"time_zone\":\"$zone\"}" |
        sed -n 's/^{"id":"\([^"]*\)".*/\1/p')
    [ -n "$id" ] || { echo "creating series $i failed" >&2; exit 1; }
    # The daily series in UTC (every eighth) get a changed instance (2 July, half an hour later) and a cancelled
    # one (3 July) in the measured month.
    if [ $((i % 8)) = 0 ]; then
        hour=$(printf '%02d' $((7 + i % 10)))
        curl -sf -X PUT "$API/calendar-events/${id}_20260702T${hour}0000Z" -H 'content-type: application/json' \
            -H "authorization: Bearer $MIXED_TOKEN" \
            -d "{\"title\":\"Series $i, moved\",\"start_time\":\"2026-07-02T${hour}:30:00Z\",\"end_time\":\"2026-07-02T${hour}:59:00Z\"}" \
            >/dev/null || { echo "changing an instance of series $i failed" >&2; exit 1; }
        curl -sf -X DELETE "$API/calendar-events/${id}_20260703T${hour}0000Z" -H "authorization: Bearer $MIXED_TOKEN" \
            >/dev/null || { echo "cancelling an instance of series $i failed" >&2; exit 1; }
    fi
done
psql_bench -d "$DB" -c "ANALYZE"
echo "== seeded 2 x $SINGLES single events and $SERIES series in $(echo "$(date +%s.%N) - $started" | bc) s"

RANGE="from=2026-07-01T00:00:00Z&to=2026-08-01T00:00:00Z&limit=$LIMIT"
count() { curl -sf "$API/calendar-events?$RANGE" -H "authorization: Bearer $1" | grep -o '"title"' | wc -l; }
SINGLES_ITEMS=$(count "$SINGLES_TOKEN")
MIXED_ITEMS=$(count "$MIXED_TOKEN")
echo "== first page of July 2026 (limit=$LIMIT): $SINGLES_ITEMS items (singles only), $MIXED_ITEMS items (with series)"
if [ "$SINGLES_ITEMS" != "$LIMIT" ] || [ "$MIXED_ITEMS" != "$LIMIT" ]; then
    echo "warning: not both full pages of $LIMIT: the comparison is not like for like" >&2
fi
run() {
    wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency -H "Authorization: Bearer $1" "$API/calendar-events?$RANGE"
}
p99() { echo "$1" | awk '$1 == "99%" { print $2 }'; }
rps() { echo "$1" | awk '/Requests\/sec/ { print $2 }'; }
non2xx() { echo "$1" | awk '/Non-2xx/ { n = $NF } END { print n + 0 }'; }
to_ms() {
    case "$1" in
        *us) echo "$1" | sed 's/us$//' | awk '{ print $1 / 1000 }' ;;
        *ms) echo "$1" | sed 's/ms$//' ;;
        *s) echo "$1" | sed 's/s$//' | awk '{ print $1 * 1000 }' ;;
    esac
}
printf '== GET /api/calendar-events, one month, limit=%s, %s connections, %ss per run, %s alternating rounds\n' \
    "$LIMIT" "$CONNECTIONS" "$SECONDS_PER_RUN" "$ROUNDS"
printf '%-6s %-36s %12s %12s %8s\n' "round" "" "p99 (ms)" "req/s" "non-2xx"
S_SUM=0
M_SUM=0
for round in $(seq "$ROUNDS"); do
    # Alternate the two so that machine noise falls on both.
    SINGLES_OUT=$(run "$SINGLES_TOKEN")
    MIXED_OUT=$(run "$MIXED_TOKEN")
    S=$(to_ms "$(p99 "$SINGLES_OUT")")
    M=$(to_ms "$(p99 "$MIXED_OUT")")
    printf '%-6s %-36s %12s %12s %8s\n' "$round" "$SINGLES single events" "$S" "$(rps "$SINGLES_OUT")" "$(non2xx "$SINGLES_OUT")"
    printf '%-6s %-36s %12s %12s %8s\n' "$round" "$SINGLES single events + $SERIES series" "$M" "$(rps "$MIXED_OUT")" "$(non2xx "$MIXED_OUT")"
    echo "       round $round p99 ratio: $(awk -v m="$M" -v s="$S" 'BEGIN { printf "%.2f", m / s }')"
    S_SUM=$(awk -v a="$S_SUM" -v b="$S" 'BEGIN { print a + b }')
    M_SUM=$(awk -v a="$M_SUM" -v b="$M" 'BEGIN { print a + b }')
done
if [ -n "$PROFILE" ]; then
    mkdir -p "$PROFILE"
    for who in singles mixed; do
        token=$SINGLES_TOKEN
        [ "$who" = mixed ] && token=$MIXED_TOKEN
        perf record -F 1999 -p "$GW" -o "$PROFILE/$who.perf" -- sleep "$SECONDS_PER_RUN" >/dev/null 2>&1 &
        recorder=$!
        run "$token" >/dev/null
        wait "$recorder" || true
        perf report -i "$PROFILE/$who.perf" --no-children --sort symbol --stdio 2>/dev/null |
            grep -v '^#' | grep -v '^$' | head -n 60 >"$PROFILE/$who.txt" || true
        echo "== profile of one more $who run: $PROFILE/$who.perf (top symbols in $PROFILE/$who.txt)"
    done
fi
ratio=$(awk -v m="$M_SUM" -v s="$S_SUM" 'BEGIN { printf "%.2f", m / s }')
echo "== p99 ratio (with series / singles only, mean p99 of $ROUNDS rounds): $ratio (target: at most 2) $(awk -v r="$ratio" 'BEGIN { print (r <= 2) ? "ok" : "OVER" }')"
