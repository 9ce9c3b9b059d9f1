"""The kit's pytest plugin (entry point `pytest11`, loaded by pytest wherever the
tokenstore-check wheel is installed): a team's store checked as one pytest item per rule.

    from tokenstore_check.pytest import TokenStoreContract

    class TestMyStore(TokenStoreContract):
        store = "my_app.tokens:SqliteTokenStore"
        kwargs = {"path": "{tmpdir}/tokens.db"}

or `pytest --tokenstore my_app.tokens:SqliteTokenStore --tokenstore-kwargs '{"path": ...}'`.

Each item is named by its rule id and marked with its level (`must`, `impl`), and carries the
kit's and the spec's versions as JUnit properties (`kit_version`, `spec_version`); the terminal
summary names them. One kit run per
class serves its items (only the selected rules when `-k` or `-m` deselected some); a failed
rule fails with the kit's message, the calls before it and the likely cause; a skipped rule
skips with the kit's reason (the capability the store did not declare); a rule blocked by a
root cause is an error naming it. A class where the kit could not run the store, or where no
rule could run, fails."""

from __future__ import annotations

import json

import pytest

from tokenstore_check._kit import KitError, Store, rules, run


class TokenStoreContract:
    """Subclass it in a test module (a `Test*` class) and name the store; every other attribute
    is optional. The attributes are the fields of `tokenstore_check.Store`."""

    store = None
    kwargs = None
    persistent = True
    threads = True
    limits = None
    refusals = ()
    cases = None
    seed = None
    servers = ()


def pytest_addoption(parser):
    group = parser.getgroup("tokenstore-check")
    group.addoption("--tokenstore", metavar="MODULE:CLASS",
                    help="check this Python TokenStore, one item per rule of tokenstore-check")
    group.addoption("--tokenstore-kwargs", metavar="JSON", default=None,
                    help="the --tokenstore class's constructor keyword arguments, JSON "
                         "({tmpdir} becomes a fresh directory per check)")


def pytest_configure(config):
    config.addinivalue_line("markers", "must: a MUST rule of tokenstore-check")
    config.addinivalue_line("markers", "impl: an implementation-defined (IMPL) rule of "
                                       "tokenstore-check")


def pytest_pycollect_makeitem(collector, name, obj):
    if (isinstance(obj, type) and issubclass(obj, TokenStoreContract)
            and obj is not TokenStoreContract and collector.istestclass(obj, name)):
        return Contract.from_parent(collector, name=name, spec=_store_of(obj))
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session, config, items):
    named = config.getoption("tokenstore")
    if named:
        try:
            kwargs = json.loads(config.getoption("tokenstore_kwargs") or "null")
        except ValueError as e:
            raise pytest.UsageError(f"--tokenstore-kwargs is not JSON ({e}): pass a JSON "
                                    'object such as \'{"path": "{tmpdir}/tokens.db"}\'')
        spec = Store(store=named, kwargs=kwargs)
        name = f"tokenstore[{named}]"
        contract = Contract.from_parent(session, name=name, nodeid=name, spec=spec)
        items.extend(contract.collect())


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    selected = {}
    for item in session.items:
        if isinstance(item, RuleItem):
            selected.setdefault(item.parent, []).append(item.name)
    for contract, names in selected.items():
        contract.selected = names


_VERSIONS = pytest.StashKey()


def pytest_terminal_summary(terminalreporter, config):
    versions = config.stash.get(_VERSIONS, None)
    if versions is not None:
        kit, spec = versions
        terminalreporter.write_line(f"tokenstore-check {kit} (spec {spec}): what changed in "
                                    "each spec version is in the kit's CHANGELOG.md")


def _store_of(cls) -> Store:
    if cls.store is None:
        raise pytest.UsageError(f"{cls.__qualname__} names no store: set store = "
                                '"module:Class" (or the class itself) on it')
    return Store(store=cls.store, kwargs=cls.kwargs, persistent=cls.persistent,
                 threads=cls.threads, limits=cls.limits, refusals=cls.refusals,
                 cases=cls.cases, seed=cls.seed, servers=tuple(cls.servers))


