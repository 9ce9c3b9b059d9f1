"""Calls one method of the official Python SDK's FileStore or DBStore, for the interop tests.

usage: official_store.py file PATH (save|find) TOKEN_JSON
       official_store.py db TABLE (save|find) TOKEN_JSON      (MySQL from TOKENSTORE_SDK_MYSQL_*)

TOKEN_JSON holds the ten fields by their spec names (null for absent). Prints the caller's token
after the call (save writes the id back; find fills it), as JSON, or null for a find miss.
Tokens are built the way the SDK builds them: without the constructor, every field set to None.
"""

import json
import os
import sys

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store import DBStore, FileStore
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

SETTERS = {
    "id": "set_id",
    "client_id": "set_client_id",
    "client_secret": "set_client_secret",
    "refresh_token": "set_refresh_token",
    "access_token": "set_access_token",
    "grant_token": "set_grant_token",
    "expiry_time": "set_expires_in",
    "redirect_url": "set_redirect_url",
    "api_domain": "set_api_domain",
}
GETTERS = {
    "id": "get_id",
    "client_id": "get_client_id",
    "client_secret": "get_client_secret",
    "refresh_token": "get_refresh_token",
    "access_token": "get_access_token",
    "grant_token": "get_grant_token",
    "expiry_time": "get_expires_in",
    "redirect_url": "get_redirect_url",
    "api_domain": "get_api_domain",
}


def build(fields):
    token = object.__new__(OAuthToken)
    for setter in SETTERS.values():
        getattr(token, setter)(None)
    token.set_user_signature(None)
    for name, value in fields.items():
        if value is None:
            continue
        if name == "user_name":
            token.set_user_signature(UserSignature(value))
        else:
            getattr(token, SETTERS[name])(value)
    return token


def dump(token):
    out = {name: getattr(token, getter)() for name, getter in GETTERS.items()}
    signature = token.get_user_signature()
    out["user_name"] = signature.get_name() if signature is not None else None
    return out


def store(kind, where):
    if kind == "file":
        return FileStore(where)
    env = os.environ
    return DBStore(
        host=env.get("TOKENSTORE_SDK_MYSQL_HOST", "127.0.0.1"),
        database_name=env.get("TOKENSTORE_SDK_MYSQL_DATABASE", "test"),
        user_name=env.get("TOKENSTORE_SDK_MYSQL_USER", "root"),
        password=env.get("TOKENSTORE_SDK_MYSQL_PASSWORD", ""),
        port_number=env.get("TOKENSTORE_SDK_MYSQL_PORT", "3306"),
        table_name=where,
    )


def main():
    kind, where, method, fields = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
    token = build(fields)
    target = store(kind, where)
    if method == "save":
        target.save_token(token)
        print(json.dumps(dump(token)))
    elif method == "find":
        found = target.find_token(token)
        print(json.dumps(dump(found) if found is not None else None))
    else:
        sys.exit(f"unknown method {method}")


if __name__ == "__main__":
    main()
