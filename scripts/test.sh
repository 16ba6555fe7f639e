#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian/Ubuntu machine that has only the Rust toolchain: installs and
# starts PostgreSQL and Redis when missing, installs the official Socket.IO clients the tests drive (Node.js
# socket.io-client, python-socketio in a virtualenv), then runs every unit and integration test in parallel (each
# integration test gets its own database and Redis key prefix). Uses cargo-nextest when present.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/services.sh

ensure_rust
ensure_postgres
ensure_redis
ensure_socketio_clients

export DATABASE_URL="${EPOP_TEST_DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/postgres}"
export REDIS_URL="${EPOP_TEST_REDIS_URL:-redis://127.0.0.1:6379}"

if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --locked --no-fail-fast "$@"
else
    epop_log "cargo-nextest not found: using cargo test (install it with: cargo install cargo-nextest --locked)"
    cargo test --workspace --locked --no-fail-fast "$@"
fi
