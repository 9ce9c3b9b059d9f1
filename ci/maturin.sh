#!/usr/bin/env bash
# Prints the path of a maturin (1.x) for building the kit's wheels, installing it first into
# target/wheel-build-venv when it is not there. Usage: maturin=$(ci/maturin.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
build=target/wheel-build-venv
if ! "$build/bin/maturin" --version >/dev/null 2>&1; then
    printf '== installing maturin into %s\n' "$build" >&2
    python3 -m venv "$build"
    "$build/bin/pip" install --quiet --disable-pip-version-check 'maturin>=1.7,<2' >&2
fi
echo "$PWD/$build/bin/maturin"
