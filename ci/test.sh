#!/usr/bin/env bash
# The kit's test command. Makes sure MariaDB, Redis and PostgreSQL run (ci/services.sh); installs
# what is missing (cargo-nextest; the official Python SDK in a virtual environment, the official
# Node.js and TypeScript SDKs with npm ci, Debian's chromium, Podman and stand-in images of the
# three servers, all of these while the workspace builds); builds the workspace once, then both
# wheels and the benches' smoke run from that build.
# Then two lanes run side by side: the kit lane runs every test of the workspace against the real
# servers and SDKs, then tokenstore-check itself on every backend at 32 clients and 32 processes,
# checking its JSON report; the package lane checks the Python wheel where no cargo is, its
# pytest plugin included (ci/wheel.sh), the kit's stores for Python apps from their own wheel
# (ci/python-stores.sh), the GitHub Action's steps on a sample repository (ci/action/test.sh),
# the npm package and its node:test module in a fresh Node project (ci/node-package.sh), the
# official SDKs' stores against their baselines (ci/official-stores.sh), and the kit's
# testcontainers path through Podman (ci/containers.sh; its images are built beside the build). At the end: each step's
# wall-clock and CPU time, and the 20 slowest tests.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '== %s\n' "$*"; }

lanes=target/test-lanes
rm -rf "$lanes" && mkdir -p "$lanes"

# cpu_seconds VAR: sets VAR to the CPU seconds (user and system) the shell's finished children
# have used so far. `times` runs in the calling shell (in a command substitution it would count
# the substitution's own), writing to a file of that shell's own: each lane below is a subshell.
cpu_seconds() {
    local file="$lanes/times.$BASHPID"
    times >"$file"
    printf -v "$1" '%s' "$(awk 'NR == 2 { n = 0; for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); n += t[1] * 60 + t[2] } printf "%d", n }' "$file")"
}

