"""A correct TokenStore for the Python SDK, on the standard library's sqlite3: the positive
control of the adapter tests (it must pass every rule), and a model for teams writing their own.

It follows specs/tokenstore.md: the SDK's key order with exact comparison, merge-updates, a stored
id selecting the token, fresh ids that never collide, one token per user name, and every save in
one transaction. Errors carry a `tokenstore_kind` the adapter reports. One store object is safe
from many threads, as a web app uses it: its one connection is used under a lock, one call at a
time (sqlite3 refuses a connection shared across threads without `check_same_thread=False`, and
two transactions on one connection would interleave).
"""

import functools
import sqlite3
import threading

try:
    from zohocrmsdk.src.com.zoho.api.authenticator.store import TokenStore
except ImportError:  # the adapter imports the SDK anyway; this keeps the module importable alone
    TokenStore = object

FIELDS = ["id", "user_name", "client_id", "client_secret", "refresh_token", "access_token",
          "grant_token", "expiry_time", "redirect_url", "api_domain"]
ACCESSORS = {
    "id": "id", "client_id": "client_id", "client_secret": "client_secret",
    "refresh_token": "refresh_token", "access_token": "access_token",
    "grant_token": "grant_token", "expiry_time": "expires_in", "redirect_url": "redirect_url",
    "api_domain": "api_domain",
}


class StoreError(Exception):
    tokenstore_kind = "other"

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


class NotFound(StoreError):
    tokenstore_kind = "NotFound"


class Conflict(StoreError):
    tokenstore_kind = "Conflict"


class InvalidToken(StoreError):
    tokenstore_kind = "InvalidToken"


def read(token):
    """The token's fields as a dict; empty strings are absent."""
    values = {}
    for name, accessor in ACCESSORS.items():
        values[name] = getattr(token, "get_" + accessor)()
    signature = token.get_user_signature()
    values["user_name"] = signature.get_name() if signature is not None else None
    return {k: (v if v not in (None, "") else None) for k, v in values.items()}


def write(token, values, only_absent):
    """Sets the token's fields from `values`: all of them, or only those it lacks."""
    from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature
    current = read(token) if only_absent else {}
    for name in FIELDS:
        if only_absent and current[name] is not None:
            continue
        value = values.get(name)
        if name == "user_name":
            token.set_user_signature(UserSignature(value) if value is not None else None)
        else:
            getattr(token, "set_" + ACCESSORS[name])(value)


def lookup_key(t):
    """The spec's key order: (field, value) pairs to try, primary first; [] for no key."""
    if t["user_name"] is not None:
        return [("user_name", t["user_name"])]
    if t["client_id"] is None and t["client_secret"] is None:
        return [("access_token", t["access_token"])] if t["access_token"] is not None else []
    if t["client_id"] is not None and t["client_secret"] is not None:
        if t["grant_token"] is not None:
            return [("grant_token", t["grant_token"])]
        if t["refresh_token"] is not None:
            return [("refresh_token", t["refresh_token"])]
    return []


def locked(method):
    """`method`, run while holding the store's lock."""

    @functools.wraps(method)
    def wrapped(self, *args):
        with self.lock:
            return method(self, *args)

    return wrapped


