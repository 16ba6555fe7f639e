#!/usr/bin/env bash
# Dependency-graph rules: no OpenSSL/native-tls/aws-lc/libpq anywhere, and domain crates free of actix (the
# gateway owns HTTP). Works offline.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
status=0
for banned in openssl-sys openssl native-tls aws-lc-sys pq-sys; do
    if cargo tree --workspace --offline -i "$banned" 2>/dev/null | grep -q .; then
        echo "error: $banned is in the dependency graph:" >&2
        cargo tree --workspace --offline -i "$banned" >&2
        status=1
    fi
done
for manifest in crates/*/Cargo.toml; do
    pkg=$(sed -n 's/^name = "\(.*\)"/\1/p' "$manifest" | head -n 1)
    [ "$pkg" = "epop-test-support" ] && continue
    for banned in actix-web actix-http actix-rt; do
        if cargo tree --offline -p "$pkg" -e normal,build -i "$banned" 2>/dev/null | grep -q .; then
            echo "error: domain crate $pkg depends on $banned" >&2
            status=1
        fi
    done
done
[ "$status" -eq 0 ] && echo "dependency rules: ok (no OpenSSL, no libpq, domain crates free of actix)"
exit "$status"