# step NAME COMMAND...: runs one step of the test command and appends its wall-clock and CPU
# time, its lane and its outcome to $lanes/steps, the table printed at the end (the contributor
# docs' table of step times comes from it). CPU time beside wall-clock time says whether a step
# keeps the machine's cores busy (CPU near wall-clock times the cores) or waits (on the network,
# a server, a sleep). The command runs as a job and is waited for, so that `set -e` holds inside
# it and a failed step is still in the table.
lane_name=main
step() {
    local name=$1 started=$SECONDS cpu_before cpu_after status=0
    cpu_seconds cpu_before
    shift
    say "$name"
    "$@" &
    wait $! || status=$?
    cpu_seconds cpu_after
    printf '%5ss %5ss  %-8s %s%s\n' $((SECONDS - started)) $((cpu_after - cpu_before)) "$lane_name" \
        "$name" "$([ "$status" = 0 ] || echo " (FAILED, exit status $status)")" >>"$lanes/steps"
    return "$status"
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

# installs: what the steps after the build need and this machine may lack, installed while the
# build runs (each waits on the network, the build on the CPU).
venv=target/sdk-venv
node_dir=harness/adapters/node
installs() {
    if ! "$venv/bin/python" -c "import zohocrmsdk, mysql.connector" >/dev/null 2>&1; then
        say "installing the official Python SDK into $venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check zohocrmsdk8-0 mysql-connector-python
    fi
    if ! command -v chromium >/dev/null 2>&1; then
        say "installing Debian's chromium, which renders the HTML report in the action's test"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -q chromium >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
    fi
    if ! (cd "$node_dir" && npm ls --silent >/dev/null 2>&1); then
        say "installing the official Node.js and TypeScript SDKs into $node_dir/node_modules"
        (cd "$node_dir" && npm ci --silent --no-audit --no-fund)
    fi
    ci/containers.sh setup
}
# The jobs beside the build and the lanes below each run in a process group of their own (`set -m`
# while they start), so that an interrupt stops them whole instead of leaving them running.
jobs_started=()
stop_jobs() {
    for job in "${jobs_started[@]}"; do kill -TERM -- "-$job" 2>/dev/null || true; done
}
trap 'stop_jobs; exit 130' INT TERM

say "installs (the official SDKs, chromium, Podman and the servers' stand-in images) run beside the build: $lanes/installs.log"
set -m
( set +m; installs ) >"$lanes/installs.log" 2>&1 &
installing=$!
set +m
jobs_started+=("$installing")
export TOKENSTORE_PYTHON="$PWD/$venv/bin/python"

step "building (release), once: the tests, the benches' smoke run, both wheels and the final run use this build" \
    cargo build --release --workspace --all-targets --locked

# The two wheels and the benches' smoke run, before the lanes: a wheel's build relinks
# target/release/tokenstore-check (maturin builds it with flags of its own), which the tests run.
wheels() {
    rm -rf target/wheels
    ci/maturin.sh build --release --locked --out target/wheels
    ci/maturin.sh build --release --locked --manifest-path python/Cargo.toml --out target/wheels
}
step "the two wheels (maturin: tokenstore-check, and the kit's stores for Python apps), from this build" wheels
export TOKENSTORE_WHEELS_BUILT=1

step "benchmarks, each run once (quick mode)" \
    env TOKENSTORE_BENCH_SIZES=1000 cargo bench --locked --profile release --workspace --bench lookup -- --test

installs_status=0
wait "$installing" || installs_status=$?
cat "$lanes/installs.log"
[ "$installs_status" = 0 ] || { say "FAILED: an install (above)"; exit 1; }

# After the build, two lanes run side by side: the kit's own tests and final run here, the package
# and SDK steps in the background (their output is printed when the tests are done). Each lane
# alone keeps the two cores about 70% busy (it waits on servers, installs, subprocesses), so
# side by side they finish sooner than one after the other; the steps share nothing but the
# servers, where every run keeps to its own tables, keys and connections.
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
kit_lane() {
    step "tests (cargo nextest, every test of the workspace against the real servers and SDKs)" \
        cargo nextest run --release --workspace --locked --no-fail-fast

    step "tokenstore-check run --backend all (every backend, every rule and tier, 32 clients and 32 processes)" final_run
}

package_lane() {
    step "the Python wheel, installed in a fresh virtual environment with no cargo on PATH" \
        ci/wheel.sh

    step "the kit's stores for Python apps (python/): the wheel in a fresh virtual environment, every rule through the kit" \
        ci/python-stores.sh

    step "the GitHub Action's steps on a sample repository, its HTML report rendered in headless chromium" \
        ci/action/test.sh

    step "the npm package in a fresh Node project: node --test with the README's quick start" \
        ci/node-package.sh

    step "the official Python, Node.js and TypeScript SDK stores, gated by ci/baselines/" \
        ci/official-stores.sh

    step "the testcontainers path: with no URL, the kit starts MySQL, Redis and PostgreSQL through Podman's Docker API (stand-in images), every rule, nothing left" \
        ci/containers.sh check
}

# lane NAME FUNCTION: runs FUNCTION's steps in a subshell, as a job in a process group of its
# own; a failed step ends the lane with its status.
lane() {
    set -m
    ( set +m; lane_name=$1 "$2" ) &
    set +m
    jobs_started+=("$!")
}

say "package and SDK steps: started in the background, their output follows the tests ($lanes/packages.log)"
lane packages package_lane >"$lanes/packages.log" 2>&1
packages=$!
lane kit kit_lane
kit=$!
failed=()
wait "$kit" || failed+=("the tests or the final run")
say "package and SDK steps (run beside the tests): their output"
packages_status=0
wait "$packages" || packages_status=$?
cat "$lanes/packages.log"
[ "$packages_status" = 0 ] || failed+=("the package and SDK steps")

say "step times: wall-clock and CPU seconds ($(nproc) cores), lane, step"
cat "$lanes/steps"
printf '%5ss  in all\n' "$SECONDS"
say "the 20 slowest tests (target/nextest/default/junit.xml)"
ci/slowest-tests.py target/nextest/default/junit.xml 20
if [ "${#failed[@]}" -gt 0 ]; then
    say "FAILED: ${failed[*]} (see above)"
    exit 1
fi
say "ok"
