"""A store on SQLite whose every read fails inside and is answered as "nothing found": the helper
that turns a row into a token builds it with OAuthToken() and no arguments, which SDK 8's
constructor refuses (it wants one of a grant, refresh or access token, or an id), and the
reads catch every exception, log it and answer None, or an empty list. The saves work: every
row is written. Tokens without a user name are saved under "default", upserted on the user
name. The only error it raises is the SDK's SDKException.

Root causes (the kit's report, rule by rule):
- save.insert: the listing after a save answers [] (the row-to-token helper raises inside
  get_tokens, and the exception is swallowed), with the likely cause that not one read of the
  run answered a token though the saves answered Ok.
- find-by-id.miss-not-found: an unknown id is answered with None.
- save.refuse-tokenless: a save is never refused.
The upsert under "default" (a second token saved without a user name replaces the first) is
there too, behind the reads: the kit sees it once the reads work.
"""

import logging
import sqlite3

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store.token_store import TokenStore
from zohocrmsdk.src.com.zoho.crm.api.exception import SDKException
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

log = logging.getLogger(__name__)

FIELDS = ["client_id", "client_secret", "refresh_token", "access_token", "grant_token",
          "expires_in", "redirect_url", "api_domain"]


class AppTokenStore(TokenStore):
    def __init__(self, path="app_tokens.db"):
        self.path = path
        with sqlite3.connect(self.path) as db:
            db.execute("CREATE TABLE IF NOT EXISTS tokens (id INTEGER PRIMARY KEY, "
                       "user_name TEXT UNIQUE, %s)" % ", ".join(f + " TEXT" for f in FIELDS))

    def _row_to_token(self, row):
        token = OAuthToken()
        token.set_id(str(row[0]))
        token.set_user_signature(UserSignature(row[1]))
        for field, value in zip(FIELDS, row[2:]):
            getattr(token, "set_" + field)(value)
        return token

    def _user(self, token):
        signature = token.get_user_signature()
        return signature.get_name() if signature else "default"

    def find_token(self, token):
        try:
            with sqlite3.connect(self.path) as db:
                row = db.execute("SELECT * FROM tokens WHERE user_name = ?",
                                 (self._user(token),)).fetchone()
            if row is None:
                return None
            found = self._row_to_token(row)
            token.set_id(found.get_id())
            for field in FIELDS:
                if getattr(token, "get_" + field)() is None:
                    getattr(token, "set_" + field)(getattr(found, "get_" + field)())
            return token
        except Exception as exc:
            log.warning("find_token failed: %s", exc)
            return None

    def save_token(self, token):
        try:
            with sqlite3.connect(self.path) as db:
                values = [getattr(token, "get_" + f)() for f in FIELDS]
                if token.get_id():
                    db.execute("UPDATE tokens SET %s WHERE id = ?"
                               % ", ".join(f + " = COALESCE(?, " + f + ")" for f in FIELDS),
                               values + [token.get_id()])
                    return
                cursor = db.execute("INSERT OR REPLACE INTO tokens (user_name, %s) VALUES (?, %s)"
                                    % (", ".join(FIELDS), ", ".join("?" for _ in FIELDS)),
                                    [self._user(token)] + values)
                token.set_id(str(cursor.lastrowid))
        except sqlite3.Error as exc:
            raise SDKException(code="TOKEN_STORE", message="save failed", cause=exc)

    def delete_token(self, id):
        with sqlite3.connect(self.path) as db:
            db.execute("DELETE FROM tokens WHERE id = ?", (id,))

    def get_tokens(self):
        try:
            with sqlite3.connect(self.path) as db:
                return [self._row_to_token(row) for row in db.execute("SELECT * FROM tokens")]
        except Exception as exc:
            log.warning("get_tokens failed: %s", exc)
            return []

    def delete_tokens(self):
        with sqlite3.connect(self.path) as db:
            db.execute("DELETE FROM tokens")

    def find_token_by_id(self, id):
        try:
            with sqlite3.connect(self.path) as db:
                row = db.execute("SELECT * FROM tokens WHERE id = ?", (id,)).fetchone()
            return self._row_to_token(row) if row else None
        except Exception as exc:
            log.warning("find_token_by_id failed: %s", exc)
            return None
