// A TypeScript-style store on a JSON file, compiled to JavaScript, its getTokens written with
// Node's callback fs API inside an async method, as the TypeScript SDK's own FileStore was before
// its 2021 fix: it returns the array before the read callback has filled it. Every other method
// awaits its file work. A new token's id comes from a counter that never looks at the ids
// callers chose.
//
// Root causes (the kit's report):
// - get-tokens.exact: getTokens resolves with an empty array, filled later.
// - save.fresh-id-unique: a fresh id can be one a caller chose for another token ("122").
// - token.absent-empty: findToken keeps the probe's empty user name ("") in the token it
//   returns instead of treating it as absent.
// - save.user-name-unique, save.refuse-tokenless, save.unstored-id-conflict: a save is never
//   refused, for want of three checks: a save by id takes a user name another token has, a
//   token with no token value at all is stored, and an id no token has is inserted even when the
//   key designates a stored token.

import fs from "node:fs";
import { OAuthToken } from "@zohocrm/typescript-sdk-8.0/dist/models/authenticator/oauth_token.js";
import { UserSignature } from "@zohocrm/typescript-sdk-8.0/dist/routes/user_signature.js";
import { SDKException } from "@zohocrm/typescript-sdk-8.0/dist/core/com/zoho/crm/api/exception/sdk_exception.js";

const NAMES = ["ClientId", "ClientSecret", "RefreshToken", "AccessToken", "GrantToken",
  "ExpiresIn", "RedirectURL", "APIDomain"];

export class JsonFileStore {
  constructor(file = "tokens.json") {
    this.file = file;
  }

  async read() {
    try {
      return JSON.parse(await fs.promises.readFile(this.file, "utf8"));
    } catch {
      return { next: 1, rows: [] };
    }
  }

  async write(data) {
    await fs.promises.writeFile(this.file, JSON.stringify(data));
  }

  toToken(row) {
    const token = new OAuthToken();
    token.setId(row.Id);
    token.setUserSignature(row.user ? new UserSignature(row.user) : null);
    for (const name of NAMES) token[`set${name}`](row[name] ?? null);
    return token;
  }

  // The row the token's key designates, in the SDK's order of keys.
  find(rows, token) {
    const user = token.getUserSignature()?.getName();
    const credentials = token.getClientId() && token.getClientSecret();
    let key;
    if (user) return rows.find((r) => r.user === user);
    if (token.getAccessToken() && !token.getClientId() && !token.getClientSecret()) key = "AccessToken";
    else if (credentials && token.getGrantToken()) key = "GrantToken";
    else if (credentials && token.getRefreshToken()) key = "RefreshToken";
    else return undefined;
    return rows.find((r) => r[key] === token[`get${key}`]());
  }

  async findToken(token) {
    const row = this.find((await this.read()).rows, token);
    if (!row) return null;
    if (!token.getId()) token.setId(row.Id);
    if (!token.getUserSignature()?.getName() && row.user) token.setUserSignature(new UserSignature(row.user));
    for (const name of NAMES) if (!token[`get${name}`]()) token[`set${name}`](row[name] ?? null);
    return token;
  }

  async findTokenById(id) {
    const row = (await this.read()).rows.find((r) => r.Id === id);
    if (!row) throw new SDKException("TOKEN_STORE", "Exception in getTokenById - FileStore : Given ID is invalid");
    return this.toToken(row);
  }

  async saveToken(token) {
    const data = await this.read();
    let row = token.getId() == null ? undefined : data.rows.find((r) => r.Id === token.getId());
    row = row ?? this.find(data.rows, token);
    if (!row) {
      row = { Id: token.getId() ?? String(data.next++) };
      data.rows.push(row);
    }
    const user = token.getUserSignature()?.getName();
    if (user) row.user = user;
    for (const name of NAMES) {
      const value = token[`get${name}`]();
      if (value) row[name] = value;
    }
    token.setId(row.Id);
    await this.write(data);
  }

  async deleteToken(id) {
    const data = await this.read();
    data.rows = data.rows.filter((r) => r.Id !== id);
    await this.write(data);
  }

  async getTokens() {
    const tokens = [];
    fs.readFile(this.file, "utf8", (err, text) => {
      if (err) return;
      for (const row of JSON.parse(text).rows) tokens.push(this.toToken(row));
    });
    return tokens;
  }

  async deleteTokens() {
    const data = await this.read();
    await this.write({ next: data.next, rows: [] });
  }
}
