"""Controls written the way SDK users write their stores: refusals raised as the SDK's one
exception type, storage at a path relative to the working directory, failures of the database
wrapped in an SDKException with the driver's error as its cause.

SdkExceptionStore is correct (it must pass every rule, with errors=untyped in its profile);
SeedStyleStore is correct too and keeps `zohooauth.db` in the working directory, as the SDK's
samples do. RaisingDeleteTokensStore has one fault, the one of the article's sample store: its
delete_tokens commits through an attribute that does not exist, so it raises and deletes
nothing. The kit must report that under delete-tokens.empties, and check every other rule.
"""

import sqlite3

from sqlite_store import SqliteTokenStore, StoreError

try:
    from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException
except ImportError:  # the adapter imports the SDK anyway; this keeps the module importable alone
    SDKException = Exception

CODE = "TOKEN_STORE"


def untyped(method):
    """`method`, raising the SDK's SDKException for the store's refusals (no cause) and for
    failures of the database (with the driver's error as the cause), as the official stores do."""

    def wrapped(self, *args):
        try:
            return method(self, *args)
        except StoreError as refusal:
            raise SDKException(code=CODE, message=str(refusal)) from None
        except sqlite3.Error as failure:
            raise SDKException(code=CODE, message="token store error", cause=failure)

    wrapped.__name__ = method.__name__
    return wrapped


class SdkExceptionStore(SqliteTokenStore):
    """Correct, with untyped refusals: every refusal is a plain SDKException."""

    find_token = untyped(SqliteTokenStore.find_token)
    save_token = untyped(SqliteTokenStore.save_token)
    delete_token = untyped(SqliteTokenStore.delete_token)
    get_tokens = untyped(SqliteTokenStore.get_tokens)
    delete_tokens = untyped(SqliteTokenStore.delete_tokens)
    find_token_by_id = untyped(SqliteTokenStore.find_token_by_id)


class SeedStyleStore(SdkExceptionStore):
    """Correct, untyped, with no constructor argument: its database is `zohooauth.db` in the
    working directory, as in the SDK's custom-store sample."""

    def __init__(self):
        super().__init__("zohooauth.db")


class RaisingDeleteTokensStore(SeedStyleStore):
    """Breaks delete-tokens.empties only: deletes inside a transaction, then commits through
    `self.connection`, which does not exist, so the AttributeError leaves the rows in place."""

    def delete_tokens(self):
        self.db.execute("BEGIN")
        self.db.execute("DELETE FROM %s" % self.table)
        try:
            self.connection.commit()
        finally:
            self.db.execute("ROLLBACK")


class SharedRaisingDeleteTokensStore(SdkExceptionStore):
    """RaisingDeleteTokensStore's fault on a database outside the working directory (at `path`,
    which outlives every reset), so the kit can empty it between checks only through its
    delete_tokens: the checks after the first are blocked by delete-tokens.empties."""

    delete_tokens = RaisingDeleteTokensStore.delete_tokens
