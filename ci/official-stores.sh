#!/usr/bin/env bash
# Runs tokenstore-check against the official Python SDK's FileStore and DBStore through the
# Python adapter, gated by the committed baselines in ci/baselines/ (the failures they are known
# to have): the run fails on a new failure, or on a listed one that now passes.
# Needs: TOKENSTORE_PYTHON (a Python with zohocrmsdk8-0 and mysql-connector-python) and the local
# MariaDB. With --write, records the baselines instead of checking against them.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=--baseline
[ "${1:-}" = "--write" ] && mode=--write-baseline
python=${TOKENSTORE_PYTHON:?set TOKENSTORE_PYTHON to a Python with the official SDK}
check=./target/release/tokenstore-check
adapter=harness/adapters/python/tokenstore_adapter.py
stores=zohocrmsdk.src.com.zoho.api.authenticator.store
mkdir -p target/tokenstore-check

# The table exactly as the SDK documents it.
mysql --protocol=tcp -h 127.0.0.1 -P 3306 -uroot test -e "
  DROP TABLE IF EXISTS oauthtoken_sdk_check;
  CREATE TABLE oauthtoken_sdk_check (id varchar(10) NOT NULL, user_name varchar(255),
    client_id varchar(255), client_secret varchar(255), refresh_token varchar(255),
    access_token varchar(255), grant_token varchar(255), expiry_time varchar(20),
    redirect_url varchar(255), api_domain varchar(255), primary key (id))"

status=0
"$check" run --seed 1 --cases 256 --format json --out target/tokenstore-check/python-filestore.json \
    --replay-dir target/tokenstore-check/replays "$mode" ci/baselines/python-filestore.json \
    --adapter -- "$python" "$adapter" --store "$stores:FileStore" \
    --kwargs '{"file_path": "{tmpdir}/tokens.csv"}' || status=1
"$check" run --seed 1 --cases 256 --format json --out target/tokenstore-check/python-dbstore.json \
    --replay-dir target/tokenstore-check/replays "$mode" ci/baselines/python-dbstore.json \
    --adapter -- "$python" "$adapter" --store "$stores:DBStore" \
    --kwargs '{"host": "127.0.0.1", "database_name": "test", "user_name": "root", "password": "", "port_number": "3306", "table_name": "oauthtoken_sdk_check"}' \
    --limits '{"max_chars": {"id": 10, "user_name": 255, "client_id": 255, "client_secret": 255, "refresh_token": 255, "access_token": 255, "grant_token": 255, "expiry_time": 20, "redirect_url": 255, "api_domain": 255}}' \
    || status=1
mysql --protocol=tcp -h 127.0.0.1 -P 3306 -uroot test -e "DROP TABLE IF EXISTS oauthtoken_sdk_check"
exit $status
