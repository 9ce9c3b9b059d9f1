#!/usr/bin/env bash
# Builds the Python wheel of tokenstore-check (maturin, pyproject.toml) and checks it the way a
# Python team uses it: in a fresh virtual environment, on a PATH with no cargo, `pip install` of
# the wheel and the official SDK, then `tokenstore-check run --python module:Class` on a store
# in a directory of its own (no checkout of this repository on its path). The store is the kit's
# sqlite control: every rule must pass, the concurrency tier included. Then the pytest plugin as
# the README's Python quick start has it (its test module and commands, taken from README.md by
# ci/quickstart.py): a correct store passes every item, a store with one fault fails exactly its
# root cause's item, a store the kit cannot import fails every item with the kit's reason.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

say() { printf '== %s\n' "$*"; }

# Under ci/test.sh the wheels are built before its steps run side by side (a wheel's build
# relinks target/release/tokenstore-check, which the tests run): TOKENSTORE_WHEELS_BUILT=1.
if [ "${TOKENSTORE_WHEELS_BUILT:-}" != 1 ]; then
    rm -rf target/wheels/tokenstore_check-*.whl
    ci/maturin.sh build --release --locked --out target/wheels
fi
wheel=$(ls "$repo"/target/wheels/tokenstore_check-*.whl)
say "built $(basename "$wheel")"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
python3 -m venv "$scratch/venv"
"$scratch/venv/bin/pip" install --quiet --disable-pip-version-check "$wheel" zohocrmsdk8-0
mkdir "$scratch/project"
cp harness/adapters/python/controls/sqlite_store.py "$scratch/project/my_store.py"
cp harness/adapters/python/controls/sqlite_store.py harness/adapters/python/controls/sdk_style_stores.py \
    "$scratch/project/"
ci/quickstart.py python-test > "$scratch/project/test_my_store.py"
ci/quickstart.py python-pytest > "$scratch/pytest.sh"
ci/quickstart.py python-cli | tr -d '\n' > "$scratch/cli.sh"
cp "$wheel" "$scratch/project/"
cd "$scratch/project"

# What the user's shell has: the virtual environment's bin and the system's, no cargo.
user_path="$scratch/venv/bin:/usr/local/bin:/usr/bin:/bin"
if env PATH="$user_path" sh -c 'command -v cargo' >/dev/null; then
    echo "cargo is on $user_path: the check would not show that the wheel needs no toolchain" >&2
    exit 1
fi
say "the README's command: $(cat "$scratch/cli.sh") (fresh venv, no cargo on PATH)"
env -i PATH="$user_path" HOME="$HOME" LANG=C.UTF-8 \
    sh -ec "$(cat "$scratch/cli.sh") --cases 64 --seed 7 --format json --out report.json"
python3 - report.json <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
(store,) = report["stores"]
summary = store["summary"]
assert summary["failed"] == 0 and summary["blocked"] == 0, summary
ran = {r["id"]: r["status"] for r in store["rules"]}
for rule in ("concurrency.linearizable", "processes.linearizable", "crash.acknowledged-kept"):
    assert ran[rule] == "pass", (rule, ran[rule])
print(f'{store["name"]} from the wheel: {summary}')
PY

say "the README's Python quick start: pip install of the wheel, the SDK and pytest, then pytest"
rule_count=$(env -i PATH="$user_path" tokenstore-check rules --format json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
env -i PATH="$user_path" HOME="$HOME" LANG=C.UTF-8 PYTEST_ADDOPTS="-p no:cacheprovider --junitxml=correct.xml" \
    PIP_DISABLE_PIP_VERSION_CHECK=1 sh -e "$scratch/pytest.sh" > correct.out || { cat correct.out; exit 1; }
versions=$(env -i PATH="$user_path" tokenstore-check --version)
grep -q "^$versions" correct.out || { cat correct.out; echo "pytest's summary does not name $versions" >&2; exit 1; }
grep -q '<property name="spec_version"' correct.xml || { echo "no spec_version property in pytest's JUnit file" >&2; exit 1; }
"$repo/ci/junit-outcomes.py" correct.xml <<PY
assert len(items) == $rule_count, (len(items), $rule_count)
bad = {name: o for name, (o, m) in items.items() if o not in ("passed", "skipped")}
assert not bad, bad
assert items["concurrency.linearizable"][0] == "passed", items["concurrency.linearizable"]
print(f"correct store: {len(items)} items, {sum(o == 'passed' for o, _ in items.values())} passed")
PY

cat > test_one_fault.py <<'PY'
from tokenstore_check.pytest import TokenStoreContract

class TestRaisingDeleteTokens(TokenStoreContract):
    store = "sdk_style_stores:RaisingDeleteTokensStore"
    cases = 32
PY
status=0
env -i PATH="$user_path" HOME="$HOME" LANG=C.UTF-8 pytest -q -p no:cacheprovider test_one_fault.py \
    --junitxml=one-fault.xml >one-fault.out || status=$?
[ "$status" = 1 ] || { cat one-fault.out; echo "pytest exited $status on a store with one fault, not 1" >&2; exit 1; }
"$repo/ci/junit-outcomes.py" one-fault.xml <<'PY'
failed = {name for name, (o, _) in items.items() if o == "failure"}
assert failed == {"delete-tokens.empties"}, failed
for name, (o, message) in items.items():
    if o == "error":
        assert "blocked by delete-tokens.empties" in message, (name, message)
print(f"one fault: failed {sorted(failed)}, "
      f"{sum(o == 'error' for o, _ in items.values())} blocked by it")
PY

env -i PATH="$user_path" HOME="$HOME" LANG=C.UTF-8 pytest -q -p no:cacheprovider test_one_fault.py \
    -k "find.miss-none or save.merge" --junitxml=selected.xml >selected.out || { cat selected.out; exit 1; }
"$repo/ci/junit-outcomes.py" selected.xml <<'PY'
assert sorted(items) == ["find.miss-none", "save.merge"], items
assert all(o == "passed" for o, _ in items.values()), items
print("-k: the two selected items ran, and passed (the fault's rule was not selected)")
PY

status=0
env -i PATH="$user_path" HOME="$HOME" LANG=C.UTF-8 pytest -q -p no:cacheprovider \
    --tokenstore no_such_module:Store --junitxml=unimportable.xml >unimportable.out || status=$?
[ "$status" = 1 ] || { cat unimportable.out; echo "pytest exited $status on a store it cannot import, not 1" >&2; exit 1; }
"$repo/ci/junit-outcomes.py" unimportable.xml <<'PY'
assert items and all(o == "failure" and "no_such_module" in m for o, m in items.values()), \
    list(items.items())[:3]
print(f"a store the kit cannot import: all {len(items)} items fail, naming the module")
PY
say "wheel ok"
