#!/usr/bin/env python3
"""Prints one quick start of the README (or another markdown file): the fenced block that follows
the line `<!-- quickstart: NAME -->`, so the test command runs the very text a team copies.
Usage: ci/quickstart.py NAME [FILE]; exit status 2 with one line when there is no such block."""
import sys


def block(name: str, text: str) -> str:
    lines = text.splitlines()
    marker = f"<!-- quickstart: {name} -->"
    for i, line in enumerate(lines):
        if line.strip() == marker:
            rest = lines[i + 1:]
            if not rest or not rest[0].startswith("```"):
                raise SystemExit(f"quickstart {name}: no fenced block right after its marker")
            end = next(j for j in range(1, len(rest)) if rest[j].startswith("```"))
            return "\n".join(rest[1:end]) + "\n"
    sys.stderr.write(f"quickstart {name}: no '{marker}' line; add it right before the block\n")
    raise SystemExit(2)


if __name__ == "__main__":
    name = sys.argv[1]
    path = sys.argv[2] if len(sys.argv) > 2 else "README.md"
    with open(path, encoding="utf-8") as f:
        sys.stdout.write(block(name, f.read()))
