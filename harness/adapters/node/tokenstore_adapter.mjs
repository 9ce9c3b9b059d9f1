#!/usr/bin/env node
// Adapter between tokenstore-check and a TokenStore written in JavaScript or TypeScript against
// the Zoho CRM Node.js SDK (@zohocrm/nodejs-sdk-8.0) or TypeScript SDK (@zohocrm/typescript-sdk-8.0).
//
// Speaks the adapter protocol (specs/adapter-protocol.md): JSON lines on stdin and stdout. Builds
// the SDK's own token objects the way the SDK does (OAuthToken constructed with no argument, every
// setter called, a UserSignature for the user name), from the same SDK installation the store
// resolves, awaits the store's six methods, and reports the answers, the caller's token as the
// store left it, and errors as kinds.
//
//   node tokenstore_adapter.mjs --store PATH_OR_PACKAGE[:Export] [--kwargs JSON]
//        [--sdk nodejs|typescript|PACKAGE] [--name NAME] [--limits JSON] [--not-persistent]
//        [--refusal CLASS]... [--call-timeout-ms N] [--settle-ms N] [--serial] [--verbose]
//
// --kwargs is the constructor's arguments: a JSON array is passed positionally (the SDK's stores
// take positional arguments: '["{tmpdir}/tokens.csv"]'), an object as the one argument. In it,
// "{tmpdir}" becomes a fresh directory at each reset (the store's working directory too) and
// "{namespace}" the namespace being opened. When it names no {tmpdir}, the storage outlives the
// instance (a database), so a reset empties it through the store's own deleteTokens when a fresh
// store there is not empty.
//
// What a Node store can do that the protocol's answers cannot say is reported as a finding of
// rule `calls.promise-settles` beside the answer (specs/tokenstore.md, section 12): a method the
// SDK awaits with `.catch()` (findToken, findTokenById, saveToken, deleteToken) that returns a
// plain value; a rejection that escapes the call as an unhandled rejection (the call is answered
// with that error; a Node process without a handler exits); a promise that never settles
// (answered as an error of that call just before the harness gives up on it).
//
// A call's answer (and the caller's token) is copied the moment its promise settles: nothing is
// filled in later. After each call the adapter then waits, at most --settle-ms, until the process
// holds no more sockets, files and requests than before it, before the next call starts: a store
// that answers before its writes end (the official DBStore rejects a refused save, then inserts
// it) is judged on what it did, and a getTokens that resolves before its query has filled the
// array is judged on the array it resolved with.
//
// Overlapping calls (protocol 2): calls the harness sends while others are in flight run at once
// on the one store object, interleaved by the event loop at every await, as the SDK's calls from
// concurrent requests of one Node app are; each is answered when it settles, and the wait above
// comes after the last call in flight. So the concurrency tier checks the store: one whose save
// reads, awaits, then writes what it decided fails there. An escaped rejection is told to the
// call it escaped from by the async context it was raised in. --serial answers one call at a
// time (protocol 1) and skips that tier.
//
// How a store says no: an error class named NotFound, Conflict or InvalidToken (with a `field`),
// or a `tokenstoreKind`/`tokenstore_kind` property, is a typed refusal; the SDK's SDKException (or
// a class named with --refusal) raised by the store's own checks is an untyped refusal; one whose
// `cause` is another error (a driver error) is a failure of the storage, as is any other error.
// The SDKException of an unknown id ("Given ID is invalid") is NotFound. No dependency beside the
// SDK the store is written against.
//
// At each reset and attach, every store object the kit opened is closed with its close(), end(),
// dispose() or destroy(), the first it has (awaited), and dropped.

import { AsyncLocalStorage } from "node:async_hooks";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { createRequire } from "node:module";
import { pathToFileURL, fileURLToPath } from "node:url";

const FIELDS = ["id", "user_name", "client_id", "client_secret", "refresh_token", "access_token",
  "grant_token", "expiry_time", "redirect_url", "api_domain"];
