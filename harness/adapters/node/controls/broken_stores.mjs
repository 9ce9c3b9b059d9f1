// Negative controls of the Node adapter's tests: the correct FileTokenStore with one rule broken
// each, the way hand-written Node stores (and the official ones) get it wrong. The kit must catch
// each by the rule it names.

import fs from "node:fs";
import path from "node:path";
import { FileTokenStore, NotFound, lookupKey, read, write } from "./file_store.mjs";

/** Breaks find.miss-none: a miss answers the probe itself, as the official Node DBStore does. */
export class ProbeOnMissStore extends FileTokenStore {
  async findToken(token) {
    return (await super.findToken(token)) ?? token;
  }
}

/** Breaks get-tokens.exact: an empty store lists `null`, as the official DBStores do. */
export class NullForEmptyStore extends FileTokenStore {
  async getTokens() {
    const tokens = await super.getTokens();
    return tokens.length === 0 ? null : tokens;
  }
}

/** Breaks get-tokens.exact: getTokens resolves with the array before its (simulated) query has
 * filled it, as the TypeScript SDK's DBStore did until 2021; the rows arrive a moment later. */
export class EarlyGetTokensStore extends FileTokenStore {
  async getTokens() {
    const rows = await super.getTokens();
    const tokens = [];
    setTimeout(() => tokens.push(...rows), 5);
    return tokens;
  }
}

/** Breaks calls.promise-settles: findToken is not async, so it returns a plain value, where the
 * SDK calls `.catch()` on what it returns. */
export class SyncFindStore extends FileTokenStore {
  findToken(token) {
    const stored = FileTokenStore.designated(this.load().tokens, read(token));
    if (stored === null) return null;
    write(token, stored, true);
    return token;
  }
}

/** Breaks calls.promise-settles: an unknown id is rejected from inside a callback, so the
 * rejection escapes unhandled and the promise never settles (the official DBStore's
 * findTokenById). */
export class EscapingRejectionStore extends FileTokenStore {
  findTokenById(id) {
    return new Promise((resolve) => {
      setImmediate(async () => {
        const row = this.load().tokens.find((r) => r.id === id);
        if (row === undefined) throw new NotFound(`no token with id ${JSON.stringify(id)}`);
        resolve(super.findTokenById(id));
      });
    });
  }
}

/** Breaks find.exact-match: keys compare case-insensitively, as MySQL's default collations do. */
export class CaseInsensitiveStore extends FileTokenStore {
  static designated(tokens, t) {
    for (const [field, value] of lookupKey(t)) {
      const row = tokens.find((r) => r[field]?.toLowerCase() === value.toLowerCase());
      if (row !== undefined) return row;
    }
    return null;
  }
}

/** Breaks save.id-written-back: the caller's token keeps the id it came with. */
export class NoIdWriteBackStore extends FileTokenStore {
  async saveToken(token) {
    const before = token.getId();
    await super.saveToken(token);
    token.setId(before);
  }
}

/** Breaks processes.linearizable: a save reads, yields, then writes its state without checking
 * that nobody published in between, so two processes saving one new user both insert it. */
export class RacyFileStore extends FileTokenStore {
  commit(change) {
    const state = this.load();
    const result = change(state);
    const wait = Date.now() + 3;
    while (Date.now() < wait) { /* another process's save lands here */ }
    const file = this.file(state.version + 1);
    fs.writeFileSync(`${file}.tmp`, JSON.stringify({ next: state.next, tokens: state.tokens }));
    fs.renameSync(`${file}.tmp`, file);
    return result;
  }
}

/** Breaks the concurrency tier: a save reads the state, awaits (as a store awaits its database's
 * answer to a select), then publishes what it decided over whatever another call published
 * meanwhile, so two saves the event loop interleaves lose one of them. One call at a time it is
 * correct. */
export class InterleavedSaveStore extends FileTokenStore {
  async saveToken(token) {
    const t = read(token);
    const state = this.load();
    await new Promise((resolve) => setImmediate(resolve));
    const id = this.constructor.save(state, t);
    const file = this.file(state.version + 1);
    const tmp = `${file}.${Math.random().toString(36).slice(2)}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ next: state.next, tokens: state.tokens }));
    fs.renameSync(tmp, file);
    token.setId(id);
  }
}

/** Breaks crash.acknowledged-kept: one file rewritten in place, truncated first, as the official
 * FileStores write their CSV. */
export class InPlaceFileStore extends FileTokenStore {
  load() {
    const file = path.join(this.dir, "tokens.json");
    if (!fs.existsSync(file)) return { version: 0, next: 0, tokens: [] };
    const text = fs.readFileSync(file, "utf8");
    const state = text ? JSON.parse(text) : { next: 0, tokens: [] };
    return { version: 0, next: state.next, tokens: state.tokens };
  }

  commit(change) {
    const state = this.load();
    const result = change(state);
    const fd = fs.openSync(path.join(this.dir, "tokens.json"), "w");
    const text = JSON.stringify({ next: state.next, tokens: state.tokens });
    for (let at = 0; at < text.length; at += 64) fs.writeSync(fd, text.slice(at, at + 64));
    fs.closeSync(fd);
    return result;
  }
}
