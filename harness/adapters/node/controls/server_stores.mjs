// Stores that talk to a MySQL server, for the server-loss tier through the Node adapter
// (`tokenstore-check run --node ... --server mysql://...`): their tokens live in the correct
// file control (`file_store.mjs`), and every call first asks the server (`SELECT 1`, as a store
// that checks a session or writes an audit row does) through the `mysql` driver the SDK itself
// installs.
//
// `OneConnectionStore` opens one connection and keeps it for good: once the server drops it,
// every call fails ("Cannot enqueue Query after fatal error"), so it fails
// `server-loss.recovers` and nothing else. `PooledStore` asks through a pool, which drops a
// connection that died and opens another for the next query: a call in flight when its
// connection drops may fail, the next one works, so it passes.
//
// Constructor arguments: `dir` (the file control's directory), `server` (a URL such as
// mysql://root@127.0.0.1:3306/test).

import mysql from "mysql";
import { FileTokenStore } from "./file_store.mjs";

/** The `mysql` driver's connection options for `server`. */
function options(server) {
  const url = new URL(server);
  return {
    host: url.hostname,
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username || "root"),
    password: decodeURIComponent(url.password || ""),
    database: url.pathname.replace(/^\//, "") || undefined,
  };
}

/** The file control, each call preceded by `this.ask()`. */
class AskingStore extends FileTokenStore {
  async findToken(token) { await this.ask(); return super.findToken(token); }
  async saveToken(token) { await this.ask(); return super.saveToken(token); }
  async deleteToken(id) { await this.ask(); return super.deleteToken(id); }
  async getTokens() { await this.ask(); return super.getTokens(); }
  async deleteTokens() { await this.ask(); return super.deleteTokens(); }
  async findTokenById(id) { await this.ask(); return super.findTokenById(id); }
}

/** `SELECT 1` on `client` (a connection or a pool), as a promise. */
function selectOne(client) {
  return new Promise((resolve, reject) => {
    client.query("SELECT 1", (err) => (err ? reject(err) : resolve()));
  });
}

export class OneConnectionStore extends AskingStore {
  constructor({ dir, server }) {
    super(dir);
    this.connection = mysql.createConnection(options(server));
    // Without a listener, the driver's "error" event of a dropped idle connection would end
    // the process; the store only logs it, and never connects again.
    this.connection.on("error", (err) => console.error(`server connection: ${err.code}`));
  }

  ask() { return selectOne(this.connection); }

  close() {
    return new Promise((resolve) => this.connection.end(() => resolve()));
  }
}

export class PooledStore extends AskingStore {
  constructor({ dir, server }) {
    super(dir);
    this.pool = mysql.createPool({ ...options(server), connectionLimit: 4 });
  }

  ask() { return selectOne(this.pool); }

  close() {
    return new Promise((resolve) => this.pool.end(() => resolve()));
  }
}
