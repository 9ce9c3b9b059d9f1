#!/usr/bin/env bash
# Checks the npm package the way a Node.js team uses it: the tarball of ci/npm-pack.sh installed
# into a fresh project beside the official Node.js SDK, the README's Node quick start (its test
# file and commands, taken from README.md by ci/quickstart.py) run with `node --test`: a correct
# store passes every test, a store with one fault fails exactly its root cause's test, and the
# same call with a store that cannot be loaded fails every test with the kit's reason.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
say() { printf '== %s\n' "$*"; }

tarball=$(ci/npm-pack.sh)
say "packed $(basename "$tarball")"
project=$(mktemp -d)
trap 'rm -rf "$project"' EXIT
cp "$tarball" "$project/"
mkdir -p "$project/src" "$project/test"
cp harness/adapters/node/controls/file_store.mjs "$project/src/token-store.mjs"
cp harness/adapters/node/controls/broken_stores.mjs "$project/src/"
sed -i 's|"./file_store.mjs"|"./token-store.mjs"|' "$project/src/broken_stores.mjs"
ci/quickstart.py node-test > "$project/test/token-store.test.mjs"
ci/quickstart.py node-install > "$project/install.sh"
cd "$project"
npm init -y >/dev/null
npm pkg set type=module >/dev/null


# The npm cache (from the adapter's npm ci) first; the registry for what it lacks.
export npm_config_prefer_offline=true
say "the README's Node quick start: npm install of the tarball and the SDK, node --test"
export NODE_OPTIONS="--test-reporter=junit --test-reporter-destination=correct.xml"
sh -e install.sh >install.out 2>&1 || { cat install.out; exit 1; }
unset NODE_OPTIONS
rule_count=$(node -e 'import("tokenstore-check").then(m => console.log(m.rules().length))')
versions=$(node_modules/tokenstore-check/native/*/tokenstore-check --version)
grep -q "$versions" correct.xml || { echo "node's report does not name $versions" >&2; exit 1; }
"$repo/ci/junit-outcomes.py" correct.xml <<PY
assert len(items) == $rule_count, (len(items), $rule_count)
bad = {n: o for n, (o, m) in items.items() if o not in ("passed", "skipped")}
assert not bad, bad
assert items["concurrency.linearizable"][0] == "passed", items["concurrency.linearizable"]
print(f"correct store: {len(items)} tests, {sum(o == 'passed' for o, _ in items.values())} passed")
PY

cat > test/one-fault.test.mjs <<'JS'
import { test } from "node:test";
import { tokenStoreContract } from "tokenstore-check";

tokenStoreContract({ test, store: "./src/broken_stores.mjs:NoIdWriteBackStore", args: ["{tmpdir}/{namespace}"], cases: 32, name: "NoIdWriteBack" });
JS
status=0
node --test --test-reporter=junit --test-reporter-destination=one-fault.xml test/one-fault.test.mjs || status=$?
[ "$status" = 1 ] || { echo "node --test exited $status on a store with one fault, not 1" >&2; exit 1; }
"$repo/ci/junit-outcomes.py" one-fault.xml <<'PY'
failed = {n for n, (o, _) in items.items() if o == "failure"}
assert failed == {"NoIdWriteBack: save.id-written-back"}, failed
print(f"one fault: failed {sorted(failed)}")
PY

cat > test/missing.test.mjs <<'JS'
import { test } from "node:test";
import { tokenStoreContract } from "tokenstore-check";

tokenStoreContract({ test, store: "./src/no-such-store.mjs:Store", args: [] });
JS
status=0
node --test --test-reporter=junit --test-reporter-destination=missing.xml test/missing.test.mjs || status=$?
[ "$status" = 1 ] || { echo "node --test exited $status on a store it cannot load, not 1" >&2; exit 1; }
"$repo/ci/junit-outcomes.py" missing.xml <<'PY'
assert items and all(o == "failure" and "no-such-store" in m for o, m in items.values()), \
    list(items.items())[:3]
print(f"a store the kit cannot load: all {len(items)} tests fail, naming the module")
PY
say "npm package ok"
