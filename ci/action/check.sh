#!/usr/bin/env bash
# The steps of the GitHub Action (action.yml): installs tokenstore-check into the Python that
# has the store's SDK (a wheel from TOKENSTORE_CHECK_WHEEL, else the one cached in
# ~/.cache/tokenstore-check-wheel, else built there from this repository with pip, which needs
# cargo), runs it on the store the inputs name, writes the reports into INPUT_OUT_DIR, appends
# the Markdown summary to GITHUB_STEP_SUMMARY when it is set, and exits with the run's status.
# Inputs come as INPUT_* variables (see action.yml); run from the directory the store imports
# from.
set -uo pipefail
action=${TOKENSTORE_ACTION_PATH:-$(cd "$(dirname "$0")/../.." && pwd)}
python=${INPUT_PYTHON:-python3}
out=${INPUT_OUT_DIR:-tokenstore-check-report}
formats=${INPUT_FORMATS:-json,junit,html,markdown}

fail() { echo "tokenstore-check action: $*" >&2; exit 2; }

if [ -n "${INPUT_PYTHON_STORE:-}" ] && [ -n "${INPUT_NODE_STORE:-}" ]; then
    fail "set python-store or node-store, not both"
fi
if [ -z "${INPUT_PYTHON_STORE:-}" ] && [ -z "${INPUT_NODE_STORE:-}" ]; then
    fail "set python-store (module:Class) or node-store (file.mjs:Export)"
fi

wheel=${TOKENSTORE_CHECK_WHEEL:-}
if [ -z "$wheel" ]; then
    cache=${TOKENSTORE_CHECK_WHEEL_CACHE:-$HOME/.cache/tokenstore-check-wheel}
    wheel=$(ls "$cache"/tokenstore_check-*.whl 2>/dev/null | head -n 1)
    if [ -z "$wheel" ]; then
        echo "building tokenstore-check from $action (cached for the next runs)"
        "$python" -m pip wheel --quiet --no-deps --wheel-dir "$cache" "$action" \
            || fail "cannot build the wheel from $action (building needs cargo)"
        wheel=$(ls "$cache"/tokenstore_check-*.whl | head -n 1)
    fi
fi
"$python" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$wheel" \
    || fail "cannot install $wheel into $python"
scripts=$("$python" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
check="$scripts/tokenstore-check"

mkdir -p "$out"
args=(run --cases "${INPUT_CASES:-256}")
if [ -n "${INPUT_PYTHON_STORE:-}" ]; then
    args+=(--python "$INPUT_PYTHON_STORE")
    export TOKENSTORE_PYTHON="$python"
else
    args+=(--node "$INPUT_NODE_STORE")
fi
[ -n "${INPUT_KWARGS:-}" ] && args+=(--kwargs "$INPUT_KWARGS")
[ -n "${INPUT_BASELINE:-}" ] && args+=(--baseline "$INPUT_BASELINE")
IFS=, read -r -a wanted <<< "$formats"
for format in "${wanted[@]}"; do
    case $format in
        json) args+=(--report "json=$out/report.json") ;;
        junit) args+=(--report "junit=$out/junit.xml") ;;
        html) args+=(--report "html=$out/report.html") ;;
        markdown) args+=(--report "markdown=$out/summary.md") ;;
        *) fail "formats: unknown format $format (json, junit, html, markdown)" ;;
    esac
done
if [ -n "${INPUT_ADAPTER_ARGS:-}" ]; then
    # Split as a shell would, quotes kept ('{"max_chars": ...}' stays one argument).
    mapfile -t extra < <("$python" -c 'import shlex, sys; print("\n".join(shlex.split(sys.argv[1])))' "$INPUT_ADAPTER_ARGS") \
        || fail "adapter-args: cannot split $INPUT_ADAPTER_ARGS"
    args+=(-- "${extra[@]}")
fi

"$check" "${args[@]}"
status=$?
if [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -f "$out/summary.md" ]; then
    cat "$out/summary.md" >> "$GITHUB_STEP_SUMMARY"
fi
exit $status
