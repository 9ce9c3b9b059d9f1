#!/usr/bin/env bash
# Runs the GitHub Action's steps (ci/action/check.sh) against a sample repository layout, as a
# team's workflow would: a correct store and a broken one, each in a package of the sample
# repository, with the wheel ci/wheel.sh built. Checks the exit status, the Markdown job summary,
# the JSON and JUnit reports, and what the HTML report shows once headless Chromium has rendered
# it (Debian's chromium, installed by ci/test.sh).
# Needs: TOKENSTORE_PYTHON (a Python with the official SDK), target/wheels/ (ci/wheel.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
python=${TOKENSTORE_PYTHON:?set TOKENSTORE_PYTHON to a Python with the official SDK}
wheel=$(ls "$repo"/target/wheels/tokenstore_check-*.whl)
chromium=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chromium" ] || { echo "chromium is not installed (apt-get install chromium)" >&2; exit 1; }

scratch=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$scratch"' EXIT
sample="$scratch/sample-repo"
mkdir -p "$sample/my_app"
touch "$sample/my_app/__init__.py"
cp harness/adapters/python/controls/sqlite_store.py "$sample/my_app/token_store.py"
cp harness/adapters/python/controls/broken_stores.py "$sample/my_app/broken_stores.py"
sed -i 's/^from sqlite_store import/from my_app.token_store import/; s/^import sqlite_store/import my_app.token_store as sqlite_store/' \
    "$sample/my_app/broken_stores.py"

# action STORE OUT: the action's steps on STORE, reports in OUT; prints the exit status.
action() {
    (
        cd "$sample"
        env TOKENSTORE_CHECK_WHEEL="$wheel" GITHUB_STEP_SUMMARY="$sample/$2.summary" \
            INPUT_PYTHON="$python" INPUT_PYTHON_STORE="$1" INPUT_OUT_DIR="$2" INPUT_CASES=32 \
            INPUT_KWARGS='{"path": "{tmpdir}/tokens.db"}' INPUT_ADAPTER_ARGS="--name '$1'" \
            "$repo/ci/action/check.sh" >"$sample/$2.log" 2>&1
    ) && echo 0 || echo $?
}

good=$(action my_app.token_store:SqliteTokenStore good)
bad=$(action my_app.broken_stores:NoIdWriteBackStore bad)
[ "$good" = 0 ] || { cat "$sample/good.log"; echo "the correct store: exit $good, want 0" >&2; exit 1; }
[ "$bad" = 1 ] || { cat "$sample/bad.log"; echo "the broken store: exit $bad, want 1" >&2; exit 1; }

for run in good bad; do
    "$chromium" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
        --dump-dom "file://$sample/$run/report.html" >"$sample/$run.dom" 2>/dev/null
done
python3 - "$sample" <<'PY'
import json, sys, xml.etree.ElementTree as ET
from html.parser import HTMLParser
sample = sys.argv[1]

class Text(HTMLParser):
    """The text a reader sees, by element id, and the class of every table cell."""
    HIDDEN = ("head", "style", "title")
    def __init__(self):
        super().__init__()
        self.text, self.cells, self.ids, self.hidden = [], [], set(), 0
    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "td":
            self.cells.append(attrs.get("class"))
        self.hidden += tag in self.HIDDEN
    def handle_endtag(self, tag):
        self.hidden -= tag in self.HIDDEN
    def handle_data(self, data):
        if self.hidden == 0:
            self.text.append(data)

def seen(run):
    page = Text()
    page.feed(open(f"{sample}/{run}.dom").read())
    return " ".join(" ".join(page.text).split()), page

for run, store, failed in [("good", "my_app.token_store:SqliteTokenStore", 0),
                           ("bad", "my_app.broken_stores:NoIdWriteBackStore", 1)]:
    report = json.load(open(f"{sample}/{run}/report.json"))
    (result,) = report["stores"]
    assert result["name"] == store, (result["name"], store)
    fails = [r["id"] for r in result["rules"] if r["status"] == "fail"]
    assert (fails == []) == (failed == 0), fails
    junit = ET.parse(f"{sample}/{run}/junit.xml").getroot()
    assert len(junit.findall(".//testcase")) == len(result["rules"])
    assert len(junit.findall(".//failure")) == len(fails)
    summary = open(f"{sample}/{run}.summary").read()
    assert f"| {store} | {result['summary']['passed']} | {len(fails)} |" in summary, summary
    text, page = seen(run)
    assert "tokenstore-check report" in text, text[:200]
    assert f"{store}: {result['summary']['passed']} passed, {len(fails)} failed" in text, text[:400]
    assert page.cells.count("fail") == len(fails), (page.cells.count("fail"), fails)
    assert page.cells.count("pass") == result["summary"]["passed"]
    for rule in fails:
        assert f"- **{store}** `{rule}`" in summary, summary
        assert any(i.endswith(rule.replace(".", "-")) and i.startswith("fail-") for i in page.ids), rule
    if fails:
        assert "save.id-written-back" in fails, fails
        assert "The calls before it:" in text and "save_token(" in text, text[-800:]
    print(f"{run}: exit as expected, {len(fails)} failures in the summary, JUnit and the rendered page")
PY
echo "== action ok"
