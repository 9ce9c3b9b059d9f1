#!/usr/bin/env bash
# Makes sure MariaDB, Redis and PostgreSQL answer on 127.0.0.1 (starting any that is down, the way
# this project's machines start them), creates the `test` databases, and prints the variables the
# tests read. Usage: eval "$(ci/services.sh)"
set -euo pipefail

log() { printf '== %s\n' "$*" >&2; }

wait_for() {
    local name=$1; shift
    for _ in $(seq 1 60); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 1
    done
    log "$name did not come up"; return 1
}

mysql_up() { mysqladmin --protocol=tcp -h 127.0.0.1 -P 3306 -uroot ping; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG; }
postgres_up() { pg_isready -q -h 127.0.0.1 -p 5432; }

if ! mysql_up >/dev/null 2>&1; then
    log "starting MariaDB"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    wait_for MariaDB mysql_up
fi
if ! redis_up >/dev/null 2>&1; then
    log "starting Redis"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/ci.log
    wait_for Redis redis_up
fi
if ! postgres_up; then
    log "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
    wait_for PostgreSQL postgres_up
fi

mysql --protocol=tcp -h 127.0.0.1 -P 3306 -uroot -e "CREATE DATABASE IF NOT EXISTS test" >&2
if ! psql -h 127.0.0.1 -U postgres -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1; then
    psql -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE test" >&2
fi
log "MariaDB, Redis and PostgreSQL are up"

cat <<VARS
export TOKENSTORE_MYSQL_URL=mysql://root@127.0.0.1:3306/test
export TOKENSTORE_REDIS_URL=redis://127.0.0.1:6379
export TOKENSTORE_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test
VARS
