#!/usr/bin/env bash
# Prints the path of a maturin (1.x) for building the kit's wheels, installing it first into
# target/wheel-build-venv when it is not there. Usage: maturin=$(ci/maturin.sh)
#
# `ci/maturin.sh build ARGS...` runs `maturin build ARGS...` instead. Under ci/test.sh
# (TOKENSTORE_ONE_BUILD=1, after its workspace build) it fails when cargo compiled any crate
# again but the wheel's own and pyo3 (whose extension-module feature only the wheel turns on):
# maturin builds one package alone, which reuses the workspace build only while the
# workspace-hack crate gives that package's dependencies the workspace's features.
set -euo pipefail
cd "$(dirname "$0")/.."
build=target/wheel-build-venv
if ! "$build/bin/maturin" --version >/dev/null 2>&1; then
    printf '== installing maturin into %s\n' "$build" >&2
    python3 -m venv "$build"
    "$build/bin/pip" install --quiet --disable-pip-version-check 'maturin>=1.7,<2' >&2
fi
if [ "${1:-}" != build ]; then
    echo "$PWD/$build/bin/maturin"
    exit 0
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$build/bin/maturin" "$@" 2>&1 | tee "$log"
if [ "${TOKENSTORE_ONE_BUILD:-}" = 1 ]; then
    again=$(sed -n 's/^ *Compiling \([^ ]*\) .*/\1/p' "$log" \
        | grep -v -x -e tokenstore-check -e tokenstore-python -e pyo3 -e pyo3-ffi -e pyo3-build-config -e pyo3-macros -e pyo3-macros-backend || true)
    if [ -n "$again" ]; then
        echo "the wheel's build compiled again what the workspace build had built: $(echo $again | tr ' ' ,)." \
            "Its dependencies' features differ from the workspace's: run cargo hakari generate" \
            "(cargo install cargo-hakari) and commit workspace-hack/Cargo.toml" >&2
        exit 1
    fi
fi
