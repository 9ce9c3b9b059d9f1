"""Stores that talk to a MySQL server, for the server-loss tier through the adapter
(`tokenstore-check run --python ... --server mysql://...`): their tokens live in the correct
sqlite control, and every call first asks the server (`SELECT 1`, as a store that checks a
session or writes an audit row does) on a connection the store keeps.

`OneConnectionStore` keeps its one connection for good and never reconnects: once the server
drops it, every call fails, so it fails `server-loss.recovers` and nothing else.
`ReconnectingStore` pings with reconnect before each use, as mysql-connector-python offers: a
call in flight when the connection drops may fail, the next one works, so it passes.
Needs mysql-connector-python; `server` is a URL such as mysql://root@127.0.0.1:3306/test.
"""

import threading
from urllib.parse import urlparse

import mysql.connector

from sqlite_store import SqliteTokenStore


def connect(server):
    url = urlparse(server)
    return mysql.connector.connect(host=url.hostname, port=url.port or 3306,
                                   user=url.username or "root", password=url.password or "",
                                   database=url.path.lstrip("/") or None)


class OneConnectionStore(SqliteTokenStore):
    reconnect = False

    def __init__(self, path, server, table="oauthtoken"):
        super().__init__(path, table)
        self.server = connect(server)
        self.server_lock = threading.Lock()

    def ask_server(self):
        with self.server_lock:
            if self.reconnect:
                self.server.ping(reconnect=True, attempts=3, delay=0)
            cursor = self.server.cursor()
            cursor.execute("SELECT 1")
            cursor.fetchall()
            cursor.close()

    def close(self):
        self.server.close()

    def find_token(self, token):
        self.ask_server()
        return super().find_token(token)

    def find_token_by_id(self, id):
        self.ask_server()
        return super().find_token_by_id(id)

    def save_token(self, token):
        self.ask_server()
        return super().save_token(token)

    def delete_token(self, id):
        self.ask_server()
        return super().delete_token(id)

    def get_tokens(self):
        self.ask_server()
        return super().get_tokens()

    def delete_tokens(self):
        self.ask_server()
        return super().delete_tokens()


class ReconnectingStore(OneConnectionStore):
    reconnect = True
