// A correct TokenStore for the Zoho CRM Node.js SDK, on plain files and Node's standard library:
// the positive control of the Node adapter's tests (it must pass every rule, the processes and
// crash tiers included), and a model for teams writing their own.
//
// It follows specs/tokenstore.md: the SDK's key order with exact comparison, merge-updates, a
// stored id selecting the token, fresh ids that never collide, one token per user name, every
// method async. Errors carry a `tokenstoreKind` the adapter reports.
//
// Storage: a directory of numbered versions, `v<N>.json`, each the whole store. A change reads the
// newest version N, writes the next state to a private temporary file, flushes it to disk, and
// publishes it with `link` to `v<N+1>.json`, which fails when another process published N+1 first:
// then the change starts over on the new state. So changes from many processes are serialized
// without a lock (nothing to leave behind when a process is killed), a reader always sees one
// whole version, and a kill mid-save leaves the newest published version as it was.

import fs from "node:fs";
import path from "node:path";
import { TokenStore } from "@zohocrm/nodejs-sdk-8.0/lib/models/authenticator/store/token_store.js";
import { OAuthToken } from "@zohocrm/nodejs-sdk-8.0/lib/models/authenticator/oauth_token.js";
import { UserSignature } from "@zohocrm/nodejs-sdk-8.0/lib/routes/user_signature.js";

export const FIELDS = ["id", "user_name", "client_id", "client_secret", "refresh_token",
  "access_token", "grant_token", "expiry_time", "redirect_url", "api_domain"];
const ACCESSORS = {
  id: "Id", client_id: "ClientId", client_secret: "ClientSecret", refresh_token: "RefreshToken",
  access_token: "AccessToken", grant_token: "GrantToken", expiry_time: "ExpiresIn",
  redirect_url: "RedirectURL", api_domain: "APIDomain",
};
// Versions older than the newest by more than this are removed after a change.
const KEEP_VERSIONS = 16;

export class StoreError extends Error {
  constructor(message, field = null) {
    super(message);
    this.field = field;
  }
}
export class NotFound extends StoreError { get tokenstoreKind() { return "NotFound"; } }
export class Conflict extends StoreError { get tokenstoreKind() { return "Conflict"; } }
export class InvalidToken extends StoreError { get tokenstoreKind() { return "InvalidToken"; } }

/** The token's fields as a plain object; empty strings are absent (null). */
export function read(token) {
  const values = {};
  for (const [name, accessor] of Object.entries(ACCESSORS)) values[name] = token[`get${accessor}`]();
  values.user_name = token.getUserSignature()?.getName() ?? null;
  for (const name of FIELDS) {
    if (values[name] === undefined || values[name] === "") values[name] = null;
  }
  return values;
}

/** Sets the token's fields from `values`: all of them, or only those it lacks. */
export function write(token, values, onlyAbsent) {
  const current = onlyAbsent ? read(token) : {};
  for (const name of FIELDS) {
    if (onlyAbsent && current[name] !== null) continue;
    const value = values[name] ?? null;
    if (name === "user_name") token.setUserSignature(value === null ? null : new UserSignature(value));
    else token[`set${ACCESSORS[name]}`](value);
  }
}

function newToken(values) {
  const token = Reflect.construct(OAuthToken, []);
  write(token, values, false);
  return token;
}

/** The spec's key order: [field, value] pairs to try, primary first; [] for no key. */
export function lookupKey(t) {
  if (t.user_name !== null) return [["user_name", t.user_name]];
  if (t.client_id === null && t.client_secret === null) {
    return t.access_token !== null ? [["access_token", t.access_token]] : [];
  }
  if (t.client_id !== null && t.client_secret !== null) {
    if (t.grant_token !== null) return [["grant_token", t.grant_token]];
    if (t.refresh_token !== null) return [["refresh_token", t.refresh_token]];
  }
  return [];
}

export class FileTokenStore extends TokenStore {
  /** `dir`: the store's directory, made if missing; one directory per namespace. */
  constructor(dir) {
    super();
    this.dir = dir;
    fs.mkdirSync(dir, { recursive: true });
  }

  // --- storage: numbered versions ---

