// tokenstore-check for Node.js and TypeScript teams: the kit's binary for this platform (packed
// into `native/PLATFORM-ARCH/` by ci/npm-pack.sh) and `tokenStoreContract`, which registers one
// test per rule of the kit with the test function it is given (node:test's, vitest's or jest's).
//
//   import { test } from "node:test";
//   import { tokenStoreContract } from "tokenstore-check";
//   tokenStoreContract({ test, store: "./src/token-store.mjs:MyStore", args: ["{tmpdir}"] });
//
// One kit run (`tokenstore-check run --node STORE --format json`) serves every test of one call,
// started by the first test that runs. A failed rule throws the kit's message with the calls
// before it and the likely cause; a skipped rule skips with the kit's reason where the runner's
// context can skip (node:test, vitest) and passes elsewhere; a rule a root cause kept from being
// checked throws naming that cause; when the kit cannot run the store, or no rule could run,
// every test throws the kit's reason. Under node:test the first test prints the kit's and the
// spec's versions as a diagnostic.

import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));

/** The path of the `tokenstore-check` executable: `TOKENSTORE_CHECK` if set, else the one this
 * package carries for this platform. Throws an Error naming the platform when it carries none. */
export function binary() {
  if (process.env.TOKENSTORE_CHECK) return process.env.TOKENSTORE_CHECK;
  const platform = `${process.platform}-${process.arch}`;
  const exe = path.join(here, "native", platform, process.platform === "win32" ? "tokenstore-check.exe" : "tokenstore-check");
  if (fs.existsSync(exe)) return exe;
  const carried = fs.existsSync(path.join(here, "native")) ? fs.readdirSync(path.join(here, "native")) : [];
  throw new Error(`tokenstore-check: this package has no binary for ${platform} (it carries `
    + `${carried.join(", ") || "none"}); build one from the kit's repository (cargo build --release `
    + `--bin tokenstore-check) and name it in the TOKENSTORE_CHECK environment variable`);
}

/** The rule table in the spec's order: objects with `id`, `level` (MUST, IMPL) and `title`. */
export function rules() {
  return JSON.parse(execFileSync(binary(), ["rules", "--format", "json"], { encoding: "utf8" }));
}

/** The `tokenstore-check run` arguments for one Node.js store (the options of tokenStoreContract). */
export function runArguments(options, out, replays) {
  const { store, args, cases, seed, only, persistent = true, concurrent = true, limits, refusals = [], sdk, servers = [] } = options;
  if (typeof store !== "string" || !store.includes(":")) {
    throw new Error(`tokenStoreContract: store must be "FILE:Export", such as "./src/token-store.mjs:MyStore"; got ${JSON.stringify(store)}`);
  }
  const argv = ["run", "--node", store, "--format", "json", "--out", out, "--replay-dir", replays];
  if (args !== undefined) argv.push("--kwargs", JSON.stringify(args));
  if (cases !== undefined) argv.push("--cases", String(cases));
  if (seed !== undefined) argv.push("--seed", String(seed));
  for (const rule of only ?? []) argv.push("--only", rule);
  for (const server of servers) argv.push("--server", server);
  const adapter = [];
  if (!persistent) adapter.push("--not-persistent");
  if (!concurrent) adapter.push("--serial");
  if (limits) adapter.push("--limits", JSON.stringify(limits));
  for (const refusal of refusals) adapter.push("--refusal", refusal);
  if (sdk) adapter.push("--sdk", sdk);
  return adapter.length ? [...argv, "--", ...adapter] : argv;
}

/** Runs the kit once on one Node.js store; resolves with the store's report (`name`, `rules`
 * with `id`, `level`, `status` pass/fail/skip/blocked, `message`, `repro`, `blocked_by`,
 * `likely_cause`; `summary`; `root_causes`; plus `kit_version` and `spec_version`). Rejects with
 * the kit's one-line reason when it writes no report. */
