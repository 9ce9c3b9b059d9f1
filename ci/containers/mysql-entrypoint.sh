#!/bin/bash
# The stand-in mysql:8.4 image's entrypoint: Debian's MariaDB, started the way the official
# image starts MySQL. It honours MYSQL_DATABASE, MYSQL_ROOT_PASSWORD and
# MYSQL_ALLOW_EMPTY_PASSWORD (root with that password, or none, from any host), and prints on
# stderr, once the server takes connections over TCP, the two lines testcontainers' Mysql module
# waits for (MariaDB has no X Plugin: that line is printed, not true).
set -euo pipefail
mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
[ -d /var/lib/mysql/mysql ] || mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
mariadbd --user=mysql --datadir=/var/lib/mysql --bind-address=0.0.0.0 --port=3306 --skip-name-resolve &
server=$!
trap 'kill -TERM "$server"; wait "$server"' TERM INT
until mariadb-admin --silent ping >/dev/null 2>&1; do
    kill -0 "$server" || exit 1
    sleep 0.1
done
password=${MYSQL_ROOT_PASSWORD:-}
if [ -z "$password" ] && [ "${MYSQL_ALLOW_EMPTY_PASSWORD:-}" != yes ]; then
    echo "set MYSQL_ROOT_PASSWORD or MYSQL_ALLOW_EMPTY_PASSWORD=yes" >&2
    exit 1
fi
mariadb <<SQL
CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY '$password';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;
${MYSQL_DATABASE:+CREATE DATABASE IF NOT EXISTS \`$MYSQL_DATABASE\`;}
SQL
echo "X Plugin ready for connections. Bind-address: '::' port: 33060 (a MariaDB stand-in: no X Plugin)" >&2
echo "/usr/sbin/mysqld: ready for connections. Version: '$(mariadbd --version)'" >&2
wait "$server"
