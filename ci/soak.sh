#!/usr/bin/env bash
# The soaks, run before a release: the crash-consistency tests at full count (200 SIGKILLs of a
# process writing to the `file` and `sqlite` backends and to the Python positive control; the
# test command runs 40 each). Needs what ci/test.sh installs (the SDK's virtual environment in
# target/sdk-venv). Usage: ci/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export TOKENSTORE_SOAK_KILLS=${TOKENSTORE_SOAK_KILLS:-200}
export TOKENSTORE_PYTHON=${TOKENSTORE_PYTHON:-$PWD/target/sdk-venv/bin/python}
export TOKENSTORE_REQUIRE=sdk
cargo nextest run --release --locked -p tokenstore-check --test kit -E 'test(/^crash_consistency::/)'