// Spec field -> the OAuthToken accessor suffix (getX / setX); user_name goes through UserSignature.
const ACCESSORS = {
  id: "Id", client_id: "ClientId", client_secret: "ClientSecret", refresh_token: "RefreshToken",
  access_token: "AccessToken", grant_token: "GrantToken", expiry_time: "ExpiresIn",
  redirect_url: "RedirectURL", api_domain: "APIDomain",
};
// Namespaces the harness opens; a reset of storage that outlives the store empties each.
const HARNESS_NAMESPACES = ["main", "other"];
// Messages of the SDKs' exceptions that mean "no token with that id".
const SDK_NOT_FOUND = ["Given Id not found", "Given ID is invalid", "Given Id is invalid"];
// The official Zoho CRM SDK packages, and where each keeps its token classes.
const SDK_PACKAGES = { nodejs: "@zohocrm/nodejs-sdk-8.0", typescript: "@zohocrm/typescript-sdk-8.0" };
const SDK_NAME = /@zohocrm\/[a-z]+-sdk-[0-9.]+/g;
// Methods the SDK calls as `store.method(...).catch(...)`: they must return a Promise.
const AWAITED = new Set(["findToken", "findTokenById", "saveToken", "deleteToken"]);
const SETTLE_RULE = "calls.promise-settles";
// Error codes of MySQL/MariaDB and PostgreSQL drivers that mean "a constraint refused the write".
const CONSTRAINT_CODES = new Set(["ER_DUP_ENTRY", "ER_DUP_KEY", "23505", "SQLITE_CONSTRAINT"]);
const REFUSALS = new Set(["SDKException"]);
// Methods that release a store object's resources (connections, files), tried in this order; the
// adapter calls (and awaits) the first the object has when the kit is done with it.
const CLOSERS = ["close", "end", "dispose", "destroy"];

/** A flag the adapter cannot start with: one line naming it and what to do. */
class StartupError extends Error {}
/** The store answered with a value of the wrong type (a failure of that call). */
class WrongAnswer extends Error {}
/** The kit cannot prepare fresh storage because the store broke `rule` doing it. */
class SetupFailure extends Error {
  constructor(rule, message) { super(message); this.rule = rule; }
}

// Responses go to the real stdout; anything the store prints goes to stderr.
const RESPONSES = 1;
for (const name of ["log", "info", "debug", "warn"]) console[name] = console.error;
process.stdout.write = process.stderr.write.bind(process.stderr);

function parseArgs(argv) {
  const args = { kwargs: "[]", limits: "{}", refusal: [], notPersistent: false, serial: false,
    verbose: false };
  const valued = { "--store": "store", "--kwargs": "kwargs", "--args": "kwargs", "--sdk": "sdk",
    "--name": "name", "--limits": "limits", "--call-timeout-ms": "callTimeoutMs",
    "--settle-ms": "settleMs", "--refusal": "refusal" };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === "--not-persistent") { args.notPersistent = true; continue; }
    if (flag === "--verbose") { args.verbose = true; continue; }
    if (flag === "--serial") { args.serial = true; continue; }
    if (flag === "--help" || flag === "-h") {
      process.stderr.write(HELP);
      process.exit(0);
    }
    const key = valued[flag];
    if (key === undefined) throw new StartupError(`unknown flag ${flag}: see --help`);
    if (i + 1 >= argv.length) throw new StartupError(`${flag} needs a value: see --help`);
    const value = argv[++i];
    if (key === "refusal") args.refusal.push(value); else args[key] = value;
  }
  if (!args.store) {
    throw new StartupError("--store is required: the store's module and export, such as "
      + "--store ./my_store.mjs:MyTokenStore");
  }
  return args;
}

const HELP = `usage: node tokenstore_adapter.mjs --store PATH_OR_PACKAGE[:Export] [--kwargs JSON]
       [--sdk nodejs|typescript|PACKAGE] [--name NAME] [--limits JSON] [--not-persistent]
       [--refusal CLASS]... [--call-timeout-ms N] [--settle-ms N] [--serial] [--verbose]
Runs a Zoho CRM SDK TokenStore behind the tokenstore-check adapter protocol.
`;

function parseJson(flag, text, want) {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new StartupError(`${flag} ${JSON.stringify(text)} is not JSON (${e.message}): want ${want}`);
  }
}

/** The store module's file, or a package specifier when it is not a file. */
function storeLocation(spec) {
  const colon = spec.lastIndexOf(":");
  const [where, exported] = colon > 0 ? [spec.slice(0, colon), spec.slice(colon + 1)] : [spec, "default"];
  if (!where || !exported) {
    throw new StartupError(`--store ${JSON.stringify(spec)}: want PATH_OR_PACKAGE:Export, for example `
      + "./my_store.mjs:MyTokenStore");
  }
  const file = path.resolve(where);
  if (fs.existsSync(file)) return { file: fs.realpathSync(file), exported, spec };
  const looksLikePath = where.startsWith(".") || where.startsWith("/") || /\.(c|m)?[jt]s$/.test(where);
  // A package specifier, from the working directory, then from the adapter's own directory.
  for (const base of [path.join(process.cwd(), "x.js"), fileURLToPath(import.meta.url)]) {
    try {
      return { file: fs.realpathSync(createRequire(base).resolve(where)), exported, spec };
    } catch { /* next base */ }
  }
  throw new StartupError(`--store ${spec}: ${looksLikePath ? "no such file" : "cannot resolve the module"} `
    + `${JSON.stringify(where)} from the working directory ${process.cwd()}: give the path of the `
    + "store's .mjs or .js file, or a package specifier installed there");
}

