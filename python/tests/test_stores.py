"""The tokenstore package as a Python app meets it: every store is the SDK's TokenStore, takes and
returns the SDK's OAuthToken, writes the id back on save, raises the SDK's SDKException with the
refusal kind on it, is safe to call from many threads at once, works in a child made by fork,
and turns a missing directory or a server that never answers into one clear error. Run with the Python that has
the package and the SDK installed: `python python/tests/test_stores.py` (servers from the
TOKENSTORE_REDIS_URL, TOKENSTORE_POSTGRES_URL and TOKENSTORE_MYSQL_URL variables; a store whose
variable is unset is skipped, unless TOKENSTORE_REQUIRE names it)."""

import multiprocessing
import os
import socket
import sys
import tempfile
import threading

import tokenstore
from zohocrmsdk.src.com.zoho.api.authenticator.store.token_store import TokenStore
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException



def stores(tmp):
    """(name, open) for every store this machine can open: `open()` gives a store object on the
    store's own storage (the same storage at every call)."""
    yield "SQLiteStore", lambda: tokenstore.SQLiteStore(os.path.join(tmp, "tokens.db"))
    yield "CSVFileStore", lambda: tokenstore.CSVFileStore(os.path.join(tmp, "tokens.csv"))
    required = os.environ.get("TOKENSTORE_REQUIRE", "").split(",")
    servers = [("RedisStore", "redis", "TOKENSTORE_REDIS_URL", "namespace"),
               ("PostgresStore", "postgres", "TOKENSTORE_POSTGRES_URL", "table"),
               ("MySQLStore", "mysql", "TOKENSTORE_MYSQL_URL", "table")]
    for name, backend, variable, where in servers:
        url = os.environ.get(variable)
        if url is None:
            assert backend not in required, "TOKENSTORE_REQUIRE names %s but %s is unset" % (
                backend, variable)
            print("%s: skipped: %s is not set" % (name, variable))
            continue
        cls = getattr(tokenstore, name)
        yield name, lambda cls=cls, url=url, where=where: cls(url, **{where: "tokenstore_pytest"})


def token(**fields):
    return tokenstore._token(fields)


def check(name, store):
    assert isinstance(store, TokenStore), name
    alice = token(user_name="alice", refresh_token="r1", client_id="c", client_secret="s")
    store.save_token(alice)
    assert alice.get_id(), "%s: save_token wrote no id back" % name
    probe = token(user_name="alice")
    found = store.find_token(probe)
    assert found is probe, "%s: find_token fills in and returns the caller's token" % name
    assert found.get_refresh_token() == "r1" and found.get_id() == alice.get_id(), name
    assert found.get_user_signature().get_name() == "alice", name
    assert store.find_token(token(user_name="nobody")) is None, name
    by_id = store.find_token_by_id(alice.get_id())
    assert by_id.get_client_secret() == "s" and by_id.get_grant_token() is None, name

    try:
        store.find_token_by_id("no-such-id")
        raise AssertionError("%s: find_token_by_id of a missing id returned" % name)
    except SDKException as error:
        assert error.tokenstore_kind == "NotFound" and error.code == "NotFound", (name, error)
    bob = token(user_name="bob", refresh_token="r2")
    store.save_token(bob)
    try:
        store.save_token(token(id=bob.get_id(), user_name="alice"))
        raise AssertionError("%s: renaming bob to alice was accepted" % name)
    except SDKException as error:
        assert error.tokenstore_kind == "Conflict", (name, error)
    try:
        store.save_token(token(user_name="carol"))
        raise AssertionError("%s: a token with no refresh, grant or access token was stored"
                             % name)
    except SDKException as error:
        assert error.tokenstore_kind == "InvalidToken" and error.field, (name, error)

    # Many threads on one store: every save lands, each user once.
    def save(n):
        for k in range(10):
            store.save_token(token(user_name="user-%d" % n, access_token="a%d" % k))

    threads = [threading.Thread(target=save, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    users = sorted(t.get_user_signature().get_name() for t in store.get_tokens())
    assert users == sorted(["alice", "bob"] + ["user-%d" % n for n in range(8)]), (name, users)
    for n in range(8):
        last = store.find_token(token(user_name="user-%d" % n))
        assert last.get_access_token() == "a9", (name, n, last.get_access_token())

    store.delete_token(bob.get_id())
    assert len(store.get_tokens()) == 9, name
    store.delete_tokens()
    assert store.get_tokens() == [], name
    print("%s: ok" % name)


def save_in_child(store, open_store, name):
    """In a forked child: the store the parent used, then one opened in the child, each save."""
    store.save_token(token(user_name="child-of-" + name, refresh_token="r"))
    open_store().save_token(token(user_name="child-again-" + name, refresh_token="r"))


def check_fork(name, store, open_store):
    """A store used before a fork (gunicorn --preload) works in the child, and so does one
    opened there; then the parent's still works."""
    store.get_tokens()
    child = multiprocessing.get_context("fork").Process(
        target=save_in_child, args=(store, open_store, name))
    child.start()
    child.join(60)
    assert child.exitcode == 0, "%s: the forked child exited with %r" % (name, child.exitcode)
    users = {t.get_user_signature().get_name() for t in store.get_tokens()}
    assert {"child-of-" + name, "child-again-" + name} <= users, (name, users)
    print("%s: ok after fork" % name)


def check_bad_input(tmp):
    """A path in a missing directory, and a server that never answers, are one clear error."""
    try:
        tokenstore.CSVFileStore(os.path.join(tmp, "missing", "tokens.csv"))
        raise AssertionError("a CSV path in a missing directory was accepted")
    except SDKException as error:
        assert "does not exist" in str(error), error
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    try:
        tokenstore.PostgresStore("postgres://postgres@127.0.0.1:%d/test" % port, timeout=0.5)
        raise AssertionError("a server that never answers gave a store")
    except SDKException as error:
        assert error.tokenstore_kind == "other" and "did not answer within 0.5 s" in str(error), \
            error
    finally:
        silent.close()
    print("bad input: ok")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        checked = 0
        for name, open_store in stores(tmp):
            store = open_store()
            store.delete_tokens()
            try:
                check(name, store)
                check_fork(name, store, open_store)
            finally:
                store.delete_tokens()
            checked += 1
        check_bad_input(tmp)
    assert checked >= 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
