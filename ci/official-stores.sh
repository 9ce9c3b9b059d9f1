#!/usr/bin/env bash
# Runs tokenstore-check against the official Zoho CRM SDKs' token stores, gated by the committed
# baselines in ci/baselines/ (the failures they are known to have): the run fails on a new
# failure, or on a listed one that now passes. Six stores: the FileStore and DBStore of the
# Python SDK (through the Python adapter), of the Node.js SDK and of the TypeScript SDK (through
# the Node adapter).
# Needs: TOKENSTORE_PYTHON (a Python with zohocrmsdk8-0 and mysql-connector-python), node with
# the packages of harness/adapters/node installed (npm ci there), and the local MariaDB. With
# --write, records the baselines instead of checking against them.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=--baseline
[ "${1:-}" = "--write" ] && mode=--write-baseline
python=${TOKENSTORE_PYTHON:?set TOKENSTORE_PYTHON to a Python with the official SDK}
check=./target/release/tokenstore-check
python_adapter=harness/adapters/python/tokenstore_adapter.py
node_adapter=harness/adapters/node/tokenstore_adapter.mjs
python_stores=zohocrmsdk.src.com.zoho.api.authenticator.store
table=oauthtoken_sdk_check
# The documented table's column lengths, which the DBStores cannot hold past.
limits='{"max_chars": {"id": 10, "user_name": 255, "client_id": 255, "client_secret": 255, "refresh_token": 255, "access_token": 255, "grant_token": 255, "expiry_time": 20, "redirect_url": 255, "api_domain": 255}}'
mkdir -p target/tokenstore-check

# The table exactly as the SDKs document it, fresh for each DBStore (a run leaves its last
# check's tokens behind).
fresh_table() { ci/sdk-table.sh "$table"; }

status=0
check() {
    local name=$1
    shift
    echo "-- $name"
    "$check" run --seed 1 --cases 256 --format json --out "target/tokenstore-check/$name.json" \
        --replay-dir target/tokenstore-check/replays "$mode" "ci/baselines/$name.json" \
        --adapter -- "$@" || status=1
}

check python-filestore "$python" "$python_adapter" --store "$python_stores:FileStore" \
    --kwargs '{"file_path": "{tmpdir}/tokens.csv"}'
fresh_table
check python-dbstore "$python" "$python_adapter" --store "$python_stores:DBStore" \
    --kwargs "{\"host\": \"127.0.0.1\", \"database_name\": \"test\", \"user_name\": \"root\", \"password\": \"\", \"port_number\": \"3306\", \"table_name\": \"$table\"}" \
    --limits "$limits"

for sdk in nodejs typescript; do
    case $sdk in
        nodejs) stores=@zohocrm/nodejs-sdk-8.0/lib/models/authenticator/store ;;
        typescript) stores=@zohocrm/typescript-sdk-8.0/dist/models/authenticator/store ;;
    esac
    check "$sdk-filestore" node "$node_adapter" --store "$stores/file_store.js:FileStore" \
        --kwargs '["{tmpdir}/tokens.csv"]'
    fresh_table
    check "$sdk-dbstore" node "$node_adapter" --store "$stores/db_store.js:DBStore" \
        --kwargs "[\"127.0.0.1\", \"test\", \"$table\", \"root\", \"\", \"3306\"]" --limits "$limits"
done

ci/sdk-table.sh "$table" --drop
exit $status