class Contract(pytest.Collector):
    """The items of one store: one per rule of the kit's table, in the spec's order."""

    def __init__(self, *, spec: Store, **kwargs):
        super().__init__(**kwargs)
        self.spec = spec
        self.selected = None
        self._report = None
        self._error = None
        self._table = None
        self.versions = None

    def collect(self):
        try:
            self._table = rules()
        except KitError as e:
            raise pytest.UsageError(f"tokenstore-check: {e}")
        for rule in self._table:
            item = RuleItem.from_parent(self, name=rule["id"], rule=rule)
            item.add_marker(rule["level"].lower())
            yield item

    def verdicts(self):
        """The kit's report for this store, run once (with only the selected rules when some
        were deselected). Raises KitError when the kit could not run it."""
        if self._report is None and self._error is None:
            every = [r["id"] for r in self._table or rules()]
            partial = self.selected is not None and len(self.selected) < len(every)
            spec = self.spec
            if partial:
                spec = Store(**{**spec.__dict__, "only": list(self.selected)})
            try:
                report = run(spec)
            except KitError as e:
                self._error = str(e)
            else:
                self.versions = (report.get("kit_version"), report.get("spec_version"))
                self.config.stash[_VERSIONS] = self.versions
                self._report = {r["id"]: r for r in report["rules"]}
                ran = report["summary"]["passed"] + report["summary"]["failed"]
                if not partial and ran == 0:
                    self._error = (f"no rule could run: {report['summary']}; "
                                   f"{_first_reason(report)}")
        if self._error is not None:
            raise KitError(self._error)
        return self._report


class RuleItem(pytest.Item):
    """One rule's verdict on one store."""

    def __init__(self, *, rule: dict, **kwargs):
        super().__init__(**kwargs)
        self.rule = rule

    def setup(self):
        try:
            verdict = self.parent.verdicts().get(self.name)
        except KitError:
            return
        if verdict is not None and verdict["status"] == "blocked":
            pytest.fail(f"blocked by {verdict.get('blocked_by')}, the root cause to fix first: "
                        f"{verdict.get('message') or 'not checked'}", pytrace=False)

    def runtest(self):
        verdict = self._verdict()
        kit, spec = self.parent.versions
        self.user_properties += [("kit_version", kit), ("spec_version", spec)]
        if verdict["status"] == "skip":
            pytest.skip(verdict.get("message") or "skipped by the kit")
        if verdict["status"] == "fail":
            pytest.fail(_failure_text(self.name, verdict), pytrace=False)

    def _verdict(self) -> dict:
        try:
            verdicts, error = self.parent.verdicts(), None
        except KitError as e:
            verdicts, error = {}, str(e)
        if error is not None:
            pytest.fail(f"tokenstore-check could not check {self.parent.spec.name()}: {error}",
                        pytrace=False)
        verdict = verdicts.get(self.name)
        if verdict is None:
            pytest.fail(f"the kit's report has no verdict on {self.name}", pytrace=False)
        return verdict

    def reportinfo(self):
        # Not the end of the node id: pytest would print the dots of a rule id as `::`.
        return self.path, None, f"{self.parent.name}::{self.name} ({self.rule['level']})"


def _failure_text(rule: str, verdict: dict) -> str:
    lines = [f"{rule} ({verdict['level']}): {verdict.get('message') or 'failed'}"]
    repro = verdict.get("repro") or {}
    if repro.get("steps"):
        lines.append("calls before it:")
        lines += [f"  {step}" for step in repro["steps"]]
    if repro.get("replay_file"):
        lines.append(f"replay: tokenstore-check replay {repro['replay_file']}")
    if verdict.get("likely_cause"):
        lines.append(f"likely cause: {verdict['likely_cause']}")
    return "\n".join(lines)


def _first_reason(report: dict) -> str:
    for rule in report["rules"]:
        if rule.get("message"):
            return f"{rule['id']}: {rule['message']}"
    return "the kit gave no reason"
