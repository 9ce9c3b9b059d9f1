"""Runs the `tokenstore-check` binary of this installation: finds it, builds the command line of
one Python store from a `Store`, and reads back the JSON report."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from typing import Any, Optional, Sequence


class KitError(Exception):
    """The kit could not run the store (a store it cannot import, bad arguments, no binary):
    the message is the kit's own one-line reason."""


def binary() -> str:
    """The path of the `tokenstore-check` executable: `TOKENSTORE_CHECK` if set, else the one
    the wheel installed into this interpreter's scripts directory, else the one on `PATH`.
    Raises KitError when there is none."""
    named = os.environ.get("TOKENSTORE_CHECK")
    if named:
        return named
    exe = "tokenstore-check.exe" if os.name == "nt" else "tokenstore-check"
    beside = os.path.join(sysconfig.get_path("scripts"), exe)
    if os.path.exists(beside):
        return beside
    found = shutil.which("tokenstore-check")
    if found:
        return found
    raise KitError("no tokenstore-check executable: install the tokenstore-check wheel into this "
                   "environment, or name the binary in TOKENSTORE_CHECK")


def rules() -> list:
    """The rule table, in the spec's order: dicts with `id`, `level` (MUST, IMPL), `title`."""
    done = subprocess.run([binary(), "rules", "--format", "json"], capture_output=True, text=True)
    if done.returncode != 0:
        raise KitError(_last_line(done.stderr) or "tokenstore-check rules failed")
    return json.loads(done.stdout)


@dataclasses.dataclass
class Store:
    """One Python store as the kit checks it.

    `store` is `"module:Class"` or the class itself; `kwargs` the constructor's keyword
    arguments (`{tmpdir}` becomes a fresh directory per check, `{namespace}` a namespace name);
    `persistent=False` for an in-memory store; `threads=False` for a store never called from two
    threads (skips the concurrency tier); `limits` what it cannot hold (`{"max_chars":
    {"user_name": 255}}`); `refusals` its own refusal exception classes (classes, or names as
    `module:Class` or `Class`; one alone needs no list); `cases` and `seed` the
    model-based sequences; `only` rule ids or groups to check (None: every rule); `servers` the
    URLs of the servers the store talks to (`--server`: the server-loss tier drops the store's
    connections there)."""

    store: Any
    kwargs: Optional[dict] = None
    persistent: bool = True
    threads: bool = True
    limits: Optional[dict] = None
    refusals: Any = ()
    cases: Optional[int] = None
    seed: Optional[int] = None
    only: Optional[Sequence[str]] = None
    servers: Sequence[str] = ()

    def name(self) -> str:
        """`module:Class` of the store."""
        if isinstance(self.store, str):
            return self.store
        return f"{self.store.__module__}:{self.store.__qualname__}"

    def command(self, out: str, replays: str) -> list:
        """The `tokenstore-check run` command that writes this store's JSON report to `out`.
        Raises KitError, in one line, for kwargs that are not JSON."""
        command = [binary(), "run", "--python", self.name(), "--format", "json", "--out", out,
                   "--replay-dir", replays]
        if self.kwargs is not None:
            try:
                command += ["--kwargs", json.dumps(self.kwargs)]
            except (TypeError, ValueError) as e:
                raise KitError(f"kwargs must be JSON (strings, numbers, lists, dicts): {e}; "
                               "write a path as a string, '{tmpdir}/tokens.db' for a fresh "
                               "directory per check") from None
        if self.cases is not None:
            command += ["--cases", str(self.cases)]
        if self.seed is not None:
            command += ["--seed", str(self.seed)]
        for rule in self.only or ():
            command += ["--only", rule]
        for server in self.servers:
            command += ["--server", server]
        adapter = []
        if not self.persistent:
            adapter.append("--not-persistent")
        if not self.threads:
            adapter.append("--no-threads")
        if self.limits:
            adapter += ["--limits", json.dumps(self.limits)]
        refusals = [self.refusals] if isinstance(self.refusals, (str, type)) else self.refusals
        for refusal in refusals:
            if isinstance(refusal, type):
                refusal = f"{refusal.__module__}:{refusal.__qualname__}"
            adapter += ["--refusal", refusal]
        return command + (["--"] + adapter if adapter else [])


def run(store: Store, replays: Optional[str] = None) -> dict:
    """Runs the kit once on `store` (failing sequences saved under `replays`, default
    `tokenstore-replays` in the working directory) with this interpreter (and its `sys.path`, so the store is
    imported as the caller imports it) and returns the store's report: a dict with `name`,
    `rules` (each `id`, `level`, `status` pass/fail/skip/blocked, `message`, `repro`,
    `blocked_by`, `likely_cause`), `summary` and `root_causes`, plus `kit_version` and
    `spec_version`. Raises KitError when the kit writes no report (exit status 2: the store could
    not be imported or an argument was wrong)."""
    with tempfile.TemporaryDirectory(prefix="tokenstore-check-") as scratch:
        out = os.path.join(scratch, "report.json")
        env = dict(os.environ)
        env["TOKENSTORE_PYTHON"] = sys.executable
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        done = subprocess.run(store.command(out, replays or "tokenstore-replays"),
                              capture_output=True, text=True, env=env)
        if not os.path.exists(out):
            raise KitError(_last_line(done.stderr) or
                           f"tokenstore-check exited with status {done.returncode} and no report")
        with open(out, encoding="utf-8") as f:
            report = json.load(f)
    (found,) = report["stores"]
    found["kit_version"] = report.get("kit_version")
    found["spec_version"] = report.get("spec_version")
    return found


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""
