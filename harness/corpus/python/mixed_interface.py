"""A store on a JSON file, ported halfway from the SDK's older interface (zohocrmsdk2-0 up to
6.0) to the one zohocrmsdk5-0 and later call: find_token, save_token,
get_tokens, delete_tokens and find_token_by_id have their new signatures, but delete_token kept
its older one, delete_token(token), and find_token still fills the caller's token the way the
older get_token did, overwriting the fields the caller gave.

Root causes (the kit's report, rule by rule):
- delete.removes-exactly: delete_token(id) reads the id off its argument as off a token
  (`token.get_id()`), so the SDK's call with an id raises AttributeError and deletes nothing.
- find.hit-fills-absent: find_token overwrites the caller's own fields with the stored ones.
- save.user-name-unique, save.refuse-tokenless, save.unstored-id-conflict: a save is never
  refused, for want of three checks: a save by id takes a user name another token has, a token
  with no token value at all is stored, and an id no token has is inserted even when the key
  designates a stored token.
- concurrency.distinct-users, processes.linearizable (races, so not every run shows each):
  every write reads the whole file, changes
  it and writes it back with no lock, so saves made at once (threads or processes) lose each
  other's tokens or read a file another call is writing.
- crash.acknowledged-kept (when a kill lands mid-write): the file is rewritten in place (truncated, then written), so a process
  killed in between leaves it empty or torn.
"""

import json
import os

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store.token_store import TokenStore
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

FIELDS = ["client_id", "client_secret", "refresh_token", "access_token", "grant_token",
          "expires_in", "redirect_url", "api_domain"]


class JsonTokenStore(TokenStore):
    def __init__(self, path="tokens.json"):
        self.path = path

    def _load(self):
        if not os.path.exists(self.path):
            return {"next": 1, "rows": []}
        with open(self.path) as f:
            return json.load(f)

    def _dump(self, data):
        with open(self.path, "w") as f:
            json.dump(data, f)

    @staticmethod
    def _fill(token, row):
        token.set_id(row["id"])
        if row.get("user"):
            token.set_user_signature(UserSignature(row["user"]))
        for field in FIELDS:
            if row.get(field) is not None:
                getattr(token, "set_" + field)(row[field])
        return token

    @staticmethod
    def _match(rows, token):
        """The stored row the token's key designates, in the SDK's order of keys."""
        user = token.get_user_signature()
        if user is not None and user.get_name():
            key, value = "user", user.get_name()
        elif token.get_access_token() and not token.get_client_id() and not token.get_client_secret():
            key, value = "access_token", token.get_access_token()
        elif token.get_client_id() and token.get_client_secret() and token.get_grant_token():
            key, value = "grant_token", token.get_grant_token()
        elif token.get_client_id() and token.get_client_secret() and token.get_refresh_token():
            key, value = "refresh_token", token.get_refresh_token()
        else:
            return None
        return next((r for r in rows if r.get(key) == value), None)

    def _new_token(self):
        token = object.__new__(OAuthToken)
        token.set_user_signature(None)
        token.set_id(None)
        for field in FIELDS:
            getattr(token, "set_" + field)(None)
        return token

    def find_token(self, token):
        row = self._match(self._load()["rows"], token)
        if row is None:
            return None
        self._fill(token, row)
        return self._fill(self._new_token(), row)

    def find_token_by_id(self, id):
        for row in self._load()["rows"]:
            if row["id"] == id:
                return self._fill(self._new_token(), row)
        raise SDKException(code="TOKEN_STORE", message="Given ID is invalid")

    def save_token(self, token):
        data = self._load()
        row = None
        if token.get_id():
            row = next((r for r in data["rows"] if r["id"] == token.get_id()), None)
        if row is None:
            row = self._match(data["rows"], token)
        if row is None:
            row = {"id": token.get_id() or str(data["next"])}
            data["next"] += 1
            data["rows"].append(row)
        user = token.get_user_signature()
        if user is not None and user.get_name():
            row["user"] = user.get_name()
        for field in FIELDS:
            value = getattr(token, "get_" + field)()
            if value:
                row[field] = value
        token.set_id(row["id"])
        self._dump(data)

    def delete_token(self, token):
        data = self._load()
        data["rows"] = [r for r in data["rows"] if r["id"] != token.get_id()]
        self._dump(data)

    def get_tokens(self):
        return [self._fill(self._new_token(), r) for r in self._load()["rows"]]

    def delete_tokens(self):
        data = self._load()
        data["rows"] = []
        self._dump(data)
