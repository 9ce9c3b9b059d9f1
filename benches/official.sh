#!/usr/bin/env bash
# The official SDK stores measured by `tokenstore-check bench` through the kit's adapters, each
# into benches/results/official/NAME.json, for `bench --with` to chart beside the kit's backends:
# the Python DBStore and FileStore (zohocrmsdk8-0) and the Node.js ones (@zohocrm/nodejs-sdk-8.0).
# The DBStores run on the SDK's documented table, at 1,000 and 10,000 tokens; the FileStores at
# 1,000 only, since loading 10,000 tokens through them rewrites the whole file at every save.
# Needs what ci/test.sh installs (target/sdk-venv, harness/adapters/node/node_modules) and a
# release build. Usage: benches/official.sh
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(ci/services.sh)"
check=./target/release/tokenstore-check
python=${TOKENSTORE_PYTHON:-$PWD/target/sdk-venv/bin/python}
py_adapter=harness/adapters/python/tokenstore_adapter.py
node_adapter=harness/adapters/node/tokenstore_adapter.mjs
py_stores=zohocrmsdk.src.com.zoho.api.authenticator.store
node_stores=@zohocrm/nodejs-sdk-8.0/lib/models/authenticator/store
table=oauthtoken_sdk_bench
out=benches/results/official
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fresh_table() { ci/sdk-table.sh "$table"; }

# bench LABEL SIZES ADAPTER-COMMAND...: the store measured, its results in $out/LABEL.json. A
# failed operation (the DBStores' inserts collide once ids pass 9) leaves the others measured.
bench() {
    local label=$1 sizes=$2
    shift 2
    local name=${label// /-}
    "$check" bench --sizes "$sizes" --samples 300 --budget 1 --label "$label" \
        --out "$work/$name" --adapter -- "$@" || true
    mkdir -p "$out"
    cp "$work/$name/bench.json" "$out/$name.json"
}

db_kwargs="{\"host\": \"127.0.0.1\", \"database_name\": \"test\", \"user_name\": \"root\", \"password\": \"\", \"port_number\": \"3306\", \"table_name\": \"$table\"}"
fresh_table
bench "python DBStore" 1000,10000 "$python" "$py_adapter" --store "$py_stores:DBStore" \
    --kwargs "$db_kwargs"
bench "python FileStore" 1000 "$python" "$py_adapter" --store "$py_stores:FileStore" \
    --kwargs '{"file_path": "{tmpdir}/tokens.csv"}'
fresh_table
bench "node DBStore" 1000,10000 node "$node_adapter" --store "$node_stores/db_store.js:DBStore" \
    --kwargs "[\"127.0.0.1\", \"test\", \"$table\", \"root\", \"\", \"3306\"]"
bench "node FileStore" 1000 node "$node_adapter" --store "$node_stores/file_store.js:FileStore" \
    --kwargs '["{tmpdir}/tokens.csv"]'
ci/sdk-table.sh "$table" --drop
