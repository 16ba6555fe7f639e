# EPOP tasks. Every recipe wraps a script, so nothing here is needed to work on EPOP.

# Run the gateway with its services (PostgreSQL, Redis) on 127.0.0.1:8080.
run:
    ./scripts/dev.sh

# Run the whole test suite against real PostgreSQL and Redis.
test *ARGS:
    ./scripts/test.sh {{ARGS}}

# Formatting, clippy, API docs without warnings and the dependency-graph rules.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets --locked -- -D warnings
    RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace --locked
    ./scripts/check-deps.sh

# Apply database migrations (DATABASE_URL from the environment or .env).
migrate:
    cargo run --locked -p epop-gateway -- migrate

# Run the benchmarks (release build) and print their figures.
bench:
    ./bench/run.sh

# The long schemathesis run of the OpenAPI document against the server.
bench-openapi:
    ./bench/openapi.sh

# Check migrations round-trip and schema.rs matches them (needs diesel_cli).
check-schema:
    ./scripts/check-schema.sh

# Every cargo-fuzz target for SECONDS each (default 600; needs nightly and cargo-fuzz).
bench-fuzz SECONDS="600":
    ./bench/fuzz.sh {{SECONDS}}
