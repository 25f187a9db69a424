#!/usr/bin/env bash
# Run the whole test suite twice: on SQLite, then on a throwaway PostgreSQL 15 cluster.
# Extra arguments go to pytest (e.g. scripts/test.sh -k units -x).
# Exits non-zero if either run fails; the cluster is always stopped and removed.
set -uo pipefail

cd "$(dirname "$0")/.."

PYTEST=.venv/bin/pytest
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
[[ -x "$PYTEST" ]] || { echo "no $PYTEST: run scripts/setup.sh first" >&2; exit 2; }

banner() { printf '\n==== %s ====\n' "$*"; }

# --- run 1: SQLite -------------------------------------------------------------------
banner "run 1/2: SQLite (temporary database file per run)"
start=$SECONDS
env -u DATABASE_URL "$PYTEST" -q "$@"
sqlite_rc=$?
sqlite_time=$((SECONDS - start))

# --- run 2: PostgreSQL on a throwaway cluster --------------------------------------------
pg_rc=1
pg_time=0
PG_TMP=$(mktemp -d -t gongjian-pg.XXXXXX)
if [[ $(id -u) -eq 0 ]]; then
    # initdb refuses to run as root: the cluster belongs to the postgres user.
    chown postgres: "$PG_TMP"
    AS_PG=(runuser -u postgres --)
else
    AS_PG=()
fi
PG_DATA="$PG_TMP/data"

cleanup() {
    if [[ -f "$PG_DATA/postmaster.pid" ]]; then
        "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$PG_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    .venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_cluster() {
    [[ -x "$PG_BIN/initdb" ]] || { echo "PostgreSQL 15 not found in $PG_BIN (apt-get install postgresql)" >&2; return 1; }
    "${AS_PG[@]}" "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
        >"$PG_TMP/initdb.log" 2>&1 || { cat "$PG_TMP/initdb.log" >&2; return 1; }
    for _ in 1 2 3; do
        PG_PORT=$(free_port)
        # Local only: TCP on 127.0.0.1 and a socket in the temp dir. Durability is not needed here.
        if "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_TMP/server.log" -w -t 60 start -o \
            "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PG_TMP -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
            >/dev/null; then
            return 0
        fi
    done
    cat "$PG_TMP/server.log" >&2
    return 1
}

banner "run 2/2: PostgreSQL 15 (throwaway cluster)"
if start_cluster &&
    "${AS_PG[@]}" "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres gongjian_test; then
    export DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/gongjian_test"
    echo "DATABASE_URL=$DATABASE_URL"
    start=$SECONDS
    "$PYTEST" -q "$@"
    pg_rc=$?
    pg_time=$((SECONDS - start))
else
    echo "could not start the throwaway PostgreSQL cluster" >&2
fi

status() { if [[ $1 -eq 0 ]]; then echo passed; else echo "FAILED (exit $1)"; fi; }
banner "summary"
echo "SQLite:     $(status $sqlite_rc) in ${sqlite_time}s"
echo "PostgreSQL: $(status $pg_rc) in ${pg_time}s"
[[ $sqlite_rc -eq 0 && $pg_rc -eq 0 ]]
