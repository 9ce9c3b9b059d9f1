"""find_token and save_token latency measured from Python: the tokenstore package's five stores
beside the official SDK's FileStore and DBStore, at each size, on the same synthetic tokens, one
thread. Prints a Markdown table of p50 and p99 in microseconds per call: finds by user name, then
saves that update a token found by user name (a new access token), as a refresh does.

Usage: python python/bench.py [--sizes 1000,10000] [--lookups 300] [--saves 30]
(the servers from TOKENSTORE_REDIS_URL, TOKENSTORE_POSTGRES_URL and TOKENSTORE_MYSQL_URL; a store
whose variable is unset is left out). The CSV stores are loaded by writing the FileStore's file
directly and the DBStore by one multi-row INSERT, since loading them through save_token rewrites
or scans everything at every save; the kit's other stores are loaded through save_token."""

import argparse
import csv
import os
import random
import statistics
import tempfile
import time
import urllib.parse

import tokenstore
from zohocrmsdk.src.com.zoho.api.authenticator.store import DBStore, FileStore

HEADER = ["id", "user_name", "client_id", "client_secret", "refresh_token", "access_token",
          "grant_token", "expiry_time", "redirect_uri", "api_domain"]


def fields(i):
    return {"id": str(i + 1), "user_name": "user-%d@example.com" % i, "client_id": "1000.CLIENT",
            "client_secret": "secret-%d" % i, "refresh_token": "1000.refresh.%d" % i,
            "access_token": "1000.access.%d" % i, "grant_token": None,
            "expiry_time": "1700000000000", "redirect_url": None,
            "api_domain": "https://www.zohoapis.com"}


def write_csv(path, size):
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        for i in range(size):
            t = fields(i)
            out.writerow([t[k if k != "redirect_uri" else "redirect_url"] or "" for k in HEADER])


def mysql_parts(url):
    u = urllib.parse.urlparse(url)
    return dict(host=u.hostname, port=str(u.port or 3306), user=u.username or "root",
                password=u.password or "", database=u.path.lstrip("/"))


def load_dbstore(url, table, size):
    import mysql.connector
    p = mysql_parts(url)
    conn = mysql.connector.connect(host=p["host"], port=p["port"], user=p["user"],
                                   password=p["password"], database=p["database"])
    cur = conn.cursor()
    cur.execute("DROP TABLE IF EXISTS %s" % table)
    cur.execute("CREATE TABLE %s (id varchar(10) NOT NULL, user_name varchar(255), client_id "
                "varchar(255), client_secret varchar(255), refresh_token varchar(255), "
                "access_token varchar(255), grant_token varchar(255), expiry_time varchar(20), "
                "redirect_url varchar(255), api_domain varchar(255), primary key (id))" % table)
    columns = [k if k != "redirect_uri" else "redirect_url" for k in HEADER]
    rows = [tuple(fields(i)[c] for c in columns) for i in range(size)]
    cur.executemany("INSERT INTO %s (%s) VALUES (%s)" % (table, ", ".join(columns),
                                                          ", ".join(["%s"] * len(columns))), rows)
    conn.commit()
    conn.close()
    return DBStore(host=p["host"], database_name=p["database"], user_name=p["user"],
                   password=p["password"], port_number=p["port"], table_name=table)


def drop_table(url, table):
    import mysql.connector
    p = mysql_parts(url)
    conn = mysql.connector.connect(host=p["host"], port=p["port"], user=p["user"],
                                   password=p["password"], database=p["database"])
    conn.cursor().execute("DROP TABLE IF EXISTS %s, %s_ids, %s_locks" % (table, table, table))
    conn.close()


def stores(tmp, size):
    """(name, store, cleanup) of every store this machine can open, loaded with `size` tokens."""
    csv_path = os.path.join(tmp, "official-%d.csv" % size)
    write_csv(csv_path, size)
    yield "official FileStore", FileStore(csv_path), None
    kit_csv = os.path.join(tmp, "kit-%d.csv" % size)
    write_csv(kit_csv, size)
    yield "CSVFileStore", tokenstore.CSVFileStore(kit_csv), None
    mysql_url = os.environ.get("TOKENSTORE_MYSQL_URL")
    if mysql_url:
        table = "pybench_dbstore"
        yield ("official DBStore", load_dbstore(mysql_url, table, size),
               lambda: drop_table(mysql_url, table))
    kit = [("SQLiteStore", lambda: tokenstore.SQLiteStore(os.path.join(tmp, "kit-%d.db" % size)),
            None)]
    if os.environ.get("TOKENSTORE_REDIS_URL"):
        kit.append(("RedisStore", lambda: tokenstore.RedisStore(
            os.environ["TOKENSTORE_REDIS_URL"], "pybench_%d" % size), None))
    if os.environ.get("TOKENSTORE_POSTGRES_URL"):
        kit.append(("PostgresStore", lambda: tokenstore.PostgresStore(
            os.environ["TOKENSTORE_POSTGRES_URL"], "pybench_%d" % size), None))
    if mysql_url:
        kit.append(("MySQLStore", lambda: tokenstore.MySQLStore(mysql_url, "pybench_%d" % size),
                    lambda: drop_table(mysql_url, "pybench_%d" % size)))
    for name, open_store, cleanup in kit:
        store = open_store()
        store.delete_tokens()
        for i in range(size):
            t = fields(i)
            t["id"] = None
            store.save_token(tokenstore._token(t))
        yield name, store, cleanup or store.delete_tokens


def measure(store, size, lookups):
    rng = random.Random(size)
    times = []
    for _ in range(lookups):
        i = rng.randrange(size)
        probe = tokenstore._token({"user_name": "user-%d@example.com" % i})
        started = time.perf_counter_ns()
        found = store.find_token(probe)
        times.append(time.perf_counter_ns() - started)
        assert found is not None and found.get_refresh_token() == "1000.refresh.%d" % i
    return percentiles(times)


def measure_saves(store, size, saves):
    rng = random.Random(-size)
    times = []
    for k in range(saves):
        i = rng.randrange(size)
        update = tokenstore._token({"user_name": "user-%d@example.com" % i,
                                    "access_token": "1000.saved.%d" % k})
        started = time.perf_counter_ns()
        store.save_token(update)
        times.append(time.perf_counter_ns() - started)
    return percentiles(times)


def percentiles(times):
    times.sort()
    return statistics.median(times) / 1000, times[max(int(len(times) * 0.99) - 1, 0)] / 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--lookups", type=int, default=300)
    parser.add_argument("--saves", type=int, default=30)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    finds, saves = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            for name, store, cleanup in stores(tmp, size):
                finds.setdefault(name, {})[size] = measure(store, size, args.lookups)
                saves.setdefault(name, {})[size] = measure_saves(store, size, args.saves)
                if cleanup:
                    cleanup()
    for title, table in (("`find_token` by user name", finds),
                         ("`save_token` updating a token by user name", saves)):
        print("| %s, from Python | " % title + " | ".join(
            "%d tokens: p50 (p99) µs" % s for s in sizes) + " |")
        print("|---|" + "---|" * len(sizes))
        for name, by_size in table.items():
            cells = ["%s (%s)" % (fmt(by_size[s][0]), fmt(by_size[s][1])) for s in sizes]
            print("| %s | %s |" % (name, " | ".join(cells)))
        print()


def fmt(us):
    return "{:,.0f}".format(us) if us >= 100 else "{:.1f}".format(us)


if __name__ == "__main__":
    main()
