#!/usr/bin/env bash
# The official DBStore's table exactly as the SDKs document it, created fresh (dropped first) in
# the `test` database of the MariaDB on 127.0.0.1:3306; `--drop` only drops it.
# Usage: ci/sdk-table.sh TABLE [--drop]
set -euo pipefail
table=${1:?usage: ci/sdk-table.sh TABLE [--drop]}
sql() { mysql --protocol=tcp -h 127.0.0.1 -P 3306 -uroot test -e "$1"; }
sql "DROP TABLE IF EXISTS $table"
[ "${2:-}" = "--drop" ] && exit 0
sql "CREATE TABLE $table (id varchar(10) NOT NULL, user_name varchar(255),
  client_id varchar(255), client_secret varchar(255), refresh_token varchar(255),
  access_token varchar(255), grant_token varchar(255), expiry_time varchar(20),
  redirect_url varchar(255), api_domain varchar(255), primary key (id))"
