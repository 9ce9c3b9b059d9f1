#!/bin/bash
# The stand-in postgres:16-alpine image's entrypoint: Debian's PostgreSQL, started the way the
# official image starts it. It honours POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB and
# POSTGRES_HOST_AUTH_METHOD, listens on every address, and prints "database system is ready to
# accept connections" on stdout and stderr once it takes connections (testcontainers' Postgres
# module waits for both). Arguments go to the server, as in the official image (`-c fsync=off`).
set -euo pipefail
bin=$(ls -d /usr/lib/postgresql/*/bin | tail -1)
data=/var/lib/postgresql/data
user=${POSTGRES_USER:-postgres}
if [ ! -s "$data/PG_VERSION" ]; then
    mkdir -p "$data" && chown postgres:postgres "$data"
    printf '%s\n' "${POSTGRES_PASSWORD:-}" >/tmp/pwfile
    chown postgres /tmp/pwfile
    runuser -u postgres -- "$bin/initdb" -D "$data" --username="$user" --pwfile=/tmp/pwfile \
        --auth-local=trust --auth-host="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}" >/dev/null
    rm -f /tmp/pwfile
    echo "host all all all ${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}" >>"$data/pg_hba.conf"
fi
mkdir -p /var/run/postgresql && chown postgres:postgres /var/run/postgresql
runuser -u postgres -- "$bin/postgres" -D "$data" -c listen_addresses='*' -c max_connections=300 "$@" &
server=$!
trap 'kill -TERM "$server"; wait "$server"' TERM INT
until runuser -u postgres -- "$bin/pg_isready" -q -h /var/run/postgresql; do
    kill -0 "$server" || exit 1
    sleep 0.1
done
db=${POSTGRES_DB:-$user}
if [ "$db" != postgres ] && ! runuser -u postgres -- psql -qtA -h /var/run/postgresql -U "$user" postgres \
    -c "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
    runuser -u postgres -- createdb -h /var/run/postgresql -U "$user" "$db"
fi
echo "database system is ready to accept connections"
echo "database system is ready to accept connections" >&2
wait "$server"
