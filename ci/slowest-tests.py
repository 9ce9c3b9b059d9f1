#!/usr/bin/env python3
"""Prints the N slowest tests of a cargo-nextest JUnit file, slowest first, with their seconds,
and the sum of every test's time. Usage: ci/slowest-tests.py target/nextest/default/junit.xml [N]"""
import sys
import xml.etree.ElementTree as ET

path = sys.argv[1]
count = int(sys.argv[2]) if len(sys.argv) > 2 else 20
cases = [(float(case.get("time", 0)), f'{case.get("classname")} {case.get("name")}')
         for case in ET.parse(path).iter("testcase")]
cases.sort(reverse=True)
for seconds, name in cases[:count]:
    print(f"{seconds:7.1f}s  {name}")
print(f"{sum(s for s, _ in cases):7.1f}s  every test's time summed ({len(cases)} tests)")
