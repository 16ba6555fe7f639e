#!/usr/bin/env bash
# Dependency-graph rules, offline: no OpenSSL/native-tls/aws-lc/libpq anywhere; the crates under crates/ free of
# actix (the gateway owns HTTP; epop-socketio is the one HTTP integration crate, and test helpers may drive the
# app); the domain crates never depend on each other (other developers embed them one by one); and no unused
# dependency anywhere (cargo-machete, when installed: .ci/run installs it).
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
    case "$pkg" in epop-test-support | epop-socketio) continue ;; esac
    for banned in actix-web actix-http actix-rt; do
        if cargo tree --offline -p "$pkg" -e normal,build -i "$banned" 2>/dev/null | grep -q .; then
            echo "error: domain crate $pkg depends on $banned" >&2
            status=1
        fi
    done
done
domain="epop-auth epop-chat epop-projects epop-notifications epop-calendar epop-webhooks"
for pkg in $domain; do
    for other in $domain; do
        [ "$pkg" = "$other" ] && continue
        if cargo tree --offline -p "$pkg" -e normal,build -i "$other" 2>/dev/null | grep -q .; then
            echo "error: domain crate $pkg depends on domain crate $other (they talk through ids and events)" >&2
            status=1
        fi
    done
done
if cargo machete --version >/dev/null 2>&1; then
    if ! cargo machete >/tmp/epop-machete.txt 2>&1; then
        echo "error: unused dependencies (cargo machete):" >&2
        sed -n '/unused dependencies/,/^$/p' /tmp/epop-machete.txt >&2
        status=1
    fi
else
    echo "warning: cargo-machete is not installed; unused dependencies not checked (cargo install cargo-machete --locked)" >&2
fi
[ "$status" -eq 0 ] && echo "dependency rules: ok (no OpenSSL, no libpq, crates free of actix, domain crates independent, no unused dependencies)"
exit "$status"