/** The root directory of `pkg` as resolved from `file`, or null. */
function packageRoot(pkg, file) {
  try {
    const manifest = createRequire(file).resolve(`${pkg}/package.json`);
    return path.dirname(fs.realpathSync(manifest));
  } catch {
    // Packages with an `exports` map hide package.json; walk up from any file they export.
    let dir = path.dirname(file);
    for (;;) {
      const candidate = path.join(dir, "node_modules", ...pkg.split("/"));
      if (fs.existsSync(path.join(candidate, "package.json"))) return fs.realpathSync(candidate);
      const parent = path.dirname(dir);
      if (parent === dir) return null;
      dir = parent;
    }
  }
}

/** The package (name and root) a file lies in, walking up to the nearest package.json. */
function enclosingPackage(file) {
  let dir = path.dirname(file);
  for (;;) {
    const manifest = path.join(dir, "package.json");
    if (fs.existsSync(manifest)) {
      try {
        const name = JSON.parse(fs.readFileSync(manifest, "utf8")).name;
        if (name) return { name, root: dir };
      } catch { /* not a package manifest we can read */ }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/** The SDK packages a module names, in its own source or, when it names none, in the modules
 * it imports by relative path (a store that extends another store of its project). */
function mentionedSdks(file, seen = new Set()) {
  if (seen.has(file) || seen.size > 50) return [];
  seen.add(file);
  let source;
  try {
    source = fs.readFileSync(file, "utf8");
  } catch {
    return [];
  }
  const named = [...new Set(source.match(SDK_NAME) ?? [])];
  if (named.length > 0) return named;
  const relative = /(?:from\s*|import\s*\(\s*|require\s*\(\s*)["'](\.{1,2}\/[^"']+)["']/g;
  const found = new Set();
  for (const [, spec] of source.matchAll(relative)) {
    const target = path.resolve(path.dirname(file), spec);
    for (const candidate of [target, `${target}.js`, `${target}.mjs`, `${target}.cjs`]) {
      if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) {
        for (const name of mentionedSdks(candidate, seen)) found.add(name);
        break;
      }
    }
  }
  return [...found];
}

/** The SDK installation the store is written against: {name, root, language}. */
function findSdk(store, flag) {
  const named = flag === undefined ? undefined : (SDK_PACKAGES[flag] ?? flag);
  const own = enclosingPackage(store.file);
  let candidates;
  if (named !== undefined) {
    candidates = [named];
  } else if (own && own.name.match(SDK_NAME)?.[0] === own.name) {
    // One of the SDK's own stores.
    return sdkAt(own.name, own.root);
  } else {
    const mentioned = mentionedSdks(store.file);
    candidates = mentioned.length > 0 ? mentioned : Object.values(SDK_PACKAGES);
  }
  const found = candidates.map((name) => ({ name, root: packageRoot(name, store.file) }))
    .filter((c) => c.root !== null);
  if (found.length === 1) return sdkAt(found[0].name, found[0].root);
  if (mentionedSdks(store.file).length === 0) {
    // A store that imports no SDK module (it only calls the tokens' methods): the Node.js SDK
    // where the store resolves it, else the adapter's own copy, builds the tokens it is handed.
    const name = named ?? SDK_PACKAGES.nodejs;
    const root = found.find((c) => c.name === name)?.root
      ?? packageRoot(name, fileURLToPath(import.meta.url));
    if (root !== null) {
      process.stderr.write(`tokenstore_adapter: ${store.file} names no Zoho CRM SDK; its tokens are `
        + `built with ${name}${named ? "" : " (--sdk chooses another)"}\n`);
      return sdkAt(name, root);
    }
  }
  if (found.length === 0) {
    throw new StartupError(`cannot find the Zoho CRM SDK (${candidates.join(" or ")}) from `
      + `${store.file}: install it where the store resolves its modules, such as `
      + `\`npm install ${candidates[0]}\` in the store's project`);
  }
  throw new StartupError(`both ${found.map((c) => c.name).join(" and ")} resolve from ${store.file}: `
    + "name the SDK the store is written against with --sdk nodejs or --sdk typescript");
}

function sdkAt(name, root) {
  const lib = ["lib", "dist"].find((d) => fs.existsSync(path.join(root, d, "models/authenticator/oauth_token.js")));
  if (lib === undefined) {
    throw new StartupError(`${name} at ${root} has no models/authenticator/oauth_token.js under lib/ `
      + "or dist/: it is not a Zoho CRM SDK this adapter knows");
  }
  return { name, root, lib: path.join(root, lib), language: lib === "dist" ? "typescript" : "javascript" };
}

async function importFile(file) {
  const mod = await import(pathToFileURL(file).href);
  return mod;
}

function exportOf(mod, name) {
  if (mod[name] !== undefined) return mod[name];
  if (mod.default && typeof mod.default === "object" && mod.default[name] !== undefined) return mod.default[name];
  return undefined;
}

/** The SDK's OAuthToken, UserSignature and (JS SDK) TokenStore classes, from `sdk`. */
async function sdkClasses(sdk) {
  const load = async (rel, name) => {
    const value = exportOf(await importFile(path.join(sdk.lib, rel)), name);
    if (typeof value !== "function") {
      throw new StartupError(`${sdk.name}: ${rel} exports no class ${name}; this adapter knows the `
        + "8.0 SDKs' layout");
    }
    return value;
  };
  const OAuthToken = await load("models/authenticator/oauth_token.js", "OAuthToken");
  const UserSignature = await load("routes/user_signature.js", "UserSignature");
  let TokenStore = null;
  try {
    TokenStore = await load("models/authenticator/store/token_store.js", "TokenStore");
  } catch { /* the TypeScript SDK declares TokenStore as an interface only */ }
  return { OAuthToken, UserSignature, TokenStore };
}

let SDK = null;

/** An OAuthToken as the SDK builds one: constructed with no argument, every setter called. */
function buildToken(fields) {
  const token = Reflect.construct(SDK.OAuthToken, []);
  fields = fields ?? {};
  for (const [name, accessor] of Object.entries(ACCESSORS)) token[`set${accessor}`](fields[name] ?? null);
  const user = fields.user_name ?? null;
  // UserSignature(null) starts an assertion whose rejection nobody handles: never build one.
  token.setUserSignature(user === null ? null : new SDK.UserSignature(user));
  return token;
}

function describe(value) {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (typeof value === "object") return `${value.constructor?.name ?? "object"} ${safeJson(value)}`;
  return `${typeof value} ${JSON.stringify(value)}`;
}

function safeJson(value) {
  try {
    const text = JSON.stringify(value);
    return text.length > 200 ? `${text.slice(0, 200)}...` : text;
  } catch { return "(not JSON)"; }
}

function dumpToken(token, call) {
  if (token === null || token === undefined) return null;
  if (typeof token !== "object" || typeof token.getRefreshToken !== "function") {
    throw new WrongAnswer(`${call} returned ${describe(token)}, want an OAuthToken`);
  }
  const out = {};
  for (const [name, accessor] of Object.entries(ACCESSORS)) {
    const getter = token[`get${accessor}`];
    const value = typeof getter === "function" ? getter.call(token) : null;
    out[name] = value === null || value === undefined ? null : String(value);
  }
  const signature = typeof token.getUserSignature === "function" ? token.getUserSignature() : null;
  const name = signature?.getName?.();
  out.user_name = name === null || name === undefined ? null : String(name);
  return out;
}

function classNames(err) {
  const names = new Set();
  if (err === null || typeof err !== "object") return names;
  for (let proto = Object.getPrototypeOf(err); proto; proto = Object.getPrototypeOf(proto)) {
    if (proto.constructor?.name) names.add(proto.constructor.name);
  }
  if (typeof err.name === "string") names.add(err.name);
  return names;
}

function causeOf(err) {
  const cause = err?.cause;
  return cause !== null && cause !== undefined && typeof cause === "object" ? cause : null;
}

function isConstraint(err) {
  return CONSTRAINT_CODES.has(err?.code) || CONSTRAINT_CODES.has(String(err?.sqlState ?? ""));
}

function isSdkRefusalClass(names) {
  return [...names].some((n) => REFUSALS.has(n));
}

/** An untyped refusal: a refusal class raised by the store itself, or wrapping only refusals and
 * constraint errors; never one wrapping a driver or programming error. */
function isRefusal(err) {
  if (!isSdkRefusalClass(classNames(err))) return false;
  for (let seen = 0; err && seen < 10; seen++) {
    const names = classNames(err);
    if (isConstraint(err)) return true;
    if (!isSdkRefusalClass(names)) return false;
    err = causeOf(err);
  }
  return true;
}

function messageOf(err) {
  if (err === null || typeof err !== "object") return `thrown ${describe(err)}`;
  const cls = err.constructor?.name ?? "Error";
  const code = err.code !== undefined && !String(err.message ?? "").includes(String(err.code)) ? ` [${err.code}]` : "";
  return `${cls}${code}: ${err.message || cls}`;
}

/** The protocol error for what the store threw (see the header). */
function errorOf(err) {
  const names = classNames(err);
  const message = messageOf(err);
  let kind = err?.tokenstoreKind ?? err?.tokenstore_kind;
  if (kind === undefined || kind === null) {
    if (["NotFound", "NotFoundError", "TokenNotFound"].some((n) => names.has(n))) kind = "NotFound";
    else if (names.has("Conflict") || names.has("ConflictError")) kind = "Conflict";
    else if (names.has("InvalidToken")) kind = "InvalidToken";
    else if (names.has("SDKException") && causeOf(err) === null
      && SDK_NOT_FOUND.some((m) => String(err.message ?? "").includes(m))) kind = "NotFound";
    else if (isRefusal(err)) kind = "refused";
    else kind = "other";
  }
  const error = { kind, message };
  if (FIELDS.includes(err?.field)) error.field = err.field;
  return error;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the process holds, by kind, beside timers (the adapter's own waits use them). */
function resources() {
  const counts = new Map();
  for (const kind of process.getActiveResourcesInfo()) {
    if (kind === "Timeout" || kind === "Immediate") continue;
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return counts;
}

function holdsMore(now, before) {
  for (const [kind, n] of now) if (n > (before.get(kind) ?? 0)) return true;
  return false;
}

/** The call whose async context code runs in, so that an unhandled rejection or uncaught
 * exception answers the call it escaped from. */
const CURRENT_CALL = new AsyncLocalStorage();

function escaped(kind) {
  return (err) => {
    const call = CURRENT_CALL.getStore();
    if (call !== undefined && !call.done) {
      call.escape(err, kind);
    } else {
      process.stderr.write(`tokenstore_adapter: ${kind} outside any call: ${err?.stack ?? String(err)}\n`);
    }
  };
}
process.on("unhandledRejection", escaped("unhandled rejection"));
process.on("uncaughtException", escaped("uncaught exception"));

class Adapter {
  constructor(args, storeClass, store, sdk) {
    this.cls = storeClass;
    this.sdk = sdk;
    this.kwargsText = args.kwargs;
    this.name = args.name ?? (store.exported === "default" ? storeClass.name : store.exported);
    this.persistent = !args.notPersistent;
    this.limits = parseJson("--limits", args.limits, "'{\"max_chars\": {\"user_name\": 255}}'");
    this.local = args.kwargs.includes("{tmpdir}");
    this.namespaced = args.kwargs.includes("{namespace}");
    this.callTimeoutMs = args.callTimeoutMs === undefined ? null : Number(args.callTimeoutMs);
    this.settleMs = args.settleMs === undefined ? 200 : Number(args.settleMs);
    this.tmpdir = null;
    this.ownsTmpdir = false;
    this.stores = new Map();
    // Namespace -> the store object a reset made to look at the storage, handed to the first
    // open of that namespace after it, so fresh storage is opened by one object.
    this.fresh = new Map();
    this.nextHandle = 1;
    this.findings = [];
    this.reported = new Set();
    this.serial = args.serial;
    this.concurrent = false;
    this.active = 0;
    this.baseline = null;
  }

  constructorArgs(namespace) {
    let text = this.kwargsText.replaceAll("{tmpdir}", JSON.stringify(this.tmpdir ?? "").slice(1, -1));
    text = text.replaceAll("{namespace}", namespace);
    const value = JSON.parse(text);
    return Array.isArray(value) ? value : [value];
  }

  newStore(namespace) {
    return new this.cls(...this.constructorArgs(namespace));
  }

  hello(request) {
    if (request.timeout_ms && this.callTimeoutMs === null) {
      // Answer a call that never settles just before the harness gives up on the adapter.
      this.callTimeoutMs = Math.max(100, Math.floor(request.timeout_ms * 0.8));
    }
    // Protocol 2, when the harness speaks it: overlapping calls run at once.
    this.concurrent = !this.serial && (request.protocol ?? 1) >= 2;
    return {
      name: this.name, language: this.sdk.language, protocol: this.concurrent ? 2 : 1,
      capabilities: { persistent: this.persistent, namespaces: this.namespaced,
        concurrent: this.concurrent, processes: this.persistent },
      limits: this.limits,
    };
  }

  newTmpdir() {
    this.dropTmpdir();
    this.tmpdir = fs.mkdtempSync(path.join(os.tmpdir(), "tokenstore-adapter-"));
    this.ownsTmpdir = true;
    process.chdir(this.tmpdir);
  }

  dropTmpdir() {
    if (this.tmpdir && this.ownsTmpdir) {
      process.chdir("/");
      fs.rmSync(this.tmpdir, { recursive: true, force: true });
    }
    this.tmpdir = null;
  }

  /** Closes every store object open in this process with the first of CLOSERS it has (what
   * that throws is ignored: the kit is done with the object), and drops it. */
  async release() {
    const held = new Set([...this.stores.values(), ...this.fresh.values()]);
    this.stores.clear();
    this.fresh.clear();
    for (const store of held) {
      const name = CLOSERS.find((n) => typeof store?.[n] === "function");
      if (name === undefined) continue;
      try {
        await store[name]();
      } catch {
        // Closing is the kit's tidying up, not a call it judges.
      }
    }
  }

  /** Fresh storage: a fresh working directory (and {tmpdir}); storage outside it (a database) is
   * emptied through the store's own deleteTokens, only when it holds tokens. */
  async reset() {
    await this.release();
    this.newTmpdir();
    if (!this.local) {
      for (const namespace of this.namespaced ? HARNESS_NAMESPACES : ["main"]) await this.empty(namespace);
    }
    return { dir: this.tmpdir };
  }

  async empty(namespace) {
    const store = this.newStore(namespace);
    this.fresh.set(namespace, store);
    let held;
    try {
      held = await this.call("getTokens", () => store.getTokens());
    } catch {
      held = true;
    }
    if (!held || held.length === 0) return;
    let left;
    try {
      await this.call("deleteTokens", () => store.deleteTokens());
      left = await this.call("getTokens", () => store.getTokens());
    } catch (err) {
      throw new SetupFailure("delete-tokens.empties", `deleteTokens() = Err(${messageOf(err)}), want Ok: `
        + "the kit empties the store's storage with it before each check");
    }
    if (left && left.length > 0) {
      throw new SetupFailure("delete-tokens.empties", `getTokens() after deleteTokens() = ${left.length} `
        + "tokens, want []: the kit empties the store's storage with it before each check");
    }
  }

  /** Uses the storage another adapter process made (its {tmpdir}), without emptying it. */
  async attach(request) {
    await this.release();
    if (request.dir === null || request.dir === undefined) {
      if (this.local) throw new Error("attach: this store keeps its storage in {tmpdir}; name it");
      this.newTmpdir();
      return null;
    }
    this.dropTmpdir();
    this.tmpdir = request.dir;
    process.chdir(this.tmpdir);
    return null;
  }

  reopen(request) {
    if (this.tmpdir === null) this.newTmpdir();
    const handle = this.nextHandle++;
    const made = this.fresh.get(request.namespace);
    this.fresh.delete(request.namespace);
    this.stores.set(handle, made ?? this.newStore(request.namespace));
    return { store: handle };
  }

  store(request) {
    const store = this.stores.get(request.store);
    if (store === undefined) throw new Error(`no open store ${request.store}`);
    return store;
  }

  /** Records a finding of `rule` once per kind of fault, reported with the next response. */
  note(rule, what, message) {
    if (this.reported.has(what)) return;
    this.reported.add(what);
    this.findings.push({ rule, message });
  }

  /**
   * Calls `invoke` (the store's `method`) and awaits what it returns: the answer, or the error it
   * rejected with. A plain value where the SDK awaits a Promise, a rejection that escapes as
   * unhandled, or a promise that never settles is a finding of `calls.promise-settles`.
   */
  async call(method, invoke, shown = `${method}()`, copy = (value) => value) {
    if (this.active++ === 0) this.baseline = resources();
    let settle;
    const done = new Promise((resolve) => { settle = resolve; });
    let timer = null;
    const call = {
      done: false,
      escape: (err, how) => {
        this.note(SETTLE_RULE, `${method}:${how}`, `${shown}: ${messageOf(err)} escaped as an ${how} `
          + "instead of rejecting the promise the method returned; the SDK never sees it, and a Node "
          + "process without a handler exits");
        settle({ error: err });
      },
    };
    try {
      let result;
      try {
        result = CURRENT_CALL.run(call, invoke);
      } catch (err) {
        if (AWAITED.has(method)) {
          this.note(SETTLE_RULE, `${method}:throw`, `${shown} threw ${messageOf(err)} instead of `
            + "returning a rejected Promise; the SDK calls .catch() on what it returns, so it fails with "
            + "a TypeError");
        }
        throw err;
      }
      if (!(result instanceof Promise) && typeof result?.then !== "function") {
        if (AWAITED.has(method)) {
          this.note(SETTLE_RULE, `${method}:sync`, `${shown} returned ${describe(result)}, not a `
            + "Promise; the SDK calls .catch() on it and fails with a TypeError: make the method async");
        }
        return copy(result);
      }
      // The answer is what the promise settled with, copied at that moment: the wait for the
      // store's pending I/O below decides when the next call may start, and never fills in an
      // answer (a getTokens that resolves before its query has filled the array is wrong).
      const copied = (value) => {
        try {
          settle({ value: copy(value) });
        } catch (error) {
          settle({ error });
        }
      };
      Promise.resolve(result).then(copied, (error) => settle({ error }));
      if (this.callTimeoutMs !== null) {
        timer = setTimeout(() => settle({ timeout: true }), this.callTimeoutMs);
      }
      const outcome = await done;
      if (outcome.timeout) {
        this.note(SETTLE_RULE, `${method}:never`, `${shown}: the promise it returned never settled `
          + `(waited ${this.callTimeoutMs} ms)`);
        throw new Error(`${shown}: the promise it returned never settled in ${this.callTimeoutMs} ms`);
      }
      if ("error" in outcome) throw outcome.error;
      return outcome.value;
    } finally {
      if (timer !== null) clearTimeout(timer);
      call.done = true;
      if (--this.active === 0) await this.settle(this.baseline);
    }
  }

  /** Waits, at most --settle-ms, until the process holds no more than it did before the first
   * of the calls that were in flight. */
  async settle(before) {
    const deadline = Date.now() + this.settleMs;
    await new Promise((resolve) => setImmediate(resolve));
    while (holdsMore(resources(), before) && Date.now() < deadline) await sleep(1);
  }

  async find_token(request) {
    const caller = buildToken(request.token);
    return this.call("findToken", () => this.store(request).findToken(caller), "findToken()",
      (found) => ({ found: dumpToken(found, "findToken()"), caller: dumpToken(caller, "the caller") }));
  }

  async save_token(request) {
    const caller = buildToken(request.token);
    // The official DBStore resolves a driver result; the SDK ignores what saveToken resolves.
    return this.call("saveToken", () => this.store(request).saveToken(caller), "saveToken()",
      () => ({ caller: dumpToken(caller, "the caller") }));
  }

  async delete_token(request) {
    await this.call("deleteToken", () => this.store(request).deleteToken(request.id),
      `deleteToken(${JSON.stringify(request.id)})`);
    return null;
  }

  async get_tokens(request) {
    return this.call("getTokens", () => this.store(request).getTokens(), "getTokens()", (tokens) => {
      if (!Array.isArray(tokens)) {
        throw new WrongAnswer(`getTokens() returned ${describe(tokens)}, not an array: want [] for an empty store`);
      }
      return tokens.map((t) => dumpToken(t, "getTokens()"));
    });
  }

  async delete_tokens(request) {
    await this.call("deleteTokens", () => this.store(request).deleteTokens());
    return null;
  }

  async find_token_by_id(request) {
    const shown = `findTokenById(${JSON.stringify(request.id)})`;
    return this.call("findTokenById", () => this.store(request).findTokenById(request.id), shown,
      (found) => dumpToken(found, shown));
  }
}

const STORE_CALLS = new Set(["find_token", "save_token", "delete_token", "get_tokens",
  "delete_tokens", "find_token_by_id"]);
const OPS = new Set(["hello", "reset", "attach", "reopen", ...STORE_CALLS]);

const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/** Writes one response line whole. Standard output may be a non-blocking pipe, which takes a
 * long line (a 64 KiB value) in parts. */
function respond(response) {
  const data = Buffer.from(`${JSON.stringify(response)}\n`);
  for (let written = 0; written < data.length;) {
    try {
      written += fs.writeSync(RESPONSES, data, written);
    } catch (err) {
      if (err.code !== "EAGAIN") throw err;
      Atomics.wait(PAUSE, 0, 0, 1);
    }
  }
}

/** The six methods of the interface the kit checks (@zohocrm/nodejs-sdk-6.0 and later). */
const NEW_METHODS = ["findToken", "saveToken", "deleteToken", "getTokens", "deleteTokens", "findTokenById"];

/**
 * Why `cls` cannot be checked, as one line, when it implements the TokenStore interface of the
 * SDK's older releases instead (getToken(user, token) ...; specs/adapter-protocol.md, "Store
 * interfaces"); null when it implements the six methods the kit calls. A class with both is
 * checked through the six.
 */
function olderInterface(cls) {
  const has = (name) => typeof cls.prototype?.[name] === "function";
  if ((has("findToken") && has("findTokenById")) || !has("getToken")) return null;
  const iface = has("getTokenById")
    ? "getToken(user, token), saveToken(user, token), deleteToken(token), getTokens(), deleteTokens(), "
      + "getTokenById(id, token): the interface of @zohocrm/nodejs-sdk-2.0, -2.1 and @zohocrm/typescript-sdk-2.0, -2.1"
    : "getToken(user, token), saveToken(user, token), deleteToken(token), getTokens(), deleteTokens(): "
      + "the interface of zcrmsdk 1.x";
  return `${cls.name} implements the older TokenStore interface (${iface}); the kit checks the interface `
    + `of @zohocrm/nodejs-sdk-6.0 and later (${NEW_METHODS.map((m) => `${m}()`).join(", ")}): port the store to it`;
}

async function start(argv) {
  const args = parseArgs(argv);
  for (const name of args.refusal) REFUSALS.add(name.split(/[:.]/).pop());
  parseJson("--kwargs", args.kwargs.replaceAll("{tmpdir}", "").replaceAll("{namespace}", "x"),
    "a JSON array of the constructor's arguments, such as '[\"{tmpdir}/tokens.csv\"]'");
  const store = storeLocation(args.store);
  if (store.file.endsWith(".ts")) {
    throw new StartupError(`--store ${args.store}: a .ts file; compile it first (\`npx tsc\`, the `
      + "TypeScript SDK brings typescript) and give the .js file it writes");
  }
  const sdk = findSdk(store, args.sdk);
  SDK = await sdkClasses(sdk);
  let mod;
  try {
    mod = await importFile(store.file);
  } catch (err) {
    if (args.verbose) process.stderr.write(`${err?.stack}\n`);
    throw new StartupError(`--store ${args.store}: cannot import ${store.file} (${messageOf(err)})`);
  }
  const cls = exportOf(mod, store.exported);
  if (typeof cls !== "function") {
    const names = Object.keys(mod).filter((k) => typeof mod[k] === "function");
    throw new StartupError(`--store ${args.store}: ${store.file} exports no class ${JSON.stringify(store.exported)}`
      + ` (it exports ${names.length ? names.join(", ") : "no class"})`);
  }
  const older = olderInterface(cls);
  if (older) throw new StartupError(`--store ${args.store}: ${older}`);
  if (SDK.TokenStore && !(cls.prototype instanceof SDK.TokenStore)) {
    process.stderr.write(`tokenstore_adapter: warning: ${cls.name} does not extend the SDK's TokenStore `
      + `(${sdk.name}/lib/models/authenticator/store/token_store.js); InitializeBuilder.store() refuses it\n`);
  }
  return new Adapter(args, cls, store, sdk);
}

/** The response to one request. */
async function handle(adapter, request) {
  const op = request.op;
  const response = { seq: request.seq ?? null };
  try {
    if (!OPS.has(op)) throw new Error(`unknown op ${JSON.stringify(op)}`);
    response.ok = await adapter[op](request);
  } catch (err) {
    if (err instanceof SetupFailure) {
      response.error = { kind: "other", message: err.message, rule: err.rule };
    } else if (err instanceof WrongAnswer) {
      response.error = { kind: "other", message: err.message };
    } else {
      response.error = errorOf(err);
      if (response.error.kind === "other") process.stderr.write(`${err?.stack ?? String(err)}\n`);
    }
  }
  if (adapter.findings.length > 0) response.findings = adapter.findings.splice(0);
  return response;
}

async function main() {
  const argv = process.argv.slice(2);
  const verbose = argv.includes("--verbose");
  let adapter;
  try {
    adapter = await start(argv);
  } catch (err) {
    if (verbose) process.stderr.write(`${err?.stack}\n`);
    process.stderr.write(`tokenstore_adapter: ${err instanceof StartupError ? err.message : messageOf(err)}\n`);
    process.exit(2);
  }
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  // Store calls in flight (protocol 2); the other requests wait until they are answered.
  const pending = new Set();
  for await (const line of lines) {
    if (!line.trim()) continue;
    const request = JSON.parse(line);
    if (adapter.concurrent && STORE_CALLS.has(request.op)) {
      const answered = handle(adapter, request).then(respond);
      pending.add(answered);
      const forget = () => pending.delete(answered);
      answered.then(forget, forget);
      continue;
    }
    await Promise.allSettled(pending);
    if (request.op === "shutdown") {
      respond({ seq: request.seq ?? null, ok: null });
      break;
    }
    respond(await handle(adapter, request));
  }
  adapter.dropTmpdir();
  process.exit(0);
}

main();
