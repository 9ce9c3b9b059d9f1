#!/usr/bin/env bash
# The kit's test command: builds everything, runs every test of the workspace (unit, the suite
# against the embedded backends, the broken-store self-tests, the CLI tests), then runs
# tokenstore-check itself and checks its JSON report. Installs what it needs that is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '== %s\n' "$*"; }

if ! cargo nextest --version >/dev/null 2>&1; then
    say "installing cargo-nextest"
    cargo install cargo-nextest --locked
fi

say "building (release)"
cargo build --release --workspace --all-targets --locked

say "tests"
cargo nextest run --release --workspace --locked --no-fail-fast

say "tokenstore-check run on the embedded backends"
mkdir -p target/tokenstore-check
./target/release/tokenstore-check run --format json --out target/tokenstore-check/report.json \
    --replay-dir target/tokenstore-check/replays
python3 - target/tokenstore-check/report.json <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
names = [s["name"] for s in report["stores"]]
assert names == ["memory", "list", "sqlite", "sqlite-memory", "file"], names
for store in report["stores"]:
    assert store["summary"]["failed"] == 0, (store["name"], [r for r in store["rules"] if r["status"] == "fail"])
    print(f'{store["name"]}: {store["summary"]}')
PY
say "ok"
