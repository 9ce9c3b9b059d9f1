"""Token stores for the Zoho CRM Python SDK, backed by the tokenstore-check kit's Rust backends.

Each class is a subclass of the SDK's ``TokenStore``: pass one to ``Initializer.initialize(store=...)``.
They take and return the SDK's ``OAuthToken`` objects, wait for the storage with the GIL released
(so many threads may share one store) and for at most ``timeout`` seconds per call (30 by
default; a call that times out raises with kind ``other`` and may or may not have taken effect),
open their storage again in a child made by fork (gunicorn ``--preload``, multiprocessing), and
raise the SDK's ``SDKException`` whose ``code`` and
``tokenstore_kind`` say what was refused: ``NotFound`` (no token with that id), ``Conflict`` (the
user name belongs to another token, or the id is not stored but the key matches a stored token),
``InvalidToken`` (``field`` names the field at fault), or ``other`` (the storage failed).

- ``SQLiteStore(path, table="oauthtoken", timeout=30.0)``: a SQLite database file.
- ``CSVFileStore(path, timeout=30.0)``: a CSV file in the official FileStore's format.
- ``RedisStore(url, namespace="default", timeout=30.0)``: a Redis server, ``redis://host:port/db``.
- ``PostgresStore(url, table="oauthtoken", timeout=30.0)``: ``postgres://user@host:port/database``.
- ``MySQLStore(url, table="oauthtoken", timeout=30.0)``:
  ``mysql://user:password@host:port/database``, with the columns of the official DBStore's table
  (an existing DBStore table is used as it is).
"""

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store.token_store import TokenStore
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

from . import _native

__all__ = ["SQLiteStore", "CSVFileStore", "RedisStore", "PostgresStore", "MySQLStore"]

# Token field name to the OAuthToken accessor suffix (get_X, set_X); user_name is the user
# signature's name.
_ACCESSORS = {
    "id": "id", "client_id": "client_id", "client_secret": "client_secret",
    "refresh_token": "refresh_token", "access_token": "access_token",
    "grant_token": "grant_token", "expiry_time": "expires_in", "redirect_url": "redirect_url",
    "api_domain": "api_domain",
}


def _fields(token):
    """The token's fields as the native store takes them: name to string, None when absent."""
    out = {}
    for name, accessor in _ACCESSORS.items():
        value = getattr(token, "get_" + accessor)()
        out[name] = None if value is None else str(value)
    signature = token.get_user_signature()
    name = signature.get_name() if signature is not None else None
    out["user_name"] = None if name is None else str(name)
    return out


def _fill(token, fields):
    """Sets every field of ``token`` to ``fields``' value (absent: None) and returns it."""
    for name, accessor in _ACCESSORS.items():
        getattr(token, "set_" + accessor)(fields.get(name))
    user = fields.get("user_name")
    token.set_user_signature(UserSignature(user) if user is not None else None)
    return token


def _token(fields):
    """A new OAuthToken, built as the SDK's own stores build one: no constructor, every setter."""
    return _fill(object.__new__(OAuthToken), fields)


def _call(method, *args):
    """Calls the native store, raising its errors as the SDK's SDKException."""
    try:
        return method(*args)
    except _native.StoreError as error:
        kind, field, message = error.args
        raised = SDKException(code=kind, message=message)
        raised.tokenstore_kind = kind
        raised.field = field
        raise raised from None


class _KitStore(TokenStore):
    """A TokenStore over one of the kit's native stores. ``tokenstore_limits`` says what the
    storage cannot hold, for tokenstore-check's adapter to declare (the shape of its --limits)."""

    def __init__(self, native):
        self._native = native

    def find_token(self, token):
        found = _call(self._native.find_token, _fields(token))
        return None if found is None else _fill(token, found)

    def save_token(self, token):
        token.set_id(_call(self._native.save_token, _fields(token)))

    def delete_token(self, id):
        _call(self._native.delete_token, str(id))

    def get_tokens(self):
        return [_token(fields) for fields in _call(self._native.get_tokens)]

    def delete_tokens(self):
        _call(self._native.delete_tokens)

    def find_token_by_id(self, id):
        return _token(_call(self._native.find_token_by_id, str(id)))


class SQLiteStore(_KitStore):
    """Tokens in the table ``table`` of the SQLite database file at ``path`` (created if needed)."""

    tokenstore_limits = _native.limits("sqlite")

    def __init__(self, path, table="oauthtoken", timeout=30.0):
        _KitStore.__init__(self, _call(_native.Store.sqlite, str(path), table, timeout))


class CSVFileStore(_KitStore):
    """Tokens in the CSV file at ``path``, in the official FileStore's format."""

    tokenstore_limits = _native.limits("file")

    def __init__(self, path, timeout=30.0):
        _KitStore.__init__(self, _call(_native.Store.file, str(path), timeout))


class RedisStore(_KitStore):
    """Tokens on the Redis server at ``url``, in ``namespace`` (one app's tokens)."""

    tokenstore_limits = _native.limits("redis")

    def __init__(self, url, namespace="default", timeout=30.0):
        _KitStore.__init__(self, _call(_native.Store.redis, url, namespace, timeout))


class PostgresStore(_KitStore):
    """Tokens in the table ``table`` on the PostgreSQL server at ``url``."""

    tokenstore_limits = _native.limits("postgres")

    def __init__(self, url, table="oauthtoken", timeout=30.0):
        _KitStore.__init__(self, _call(_native.Store.postgres, url, table, timeout))


class MySQLStore(_KitStore):
    """Tokens in the table ``table`` (the official DBStore's columns) on the MySQL or MariaDB
    server at ``url``."""

    tokenstore_limits = _native.limits("mysql")

    def __init__(self, url, table="oauthtoken", timeout=30.0):
        _KitStore.__init__(self, _call(_native.Store.mysql, url, table, timeout))
