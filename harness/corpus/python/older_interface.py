"""A store written for the SDK's older interface (zohocrmsdk2-0 2.x to 6.x): get_token(user,
token), save_token(user, token), delete_token(token), get_tokens(), delete_tokens(),
get_token_by_id(id, token), keyed on the user's email. Many apps still run those releases.

Root causes: none the kit can check; it must refuse the store in one line naming its interface.
"""

import json
import os


class JsonTokenStore:
    def __init__(self, path="tokens.json"):
        self.path = path

    def _load(self):
        if not os.path.exists(self.path):
            return []
        with open(self.path) as f:
            return json.load(f)

    def _dump(self, rows):
        with open(self.path, "w") as f:
            json.dump(rows, f)

    def get_token(self, user, token):
        for row in self._load():
            if row["user_mail"] == user.get_email() and row["client_id"] == token.get_client_id():
                token.set_refresh_token(row["refresh_token"])
                token.set_access_token(row["access_token"])
                token.set_expires_in(row["expiry_time"])
                return token
        return None

    def save_token(self, user, token):
        rows = [r for r in self._load() if r["user_mail"] != user.get_email()]
        rows.append({"id": token.get_id(), "user_mail": user.get_email(),
                     "client_id": token.get_client_id(), "refresh_token": token.get_refresh_token(),
                     "access_token": token.get_access_token(), "expiry_time": token.get_expires_in()})
        self._dump(rows)

    def delete_token(self, token):
        self._dump([r for r in self._load() if r["refresh_token"] != token.get_refresh_token()])

    def get_tokens(self):
        return self._load()

    def delete_tokens(self):
        self._dump([])

    def get_token_by_id(self, id, token):
        for row in self._load():
            if row["id"] == id:
                token.set_refresh_token(row["refresh_token"])
                return token
        raise KeyError(id)