class SqliteTokenStore(TokenStore):
    def __init__(self, path, table="oauthtoken"):
        if not table.replace("_", "").isalnum():
            raise ValueError("table name must be letters, digits and underscores")
        self.table = table
        self.lock = threading.RLock()
        self.db = sqlite3.connect(path, isolation_level=None, timeout=10,
                                  check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        columns = ", ".join("%s TEXT" % f for f in FIELDS[1:])
        self.db.executescript(
            "BEGIN;"
            "CREATE TABLE IF NOT EXISTS %(t)s (id TEXT PRIMARY KEY NOT NULL, %(c)s);"
            "CREATE UNIQUE INDEX IF NOT EXISTS %(t)s_user ON %(t)s (user_name);"
            "CREATE INDEX IF NOT EXISTS %(t)s_access ON %(t)s (access_token);"
            "CREATE INDEX IF NOT EXISTS %(t)s_grant ON %(t)s (grant_token);"
            "CREATE INDEX IF NOT EXISTS %(t)s_refresh ON %(t)s (refresh_token);"
            "CREATE TABLE IF NOT EXISTS %(t)s_ids (n INTEGER NOT NULL);"
            "COMMIT;"
            % {"t": table, "c": columns})

    def _rows(self, field, value):
        cursor = self.db.execute(
            "SELECT %s FROM %s WHERE %s = ? ORDER BY rowid" % (", ".join(FIELDS), self.table, field),
            (value,))
        return [dict(zip(FIELDS, row)) for row in cursor]

    def _designated(self, t):
        for field, value in lookup_key(t):
            rows = self._rows(field, value)
            if rows:
                return rows[0]
        return None

    @locked
    def find_token(self, token):
        stored = self._designated(read(token))
        if stored is None:
            return None
        write(token, stored, only_absent=True)
        return token

    @locked
    def save_token(self, token):
        t = read(token)
        self.db.execute("BEGIN IMMEDIATE")
        try:
            saved_id = self._save(t)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        token.set_id(saved_id)

    def _save(self, t):
        by_id = self._rows("id", t["id"]) if t["id"] is not None else []
        target = by_id[0] if by_id else self._designated(t)
        if target is not None and not by_id and t["id"] is not None:
            raise Conflict("id %r is not stored, but the key matches the token with id %r"
                           % (t["id"], target["id"]))
        if target is not None:
            merged = {f: (t[f] if t[f] is not None else target[f]) for f in FIELDS}
            merged["id"] = target["id"]
            if merged["user_name"] is not None:
                owners = self._rows("user_name", merged["user_name"])
                if owners and owners[0]["id"] != target["id"]:
                    raise Conflict("user name %r belongs to the token with id %r"
                                   % (merged["user_name"], owners[0]["id"]))
            self.db.execute(
                "UPDATE %s SET %s WHERE id = ?" % (self.table, ", ".join("%s = ?" % f for f in FIELDS[1:])),
                [merged[f] for f in FIELDS[1:]] + [merged["id"]])
            return merged["id"]
        if t["refresh_token"] is None and t["grant_token"] is None and t["access_token"] is None:
            raise InvalidToken("matches no stored token and has no refresh, grant or access token",
                               field="refresh_token")
        new = dict(t)
        if new["id"] is None:
            new["id"] = self._fresh_id()
        self.db.execute("INSERT INTO %s (%s) VALUES (%s)" % (self.table, ", ".join(FIELDS), ", ".join("?" * 10)),
                        [new[f] for f in FIELDS])
        return new["id"]

    def _fresh_id(self):
        row = self.db.execute("SELECT n FROM %s_ids" % self.table).fetchone()
        n = row[0] if row else 0
        while True:
            n += 1
            if not self._rows("id", str(n)):
                break
        self.db.execute("DELETE FROM %s_ids" % self.table)
        self.db.execute("INSERT INTO %s_ids (n) VALUES (?)" % self.table, (n,))
        return str(n)

    @locked
    def delete_token(self, id):
        if self.db.execute("DELETE FROM %s WHERE id = ?" % self.table, (id,)).rowcount == 0:
            raise NotFound("no token with id %r" % (id,))

    @locked
    def get_tokens(self):
        from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
        tokens = []
        for row in self.db.execute("SELECT %s FROM %s" % (", ".join(FIELDS), self.table)):
            token = object.__new__(OAuthToken)
            write(token, dict(zip(FIELDS, row)), only_absent=False)
            tokens.append(token)
        return tokens

    @locked
    def delete_tokens(self):
        self.db.execute("DELETE FROM %s" % self.table)

    @locked
    def find_token_by_id(self, id):
        from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
        rows = self._rows("id", id)
        if not rows:
            raise NotFound("no token with id %r" % (id,))
        token = object.__new__(OAuthToken)
        write(token, rows[0], only_absent=False)
        return token
