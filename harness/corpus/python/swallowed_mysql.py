"""A store on MySQL with mysql-connector, in the shape of the SDK's own DBStore: a connection per
call, every method wrapped in try/except that logs the error and answers None, so nothing the
database refuses ever reaches the SDK. A new token's id is one more than the rows the table holds.

Root causes (the kit's report, rule by rule):
- find-by-id.miss-not-found: an unknown id is answered with None (the error swallowed).
- save.fresh-id-unique: after a delete, a new token gets the id of a token still stored
  (COUNT(*) + 1); the INSERT's duplicate-key error is logged and the save "succeeds" with no row
  written.
- concurrency.distinct-users, processes.linearizable, crash.acknowledged-kept (races, so not
  every run shows each): COUNT(*) + 1 is read, then inserted, with no lock, so saves made at once
  get one id, and the duplicate-key error is swallowed: a save acknowledged is not stored.
- find.exact-match: the key columns have MySQL's default collation, which ignores case and
  trailing spaces, so "Alice" finds "alice".
- token.absent-empty: find_token keeps the probe's empty user name ("") in the token it returns
  instead of treating it as absent and filling it.
- limits.declared: ids and keys are VARCHAR(255), and the store declares no limit, so a longer
  value is refused with the driver's "Data too long" instead of an InvalidToken it announced.
- save.user-name-unique, save.refuse-tokenless, save.unstored-id-conflict: a save is never
  refused, for want of three checks: a save by id takes a user name another token has, a token
  with no token value at all is stored, and an id no token has is inserted even when the key
  designates a stored token.
"""

import logging

import mysql.connector

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store.token_store import TokenStore
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

log = logging.getLogger(__name__)

COLUMNS = ["id", "user_name", "client_id", "client_secret", "refresh_token", "access_token",
           "grant_token", "expiry_time", "redirect_url", "api_domain"]


class MySQLTokenStore(TokenStore):
    def __init__(self, host="127.0.0.1", port=3306, user="root", password="", database="test",
                 table="oauth_tokens"):
        self.config = dict(host=host, port=port, user=user, password=password, database=database)
        self.table = table
        try:
            self._run("CREATE TABLE IF NOT EXISTS %s (id VARCHAR(255) PRIMARY KEY, "
                      "user_name VARCHAR(255), client_id TEXT, client_secret TEXT, "
                      "refresh_token VARCHAR(255), access_token VARCHAR(255), "
                      "grant_token VARCHAR(255), expiry_time TEXT, redirect_url TEXT, "
                      "api_domain TEXT)" % table)
        except Exception as e:
            log.error("cannot create the token table: %s", e)

    def _run(self, sql, params=()):
        connection = mysql.connector.connect(**self.config)
        try:
            cursor = connection.cursor(dictionary=True)
            cursor.execute(sql, params)
            rows = cursor.fetchall() if cursor.with_rows else []
            connection.commit()
            return rows
        finally:
            connection.close()

    @staticmethod
    def _token(row):
        token = object.__new__(OAuthToken)
        token.set_id(row["id"])
        token.set_user_signature(UserSignature(row["user_name"]) if row["user_name"] else None)
        token.set_client_id(row["client_id"])
        token.set_client_secret(row["client_secret"])
        token.set_refresh_token(row["refresh_token"])
        token.set_access_token(row["access_token"])
        token.set_grant_token(row["grant_token"])
        token.set_expires_in(row["expiry_time"])
        token.set_redirect_url(row["redirect_url"])
        token.set_api_domain(row["api_domain"])
        return token

    @staticmethod
    def _values(token):
        user = token.get_user_signature()
        values = [token.get_id(), user.get_name() if user else None, token.get_client_id(),
                  token.get_client_secret(), token.get_refresh_token(), token.get_access_token(),
                  token.get_grant_token(), token.get_expires_in(), token.get_redirect_url(),
                  token.get_api_domain()]
        return [v if v not in ("", None) else None for v in values]

    def _lookup(self, token):
        """The row the token's key designates, in the SDK's order of keys."""
        user_name, client_id, client_secret, refresh, access, grant = self._values(token)[1:7]
        if user_name:
            where, value = "user_name", user_name
        elif access and not client_id and not client_secret:
            where, value = "access_token", access
        elif client_id and client_secret and grant:
            where, value = "grant_token", grant
        elif client_id and client_secret and refresh:
            where, value = "refresh_token", refresh
        else:
            return None
        rows = self._run("SELECT * FROM %s WHERE %s = %%s" % (self.table, where), (value,))
        return rows[0] if rows else None

    def find_token(self, token):
        try:
            row = self._lookup(token)
            if row is None:
                return None
            for column, value in zip(COLUMNS, self._values(self._token(row))):
                if column == "user_name":
                    if token.get_user_signature() is None and value:
                        token.set_user_signature(UserSignature(value))
                    continue
                getter = "get_expires_in" if column == "expiry_time" else "get_" + column
                setter = "set_expires_in" if column == "expiry_time" else "set_" + column
                if not getattr(token, getter)():
                    getattr(token, setter)(value)
            return token
        except Exception as e:
            log.error("find_token: %s", e)
            return None

    def find_token_by_id(self, id):
        try:
            rows = self._run("SELECT * FROM %s WHERE id = %%s" % self.table, (id,))
            return self._token(rows[0])
        except Exception as e:
            log.error("find_token_by_id: %s", e)
            return None

    def save_token(self, token):
        try:
            row = None
            if token.get_id():
                rows = self._run("SELECT * FROM %s WHERE id = %%s" % self.table, (token.get_id(),))
                row = rows[0] if rows else None
            if row is None:
                row = self._lookup(token)
            if row is not None:
                values = [v if v is not None else row[c] for c, v in zip(COLUMNS, self._values(token))]
                values[0] = row["id"]
                self._run("UPDATE %s SET %s WHERE id = %%s"
                          % (self.table, ", ".join(c + " = %s" for c in COLUMNS)),
                          values + [row["id"]])
                token.set_id(row["id"])
                return
            if not token.get_id():
                count = self._run("SELECT COUNT(*) AS n FROM %s" % self.table)[0]["n"]
                token.set_id(str(count + 1))
            self._run("INSERT INTO %s (%s) VALUES (%s)"
                      % (self.table, ", ".join(COLUMNS), ", ".join(["%s"] * len(COLUMNS))),
                      self._values(token))
        except Exception as e:
            log.error("save_token: %s", e)

    def delete_token(self, id):
        try:
            self._run("DELETE FROM %s WHERE id = %%s" % self.table, (id,))
        except Exception as e:
            log.error("delete_token: %s", e)

    def get_tokens(self):
        try:
            return [self._token(row) for row in self._run("SELECT * FROM %s" % self.table)]
        except Exception as e:
            log.error("get_tokens: %s", e)
            return []

    def delete_tokens(self):
        try:
            self._run("DELETE FROM %s" % self.table)
        except Exception as e:
            log.error("delete_tokens: %s", e)
