#!/usr/bin/env bash
# Shared by dev.sh and test.sh: make PostgreSQL and Redis available on 127.0.0.1, installing them from the
# distribution's packages (Debian/Ubuntu) when missing. Sourced, not run.

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

epop_log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

apt_install() {
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "error: $* missing and this is not a Debian/Ubuntu machine; install them by hand" >&2
        return 1
    fi
    epop_log "installing $*"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

postgres_ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

ensure_postgres() {
    if ! command -v pg_isready >/dev/null 2>&1 || ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
        apt_install postgresql postgresql-contrib
    fi
    if ! postgres_ready; then
        epop_log "starting PostgreSQL"
        local version
        version=$(ls /etc/postgresql | sort -V | tail -n 1)
        $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null \
            || $SUDO pg_ctlcluster "$version" main start
        for _ in $(seq 60); do postgres_ready && break; sleep 0.5; done
    fi
    postgres_ready || { echo "error: PostgreSQL does not answer on 127.0.0.1:5432" >&2; return 1; }
    # A fresh install only allows peer/password logins: give the postgres role the password the URLs use.
    if ! PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d postgres -tAc 'SELECT 1' >/dev/null 2>&1; then
        epop_log "setting the postgres role's password for local TCP logins"
        (cd / && $SUDO -u postgres psql -q -c "ALTER USER postgres PASSWORD 'postgres'") \
            || su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\""
    fi
}

redis_ready() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

ensure_redis() {
    command -v redis-server >/dev/null 2>&1 || apt_install redis-server
    if ! redis_ready; then
        epop_log "starting Redis (nothing kept on disk)"
        redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
        for _ in $(seq 50); do redis_ready && break; sleep 0.1; done
    fi
    redis_ready || { echo "error: Redis does not answer on 127.0.0.1:6379" >&2; return 1; }
}

ensure_database() {
    local name="$1"
    if ! PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
        epop_log "creating database $name"
        PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE \"$name\""
    fi
}

ensure_rust() {
    command -v cargo >/dev/null 2>&1 || {
        echo "error: cargo not found: install the Rust toolchain (https://rustup.rs)" >&2
        return 1
    }
}

# The official Socket.IO clients the integration tests drive (JavaScript and Python), installed locally under
# tests/clients/ (node_modules and a virtualenv), reused when already there.
ensure_socketio_clients() {
    command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || apt_install nodejs npm
    if [ ! -d tests/clients/js/node_modules/socket.io-client ] || [ tests/clients/js/package-lock.json -nt tests/clients/js/node_modules ]; then
        epop_log "installing socket.io-client (npm ci)"
        (cd tests/clients/js && npm ci --silent --no-audit --no-fund)
    fi
    # Python tools the tests run (python-socketio, an SMTP server, kubernetes-validate, ...): installed again
    # whenever requirements.txt changed since the last install (a stamp file records it).
    local venv=tests/clients/python/.venv
    local stamp="$venv/.requirements-installed"
    if [ ! -x "$venv/bin/python" ] || [ ! -f "$stamp" ] || [ tests/clients/python/requirements.txt -nt "$stamp" ]; then
        [ -x "$venv/bin/python" ] || python3 -m venv "$venv" 2>/dev/null || { apt_install python3-venv && python3 -m venv "$venv"; }
        epop_log "installing the Python test tools (pip, tests/clients/python/requirements.txt)"
        "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/clients/python/requirements.txt
        touch "$stamp"
    fi
}