export async function run(options) {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "tokenstore-check-"));
  const out = path.join(scratch, "report.json");
  try {
    const argv = runArguments(options, out, options.replayDir ?? "tokenstore-replays");
    const stderr = await new Promise((resolve, reject) => {
      const child = spawn(binary(), argv, { stdio: ["ignore", "ignore", "pipe"] });
      let text = "";
      child.stderr.on("data", (chunk) => { text += chunk; });
      child.on("error", reject);
      child.on("close", () => resolve(text));
    });
    if (!fs.existsSync(out)) {
      const lines = stderr.trim().split("\n").filter((l) => l.trim());
      throw new Error(lines.at(-1) ?? "tokenstore-check wrote no report");
    }
    const report = JSON.parse(fs.readFileSync(out, "utf8"));
    const [store] = report.stores;
    return { ...store, kit_version: report.kit_version, spec_version: report.spec_version };
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** Registers one test per rule with `options.test` (node:test's `test`, vitest's or jest's).
 * Options: `store` ("FILE:Export", resolved from the working directory), `args` (the
 * constructor's arguments: an array is passed positionally, an object as the one argument;
 * "{tmpdir}" becomes a fresh directory per check, "{namespace}" a namespace name), and optionally
 * `persistent` (false for an in-memory store), `concurrent` (false: one call at a time, the
 * concurrency tier skipped), `limits`, `refusals`, `sdk` ("nodejs" or "typescript"), `servers`
 * (URLs of the servers the store talks to, for the server-loss tier), `cases`,
 * `seed`, `replayDir` (where failing sequences are saved, default "tokenstore-replays"), `name`
 * (put before each test's rule id, "MyStore: find.miss-none", for several stores in one file),
 * `timeout` (ms a test waits for the kit run, default 600000). */
export function tokenStoreContract(options) {
  const { test, timeout = 600_000 } = options;
  if (typeof test !== "function") throw new Error("tokenStoreContract: pass your runner's test function as `test`");
  runArguments(options, "report.json", "replays");
  let verdicts;
  let told = false;
  const once = () => {
    verdicts ??= run(options).then((report) => {
      const ran = report.summary.passed + report.summary.failed;
      if (ran === 0 && !options.only) {
        const why = report.rules.find((r) => r.message);
        throw new Error(`no rule could run: ${JSON.stringify(report.summary)}; ${why ? `${why.id}: ${why.message}` : "the kit gave no reason"}`);
      }
      const byId = new Map(report.rules.map((r) => [r.id, r]));
      byId.versions = { kit_version: report.kit_version, spec_version: report.spec_version };
      return byId;
    });
    return verdicts;
  };
  const prefix = options.name ? `${options.name}: ` : "";
  for (const rule of rules()) {
    test(`${prefix}${rule.id}`, async (...context) => {
      let byId;
      try {
        byId = await once();
      } catch (error) {
        throw new Error(`tokenstore-check could not check ${options.store}: ${error.message}`);
      }
      const t = context[0];
      if (!told && t && typeof t.diagnostic === "function") {
        told = true;
        const { kit_version: kit, spec_version: spec } = byId.versions;
        t.diagnostic(`tokenstore-check ${kit} (spec ${spec}): what changed in each spec version is in the kit's CHANGELOG.md`);
      }
      const verdict = byId.get(rule.id);
      if (!verdict) throw new Error(`the kit's report has no verdict on ${rule.id}`);
      if (verdict.status === "skip") {
        if (t && typeof t.skip === "function") t.skip(verdict.message ?? "skipped by the kit");
        return;
      }
      if (verdict.status === "blocked") {
        throw new Error(`blocked by ${verdict.blocked_by}, the root cause to fix first: ${verdict.message ?? "not checked"}`);
      }
      if (verdict.status === "fail") throw new Error(failureText(rule.id, verdict));
    }, timeout);
  }
}

function failureText(rule, verdict) {
  const lines = [`${rule} (${verdict.level}): ${verdict.message ?? "failed"}`];
  const steps = verdict.repro?.steps ?? [];
  if (steps.length) lines.push("calls before it:", ...steps.map((s) => `  ${s}`));
  if (verdict.repro?.replay_file) lines.push(`replay: tokenstore-check replay ${verdict.repro.replay_file}`);
  if (verdict.likely_cause) lines.push(`likely cause: ${verdict.likely_cause}`);
  return lines.join("\n");
}
