"""Negative controls of the adapter tests: the correct SqliteTokenStore with one rule broken each,
the way hand-written stores get it wrong. The suite must catch each by the rule it names."""

import contextlib
import json
import os
import sqlite3
import time

from sqlite_store import FIELDS, SqliteTokenStore, lookup_key, read, write


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


class RacyUpsertStore(SqliteTokenStore):
    """Breaks processes.linearizable: a save reads, then writes, with no transaction around the
    two, so two processes saving one new user both insert."""

    def save_token(self, token):
        token.set_id(self._save(read(token)))

    def _designated(self, t):
        found = super()._designated(t)
        time.sleep(0.002)
        return found


class InPlaceFileStore(SqliteTokenStore):
    """Breaks crash.acknowledged-kept: keeps its tokens in a JSON-lines file that every change
    rewrites in place (truncate, then one row after another), so a process killed mid-write
    leaves a torn or emptied file. The rows are worked on in an in-memory database."""

    def __init__(self, path, table="oauthtoken"):
        super().__init__(":memory:", table)
        self.file = path

    def _load(self):
        self.db.execute("DELETE FROM %s" % self.table)
        if not os.path.exists(self.file):
            return
        with open(self.file, encoding="utf-8") as rows:
            for line in rows:
                row = json.loads(line)
                self.db.execute("INSERT INTO %s (%s) VALUES (%s)"
                                % (self.table, ", ".join(FIELDS), ", ".join("?" * 10)),
                                [row[f] for f in FIELDS])

    def _dump(self):
        with open(self.file, "w", encoding="utf-8") as out:
            for row in self.db.execute("SELECT %s FROM %s" % (", ".join(FIELDS), self.table)):
                out.write(json.dumps(dict(zip(FIELDS, row))) + "\n")
                out.flush()

    def _fresh_id(self):
        ids = [int(r[0]) for r in self.db.execute("SELECT id FROM %s" % self.table)
               if r[0].isdigit()]
        return str(max(ids, default=0) + 1)

    def find_token(self, token):
        self._load()
        return super().find_token(token)

    def get_tokens(self):
        self._load()
        return super().get_tokens()

    def find_token_by_id(self, id):
        self._load()
        return super().find_token_by_id(id)

    def save_token(self, token):
        self._load()
        super().save_token(token)
        self._dump()

    def delete_token(self, id):
        self._load()
        super().delete_token(id)
        self._dump()

    def delete_tokens(self):
        self._load()
        super().delete_tokens()
        self._dump()


class NoneForEmptyStore(SqliteTokenStore):
    """Breaks get-tokens.exact: answers None instead of [] when it holds no token, as stores
    that return the result of a query helper unchecked do."""

    def get_tokens(self):
        return super().get_tokens() or None


class SharedConnectionStore(SqliteTokenStore):
    """Breaks the concurrency tier: one sqlite3 connection shared by every thread with no lock
    around it, as a store that opens its connection in __init__ with check_same_thread=False
    does. Two threads' transactions meet on the one connection ("cannot start a transaction
    within a transaction"), and a save fails or lands in another's transaction."""

    def __init__(self, path, table="oauthtoken"):
        super().__init__(path, table)
        self.lock = contextlib.nullcontext()

    def _designated(self, t):
        found = super()._designated(t)
        time.sleep(0.001)
        return found


class OwnThreadConnectionStore(SqliteTokenStore):
    """Breaks the concurrency tier only: its sqlite3 connection is made as Python makes one by
    default, usable from the thread that made it alone, as most hand-written sqlite stores are
    (the SDK's sample among them). A call from another thread raises ProgrammingError; calls
    one at a time, from the thread that made the store, are correct."""

    def __init__(self, path, table="oauthtoken"):
        super().__init__(path, table)
        self.db.close()
        self.db = sqlite3.connect(path, isolation_level=None, timeout=10)
