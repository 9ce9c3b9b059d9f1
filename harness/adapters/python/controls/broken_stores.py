"""Negative controls of the adapter tests: the correct SqliteTokenStore with one rule broken each,
the way hand-written stores get it wrong. The suite must catch each by the rule it names."""

from sqlite_store import SqliteTokenStore, lookup_key, read, write


class CaseInsensitiveStore(SqliteTokenStore):
    """Breaks find.exact-match: matches keys ignoring case, as MySQL's default collations do."""

    def _rows(self, field, value):
        cursor = self.db.execute(
            "SELECT * FROM %s WHERE %s = ? COLLATE NOCASE ORDER BY rowid" % (self.table, field), (value,))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor]


class TrimmingStore(SqliteTokenStore):
    """Breaks token.roundtrip: strips surrounding spaces before saving."""

    def save_token(self, token):
        values = {k: (v.strip() if isinstance(v, str) else v) for k, v in read(token).items()}
        write(token, values, only_absent=False)
        super().save_token(token)


class NoIdWriteBackStore(SqliteTokenStore):
    """Breaks save.id-written-back: leaves the caller's token as it came (as the DBStore does)."""

    def save_token(self, token):
        before = token.get_id()
        super().save_token(token)
        token.set_id(before)


class CountingIdStore(SqliteTokenStore):
    """Breaks save.fresh-id-unique: a new id is the number of tokens plus one."""

    def _fresh_id(self):
        return str(self.db.execute("SELECT COUNT(*) FROM %s" % self.table).fetchone()[0] + 1)
