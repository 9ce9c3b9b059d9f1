#!/usr/bin/env bash
# Builds the Python wheel of tokenstore-check (maturin, pyproject.toml) and checks it the way a
# Python team uses it: in a fresh virtual environment, on a PATH with no cargo, `pip install` of
# the wheel and the official SDK, then `tokenstore-check run --python module:Class` on a store
# in a directory of its own (no checkout of this repository on its path). The store is the kit's
# sqlite control: every rule must pass, the concurrency tier included.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

say() { printf '== %s\n' "$*"; }

maturin=$(ci/maturin.sh)
rm -rf target/wheels
"$maturin" build --release --locked --out target/wheels
wheel=$(ls "$repo"/target/wheels/tokenstore_check-*.whl)
say "built $(basename "$wheel")"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
python3 -m venv "$scratch/venv"
"$scratch/venv/bin/pip" install --quiet --disable-pip-version-check "$wheel" zohocrmsdk8-0
mkdir "$scratch/project"
cp harness/adapters/python/controls/sqlite_store.py "$scratch/project/my_store.py"
cd "$scratch/project"

# What the user's shell has: the virtual environment's bin and the system's, no cargo.
user_path="$scratch/venv/bin:/usr/local/bin:/usr/bin:/bin"
if env PATH="$user_path" sh -c 'command -v cargo' >/dev/null; then
    echo "cargo is on $user_path: the check would not show that the wheel needs no toolchain" >&2
    exit 1
fi
say "tokenstore-check run --python my_store:SqliteTokenStore (fresh venv, no cargo on PATH)"
env -i PATH="$user_path" HOME="$HOME" LANG=C.UTF-8 tokenstore-check run \
    --python my_store:SqliteTokenStore --kwargs '{"path": "{tmpdir}/tokens.db"}' \
    --cases 64 --seed 7 --format json --out report.json
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
say "wheel ok"
