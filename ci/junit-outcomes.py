#!/usr/bin/env python3
"""Checks the outcome of every test case of a JUnit XML file (pytest's --junitxml, node --test's
junit reporter) with the Python snippet on standard input, which sees `items`: {test name:
(outcome, message)}, outcome one of passed, failure, error, skipped. Exit status 1 when an
assertion of the snippet fails. Usage: ci/junit-outcomes.py FILE <<'PY' ... PY"""
import sys
import xml.etree.ElementTree as ET

items = {}
for case in ET.parse(sys.argv[1]).iter("testcase"):
    outcome, message = "passed", ""
    for tag in ("failure", "error", "skipped"):
        found = case.find(tag)
        if found is not None:
            outcome, message = tag, (found.get("message") or "") + (found.text or "")
    items[case.get("name")] = (outcome, message)
exec(sys.stdin.read())
