#!/usr/bin/env bash
# Run the whole test suite on SQLite and on a throwaway PostgreSQL 15 cluster, side by side.
# Extra arguments go to pytest (e.g. scripts/test.sh -k units -x).
# Each run is one pytest process and keeps one core busy, so on a machine with two cores
# both runs take about as long as one alone (with one core they run one after the other).
# Their output is shown as it comes, each line marked [sqlite] or [postgres]; the log of a
# failed run is printed again whole at the end.
# Exits non-zero if either run fails; the cluster is always stopped and removed.
set -uo pipefail

cd "$(dirname "$0")/.."

PYTEST=.venv/bin/pytest
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
[[ -x "$PYTEST" ]] || { echo "no $PYTEST: run scripts/setup.sh first" >&2; exit 2; }
ARGS=("$@")

banner() { printf '\n==== %s ====\n' "$*"; }

LOGS=$(mktemp -d -t gongjian-test.XXXXXX)
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
    local pidfile
    for pidfile in "$LOGS"/*.pid; do # a run still going (interrupted): stop its pytest
        [[ -f "$pidfile" ]] && kill "$(cat "$pidfile")" 2>/dev/null
    done
    wait
    if [[ -f "$PG_DATA/postmaster.pid" ]]; then
        "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$PG_TMP" "$LOGS"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# suite NAME ENV...: pytest under env(1) with ENV; its output goes to NAME.log and, marked
# [NAME], to the terminal; NAME.result gets its exit code and its duration in seconds.
suite() {
    local name=$1 start=$SECONDS rc
    shift
    {
        env "$@" "$PYTEST" -q "${ARGS[@]}" &
        echo $! >"$LOGS/$name.pid"
        wait $!
    } 2>&1 | tee "$LOGS/$name.log" | sed -u "s/^/[$name] /"
    rc=${PIPESTATUS[0]}
    rm -f "$LOGS/$name.pid"
    echo "$rc $((SECONDS - start))" >"$LOGS/$name.result"
}

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

banner "SQLite (temporary database files) and PostgreSQL 15 (throwaway cluster), side by side"
suite sqlite -u DATABASE_URL &
sqlite_job=$!
# The cluster starts while the SQLite run is under way.
if start_cluster &&
    "${AS_PG[@]}" "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres gongjian_test; then
    url="postgresql://postgres@127.0.0.1:$PG_PORT/gongjian_test"
    echo "[postgres] DATABASE_URL=$url"
    if [[ $(nproc) -lt 2 ]]; then
        wait "$sqlite_job"
    fi
    suite postgres DATABASE_URL="$url" &
else
    echo "could not start the throwaway PostgreSQL cluster" >&2
fi
wait

outcome() { cat "$LOGS/$1.result" 2>/dev/null || echo "1 0"; }
read -r sqlite_rc sqlite_time < <(outcome sqlite)
read -r pg_rc pg_time < <(outcome postgres)
for name in sqlite postgres; do
    read -r rc _ < <(outcome "$name")
    if [[ $rc -ne 0 && -f "$LOGS/$name.log" ]]; then
        banner "the $name run failed: its whole log"
        cat "$LOGS/$name.log"
    fi
done

status() { if [[ $1 -eq 0 ]]; then echo passed; else echo "FAILED (exit $1)"; fi; }
banner "summary"
echo "SQLite:     $(status "$sqlite_rc") in ${sqlite_time}s"
echo "PostgreSQL: $(status "$pg_rc") in ${pg_time}s"
echo "Both, side by side: ${SECONDS}s"
[[ $sqlite_rc -eq 0 && $pg_rc -eq 0 ]]
