"""tokenstore-check for Python teams: the kit's `tokenstore-check` binary (installed beside this
package by the same wheel) and a pytest plugin, `tokenstore_check.pytest`, that shows the kit's
verdicts as one pytest item per rule.

`run(...)` runs the binary once on one Python store and returns its JSON report (a dict, the
shape of `tokenstore-check run --format json`); `rules()` returns the rule table
(`tokenstore-check rules --format json`: a list of dicts with `id`, `level`, `title`)."""

from tokenstore_check._kit import KitError, Store, binary, rules, run

__all__ = ["KitError", "Store", "binary", "rules", "run"]
