"""A store on SQLite that keys every token by the app's user, as a single-user app does: a save
writes the token under DEFAULT_USER unless the token names a user, and upserts on the user name
(INSERT OR REPLACE), so every token saved without a user name lands on one row. Errors of the
database are logged and answered as "nothing found".

Root causes (the kit's report, rule by rule):
- save.insert: a token saved without a user name is stored under "default", and a second one
  replaces the first (the upsert on the user name).
- save.key-selects, save.idempotent: INSERT OR REPLACE deletes the row it replaces, so an update
  by key (even one that changes nothing) gives the token a new id.
- save.user-name-unique: a save by id that takes another token's user name raises the driver's
  IntegrityError instead of the SDK's refusal.
- save.unstored-id-conflict, save.refuse-tokenless: a save is never refused.
- find-by-id.miss-not-found: an unknown id is answered with None.
- find.no-key-none: a probe with an access token and only a client secret is looked up by the
  access token.
- find.hit-fills-absent: a hit writes the stored id over the probe's own.
- token.absent-empty: a probe's empty user name is kept and returned as "".
"""

import sqlite3
import logging

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store.token_store import TokenStore
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

log = logging.getLogger(__name__)

DEFAULT_USER = "default"
FIELDS = ["client_id", "client_secret", "refresh_token", "access_token", "grant_token",
          "expires_in", "redirect_url", "api_domain"]


class UserTokenStore(TokenStore):
    def __init__(self, path="tokens.db"):
        self.path = path
        with self._db() as db:
            db.execute("CREATE TABLE IF NOT EXISTS oauth (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                       "user TEXT UNIQUE, %s)" % ", ".join(f + " TEXT" for f in FIELDS))

    def _db(self):
        return sqlite3.connect(self.path)

    @staticmethod
    def _user(token):
        signature = token.get_user_signature()
        return signature.get_name() if signature is not None and signature.get_name() else DEFAULT_USER

    def _fill(self, token, row):
        token.set_id(str(row[0]))
        if row[1] != DEFAULT_USER and token.get_user_signature() is None:
            token.set_user_signature(UserSignature(row[1]))
        for field, value in zip(FIELDS, row[2:]):
            if getattr(token, "get_" + field)() is None:
                getattr(token, "set_" + field)(value)
        return token

    def _new(self, row):
        token = object.__new__(OAuthToken)
        for field in FIELDS + ["id"]:
            getattr(token, "set_" + field)(None)
        token.set_user_signature(None)
        return self._fill(token, row)

    def find_token(self, token):
        try:
            with self._db() as db:
                if token.get_user_signature() is not None:
                    row = db.execute("SELECT * FROM oauth WHERE user = ?", (self._user(token),)).fetchone()
                elif token.get_access_token() and token.get_client_id() is None:
                    row = db.execute("SELECT * FROM oauth WHERE access_token = ?",
                                     (token.get_access_token(),)).fetchone()
                elif token.get_grant_token():
                    row = db.execute("SELECT * FROM oauth WHERE grant_token = ?",
                                     (token.get_grant_token(),)).fetchone()
                elif token.get_refresh_token():
                    row = db.execute("SELECT * FROM oauth WHERE refresh_token = ?",
                                     (token.get_refresh_token(),)).fetchone()
                else:
                    return None
            return self._fill(token, row) if row else None
        except sqlite3.Error as exc:
            log.error("find_token: %s", exc)
            return None

    def save_token(self, token):
        values = [getattr(token, "get_" + f)() for f in FIELDS]
        with self._db() as db:
            if token.get_id() is not None:
                stored = db.execute("SELECT * FROM oauth WHERE id = ?", (token.get_id(),)).fetchone()
                if stored is not None:
                    merged = [v if v is not None else s for v, s in zip(values, stored[2:])]
                    user = self._user(token) if token.get_user_signature() else stored[1]
                    db.execute("UPDATE oauth SET user = ?, %s WHERE id = ?" % ", ".join(f + " = ?" for f in FIELDS),
                               [user] + merged + [token.get_id()])
                    return
            cursor = db.execute("INSERT OR REPLACE INTO oauth (user, %s) VALUES (?, %s)"
                                % (", ".join(FIELDS), ", ".join("?" for _ in FIELDS)),
                                [self._user(token)] + values)
            token.set_id(str(cursor.lastrowid))

    def delete_token(self, id):
        with self._db() as db:
            db.execute("DELETE FROM oauth WHERE id = ?", (id,))

    def get_tokens(self):
        with self._db() as db:
            return [self._new(row) for row in db.execute("SELECT * FROM oauth ORDER BY id")]

    def delete_tokens(self):
        with self._db() as db:
            db.execute("DELETE FROM oauth")

    def find_token_by_id(self, id):
        with self._db() as db:
            row = db.execute("SELECT * FROM oauth WHERE id = ?", (id,)).fetchone()
        return self._new(row) if row else None