  versions() {
    return fs.readdirSync(this.dir)
      .map((name) => /^v(\d+)\.json$/.exec(name))
      .filter((m) => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
  }

  /** The newest published state: {version, next (the fresh-id counter), tokens}. */
  load() {
    for (;;) {
      const versions = this.versions();
      const version = versions.length ? versions[versions.length - 1] : 0;
      if (version === 0) return { version, next: 0, tokens: [] };
      try {
        const state = JSON.parse(fs.readFileSync(this.file(version), "utf8"));
        return { version, next: state.next, tokens: state.tokens };
      } catch (err) {
        if (err.code !== "ENOENT") throw err;
        // Removed as too old between the listing and the read: list again.
      }
    }
  }

  file(version) {
    return path.join(this.dir, `v${version}.json`);
  }

  /** Applies `change` (state -> result, mutating state) as one atomic step, and returns its result. */
  commit(change) {
    for (;;) {
      const state = this.load();
      const result = change(state);
      const tmp = path.join(this.dir, `.tmp-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
      const fd = fs.openSync(tmp, "w");
      try {
        fs.writeSync(fd, JSON.stringify({ next: state.next, tokens: state.tokens }));
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      try {
        fs.linkSync(tmp, this.file(state.version + 1));
      } catch (err) {
        if (err.code === "EEXIST") continue; // another process published first: start over
        throw err;
      } finally {
        fs.rmSync(tmp, { force: true });
      }
      this.syncDir();
      for (const old of this.versions()) {
        if (old <= state.version + 1 - KEEP_VERSIONS) fs.rmSync(this.file(old), { force: true });
      }
      return result;
    }
  }

  syncDir() {
    const fd = fs.openSync(this.dir, "r");
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  // --- the spec's decisions, on a state ---

  static designated(tokens, t) {
    for (const [field, value] of lookupKey(t)) {
      const row = tokens.find((r) => r[field] === value);
      if (row !== undefined) return row;
    }
    return null;
  }

  /** Saves `t` into `state`; returns the id saved under. */
  static save(state, t) {
    const byId = t.id !== null ? state.tokens.find((r) => r.id === t.id) : undefined;
    const target = byId ?? this.designated(state.tokens, t);
    if (target !== null && byId === undefined && t.id !== null) {
      throw new Conflict(`id ${JSON.stringify(t.id)} is not stored, but the key matches the token with id ${JSON.stringify(target.id)}`);
    }
    if (target !== null) {
      const merged = {};
      for (const f of FIELDS) merged[f] = t[f] !== null ? t[f] : target[f];
      merged.id = target.id;
      if (merged.user_name !== null) {
        const owner = state.tokens.find((r) => r.user_name === merged.user_name);
        if (owner !== undefined && owner.id !== target.id) {
          throw new Conflict(`user name ${JSON.stringify(merged.user_name)} belongs to the token with id ${JSON.stringify(owner.id)}`);
        }
      }
      Object.assign(target, merged);
      return target.id;
    }
    if (t.refresh_token === null && t.grant_token === null && t.access_token === null) {
      throw new InvalidToken("matches no stored token and has no refresh, grant or access token", "refresh_token");
    }
    const row = { ...t };
    if (row.id === null) {
      do {
        state.next += 1;
      } while (state.tokens.some((r) => r.id === String(state.next)));
      row.id = String(state.next);
    }
    state.tokens.push(row);
    return row.id;
  }

  // --- the SDK's six methods ---

  async findToken(token) {
    const stored = this.constructor.designated(this.load().tokens, read(token));
    if (stored === null) return null;
    write(token, stored, true);
    return token;
  }

  async saveToken(token) {
    const t = read(token);
    const id = this.commit((state) => this.constructor.save(state, t));
    token.setId(id);
  }

  async deleteToken(id) {
    this.commit((state) => {
      const at = state.tokens.findIndex((r) => r.id === id);
      if (at < 0) throw new NotFound(`no token with id ${JSON.stringify(id)}`);
      state.tokens.splice(at, 1);
    });
  }

  async getTokens() {
    return this.load().tokens.map(newToken);
  }

  async deleteTokens() {
    this.commit((state) => {
      state.tokens = [];
    });
  }

  async findTokenById(id) {
    const row = this.load().tokens.find((r) => r.id === id);
    if (row === undefined) throw new NotFound(`no token with id ${JSON.stringify(id)}`);
    return newToken(row);
  }
}
