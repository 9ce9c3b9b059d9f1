#!/usr/bin/env bash
# The kit's test command. Installs what is missing (cargo-nextest, the official Python SDK in a
# virtual environment, the official Node.js and TypeScript SDKs with npm ci), makes sure MariaDB,
# Redis and PostgreSQL run (ci/services.sh), installs chromium for the HTML report's test, builds,
# runs every test of the workspace against the real servers and the real SDKs, builds the Python
# wheel and checks it, its pytest plugin included, where no cargo is (ci/wheel.sh), packs the npm
# package and runs its node:test module in a fresh Node project (ci/node-package.sh), checks the kit's stores for Python apps
# through the kit from their own wheel (ci/python-stores.sh), runs the GitHub Action's steps on a sample
# repository (ci/action/test.sh), then runs tokenstore-check itself on every backend and checks
# its JSON report.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '== %s\n' "$*"; }

# step NAME COMMAND...: runs one step of the test command and keeps its time for the table
# printed at the end (the contributor docs' table of step times comes from it).
steps=()
step() {
    local name=$1 started=$SECONDS
    shift
    say "$name"
    "$@"
    steps+=("$(printf '%5ss  %s' $((SECONDS - started)) "$name")")
}

if ! cargo nextest --version >/dev/null 2>&1; then
    say "installing cargo-nextest"
    cargo install cargo-nextest --locked
fi

say "servers"
eval "$(ci/services.sh)"
export TOKENSTORE_REQUIRE=mysql,redis,postgres,redis-cluster,sdk,node
# The wheels' builds (ci/maturin.sh build) must reuse the build step's build.
export TOKENSTORE_ONE_BUILD=1

venv=target/sdk-venv
if ! "$venv/bin/python" -c "import zohocrmsdk, mysql.connector" >/dev/null 2>&1; then
    say "installing the official Python SDK into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check zohocrmsdk8-0 mysql-connector-python
fi
export TOKENSTORE_PYTHON="$PWD/$venv/bin/python"

if ! command -v chromium >/dev/null 2>&1; then
    say "installing Debian's chromium, which renders the HTML report in the action's test"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q chromium >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
fi

node_dir=harness/adapters/node
if ! (cd "$node_dir" && npm ls --silent >/dev/null 2>&1); then
    say "installing the official Node.js and TypeScript SDKs into $node_dir/node_modules"
    (cd "$node_dir" && npm ci --silent --no-audit --no-fund)
fi

step "building (release), once: the tests, the benches' smoke run, both wheels and the final run use this build" \
    cargo build --release --workspace --all-targets --locked

step "tests (cargo nextest, every test of the workspace against the real servers and SDKs)" \
    cargo nextest run --release --workspace --locked --no-fail-fast

step "benchmarks, each run once (quick mode)" \
    env TOKENSTORE_BENCH_SIZES=1000 cargo bench --locked --profile release --workspace --bench lookup -- --test

step "the official Python, Node.js and TypeScript SDK stores, gated by ci/baselines/" \
    ci/official-stores.sh

step "the Python wheel, installed in a fresh virtual environment with no cargo on PATH" \
    ci/wheel.sh

step "the npm package in a fresh Node project: node --test with the README's quick start" \
    ci/node-package.sh

step "the kit's stores for Python apps (python/): the wheel in a fresh virtual environment, every rule through the kit" \
    ci/python-stores.sh

step "the GitHub Action's steps on a sample repository, its HTML report rendered in headless chromium" \
    ci/action/test.sh

final_run() {
    mkdir -p target/tokenstore-check
    ./target/release/tokenstore-check run --backend all --seed 2026 --clients 32 --processes 32 --format json \
        --out target/tokenstore-check/report.json --replay-dir target/tokenstore-check/replays
    python3 - target/tokenstore-check/report.json <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
names = [s["name"] for s in report["stores"]]
assert names == ["memory", "list", "sqlite", "sqlite-memory", "file", "mysql", "redis", "postgres",
                 "redis-cluster"], names
# The tiers each backend must run, not skip: the servers' every tier, the local files' processes.
servers = ["server-loss.", "processes.", "crash."]
tiers = {"mysql": servers, "redis": servers, "postgres": servers, "redis-cluster": servers,
         "sqlite": ["processes.", "crash."], "file": ["processes.", "crash."]}
for store in report["stores"]:
    summary = store["summary"]
    failed = [r["id"] for r in store["rules"] if r["status"] == "fail"]
    assert summary["failed"] == 0, (store["name"], failed)
    skipped = [r["id"] for r in store["rules"] if r["status"] == "skip"]
    for tier in tiers.get(store["name"], []):
        assert not any(rule.startswith(tier) for rule in skipped), (store["name"], skipped)
    if store["name"] in ("mysql", "redis", "postgres", "redis-cluster"):
        assert not skipped, (store["name"], skipped)
    print(f'{store["name"]}: {summary}; skipped: {", ".join(skipped) or "none"}')
PY
}
step "tokenstore-check run --backend all (every backend, every rule and tier, 32 clients and 32 processes)" final_run

say "step times (s)"
printf '%s\n' "${steps[@]}"
printf '%5ss  in all\n' "$SECONDS"
say "the 20 slowest tests (target/nextest/default/junit.xml)"
ci/slowest-tests.py target/nextest/default/junit.xml 20
say "ok"
