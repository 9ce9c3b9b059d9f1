// A store on MySQL as Node.js apps write it with the `mysql` driver the SDK itself installs: each
// store object makes its own connection pool in the constructor and never ends it, every query
// goes through the pool, a new token's id is one more than the rows the table holds, and an
// unknown id is answered with null instead of the SDK's "Given ID is invalid".
//
// Root causes (the kit's report):
// - resources: a store object the kit drops keeps its pool's connections open, so an app that
//   makes a store per request runs the server out of connections (reported once, under the
//   store, not as the failure of whichever rule's check met "Too many connections").
// - find-by-id.miss-not-found: findTokenById of an unknown id resolves null.
// - save.fresh-id-unique: after a delete, a new token gets the id of one still stored
//   (COUNT(*) + 1), and the INSERT fails on the primary key.
// - concurrency.distinct-users, processes.linearizable (races, so not every run shows each):
//   COUNT(*) + 1 is read, then inserted, with no lock, so saves made at once get one id.
// - token.absent-empty: findToken keeps the probe's empty user name ("") in the token it
//   returns instead of treating it as absent.
// - token.roundtrip: the driver's default connection charset (utf8mb3) cannot be compared with
//   the table's utf8mb4 columns, so a user name outside the Basic Multilingual Plane is an error.
// - find.exact-match: the binary collation still pads with spaces, so "alice " finds "alice".
// - limits.declared: ids and keys are VARCHAR(255), and the store declares no limit, so a longer
//   value is refused with ER_DATA_TOO_LONG instead of an InvalidToken it announced.
// - save.user-name-unique, save.refuse-tokenless, save.unstored-id-conflict: a save is never
//   refused, for want of three checks: a save by id takes a user name another token has, a
//   token with no token value at all is stored, and an id no token has is inserted even when the
//   key designates a stored token.

import mysql from "mysql";
import { TokenStore } from "@zohocrm/nodejs-sdk-8.0/lib/models/authenticator/store/token_store.js";
import { OAuthToken } from "@zohocrm/nodejs-sdk-8.0/lib/models/authenticator/oauth_token.js";
import { UserSignature } from "@zohocrm/nodejs-sdk-8.0/lib/routes/user_signature.js";

const COLUMNS = ["id", "user_name", "client_id", "client_secret", "refresh_token", "access_token",
  "grant_token", "expiry_time", "redirect_url", "api_domain"];

export class PooledMySqlStore extends TokenStore {
  constructor({ host = "127.0.0.1", port = 3306, user = "root", password = "", database = "test",
    table = "oauth_tokens" } = {}) {
    super();
    this.table = table;
    this.pool = mysql.createPool({ host, port, user, password, database, connectionLimit: 5 });
    this.ready = this.query(`CREATE TABLE IF NOT EXISTS ${table} (id VARCHAR(255) PRIMARY KEY, `
      + "user_name VARCHAR(255), client_id TEXT, client_secret TEXT, refresh_token VARCHAR(255), "
      + "access_token VARCHAR(255), grant_token VARCHAR(255), expiry_time TEXT, "
      + "redirect_url TEXT, api_domain TEXT) COLLATE utf8mb4_bin");
  }

  query(sql, params = []) {
    return new Promise((resolve, reject) => {
      this.pool.query(sql, params, (err, rows) => (err ? reject(err) : resolve(rows)));
    });
  }

  toToken(row) {
    const token = new OAuthToken();
    token.setId(row.id);
    token.setUserSignature(row.user_name ? new UserSignature(row.user_name) : null);
    token.setClientId(row.client_id);
    token.setClientSecret(row.client_secret);
    token.setRefreshToken(row.refresh_token);
    token.setAccessToken(row.access_token);
    token.setGrantToken(row.grant_token);
    token.setExpiresIn(row.expiry_time);
    token.setRedirectURL(row.redirect_url);
    token.setAPIDomain(row.api_domain);
    return token;
  }

  values(token) {
    return [token.getId(), token.getUserSignature()?.getName(), token.getClientId(),
      token.getClientSecret(), token.getRefreshToken(), token.getAccessToken(),
      token.getGrantToken(), token.getExpiresIn(), token.getRedirectURL(), token.getAPIDomain()]
      .map((value) => (value === "" || value === undefined ? null : value));
  }

  // The row the token's key designates, in the SDK's order of keys.
  async lookup(token) {
    await this.ready;
    const [, user, clientId, clientSecret, refresh, access, grant] = this.values(token);
    let key = null;
    if (user) key = ["user_name", user];
    else if (access && !clientId && !clientSecret) key = ["access_token", access];
    else if (clientId && clientSecret && grant) key = ["grant_token", grant];
    else if (clientId && clientSecret && refresh) key = ["refresh_token", refresh];
    if (key === null) return null;
    const rows = await this.query(`SELECT * FROM ${this.table} WHERE ${key[0]} = ?`, [key[1]]);
    return rows[0] ?? null;
  }

  async findToken(token) {
    const row = await this.lookup(token);
    if (row === null) return null;
    const found = this.toToken(row);
    const setters = { Id: found.getId(), ClientId: found.getClientId(),
      ClientSecret: found.getClientSecret(), RefreshToken: found.getRefreshToken(),
      AccessToken: found.getAccessToken(), GrantToken: found.getGrantToken(),
      ExpiresIn: found.getExpiresIn(), RedirectURL: found.getRedirectURL(),
      APIDomain: found.getAPIDomain() };
    for (const [name, value] of Object.entries(setters)) {
      if (!token[`get${name}`]()) token[`set${name}`](value);
    }
    if (!token.getUserSignature()?.getName() && found.getUserSignature() != null) {
      token.setUserSignature(found.getUserSignature());
    }
    return token;
  }

  async findTokenById(id) {
    await this.ready;
    const rows = await this.query(`SELECT * FROM ${this.table} WHERE id = ?`, [id]);
    return rows.length ? this.toToken(rows[0]) : null;
  }

  async saveToken(token) {
    await this.ready;
    let row = null;
    if (token.getId()) {
      const rows = await this.query(`SELECT * FROM ${this.table} WHERE id = ?`, [token.getId()]);
      row = rows[0] ?? null;
    }
    if (row === null) row = await this.lookup(token);
    if (row !== null) {
      const merged = this.values(token).map((value, i) => value ?? row[COLUMNS[i]]);
      merged[0] = row.id;
      await this.query(`UPDATE ${this.table} SET ${COLUMNS.map((c) => `${c} = ?`).join(", ")} `
        + "WHERE id = ?", [...merged, row.id]);
      token.setId(row.id);
      return;
    }
    if (!token.getId()) {
      const [{ n }] = await this.query(`SELECT COUNT(*) AS n FROM ${this.table}`);
      token.setId(String(n + 1));
    }
    await this.query(`INSERT INTO ${this.table} (${COLUMNS.join(", ")}) VALUES (?)`,
      [this.values(token)]);
  }

  async deleteToken(id) {
    await this.ready;
    await this.query(`DELETE FROM ${this.table} WHERE id = ?`, [id]);
  }

  async getTokens() {
    await this.ready;
    const rows = await this.query(`SELECT * FROM ${this.table}`);
    return rows.map((row) => this.toToken(row));
  }

  async deleteTokens() {
    await this.ready;
    await this.query(`DELETE FROM ${this.table}`);
  }
}
