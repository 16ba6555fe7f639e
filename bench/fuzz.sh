#!/usr/bin/env bash
# Runs every cargo-fuzz target of the repository for a while each (issue 16: ten minutes each without a crash):
#   fuzz/                         cursor, mentions, rrule (pagination cursors, the mention parser, RRULE validation)
#   crates/realtime-protocol/fuzz decode (the Engine.IO / Socket.IO decoders)
# Usage: bench/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   (default 600 seconds, every target)
# Needs a nightly toolchain (`rustup toolchain install nightly`) and cargo-fuzz (`cargo install cargo-fuzz`).
# A crash stops the run with libFuzzer's report; the crashing input is kept under <dir>/fuzz/artifacts/<target>/.
# CI runs the property tests over the same code instead (proptest, in each crate's unit tests).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${1:-600}"
shift || true

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "bench/fuzz.sh needs a nightly toolchain: rustup toolchain install nightly" >&2
    exit 2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "bench/fuzz.sh needs cargo-fuzz: cargo install cargo-fuzz" >&2
    exit 2
fi

declare -A dir_of=(
    [cursor]=.
    [mentions]=.
    [rrule]=.
    [decode]=crates/realtime-protocol
)
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(cursor mentions rrule decode)
fi

for target in "${targets[@]}"; do
    dir="${dir_of[$target]:-}"
    if [ -z "$dir" ]; then
        echo "unknown target $target (one of: ${!dir_of[*]})" >&2
        exit 2
    fi
    echo "== $target: ${seconds} s"
    started=$(date +%s)
    log="$(mktemp)"
    # -rss_limit_mb bounds memory per input; -max_len keeps inputs to what a request may carry.
    status=0
    (cd "$dir" && nice -n 19 cargo +nightly fuzz run "$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1) >"$log" 2>&1 || status=$?
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done [0-9]+ runs)' "$log" || true
    if [ "$status" -ne 0 ]; then
        tail -n 60 "$log" >&2
        echo "== $target FAILED after $(( $(date +%s) - started )) s (the input is under $dir/fuzz/artifacts/$target/)" >&2
        exit "$status"
    fi
    rm -f "$log"
    echo "== $target: no crash in $(( $(date +%s) - started )) s"
done
