// Runs the gws-conformance harness binary and reads its results.

import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gwsBin } from "./reference-server.js";
import { AGENTS, withDeadline } from "./util.js";

/** The scenario filters Part B runs: the media the stand-ins implement. */
export const FILTERS = ["--filter", "chat/", "--filter", "voice/"];

/** Runs the binary to completion (bounded by `ms`); resolves with exit code and output. */
export function runBin(args, { env = {}, ms = 120_000 } = {}) {
  const child = spawn(gwsBin(), args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
  const done = new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return withDeadline(done, ms, `gws-conformance ${args.join(" ")}`).catch((e) => {
    child.kill("SIGKILL");
    throw e;
  });
}

/** Scenario ids the filters select, from `list --json`. */
export async function listScenarioIds() {
  const r = await runBin(["list", "--json", ...FILTERS]);
  if (r.code !== 0) throw new Error(`list failed (${r.code}): ${r.stderr}`);
  return r.stdout
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l).id);
}

/**
 * Runs the suite (`run … --quiet --out DIR`) against a target file naming `baseUrl`, or against
 * the embedded reference server when `baseUrl` is omitted. Resolves with the exit code, the
 * output and the parsed results.jsonl.
 */
export async function runSuite({ name, baseUrl } = {}) {
  const dir = await mkdtemp(join(tmpdir(), "gws-interop-"));
  try {
    const args = ["run", ...FILTERS, "--quiet", "--out", join(dir, "out")];
    if (baseUrl) {
      const target = join(dir, "target.yaml");
      await writeFile(
        target,
        [
          `name: ${name}`,
          `base_url: ${baseUrl}`,
          "agents:",
          "  - {username: agent1, password_env: GWS_AGENT1_PASSWORD}",
          "  - {username: agent2, password_env: GWS_AGENT2_PASSWORD}",
          "fixtures:",
          `  url: ${baseUrl}/conformance/v1`,
          "",
        ].join("\n"),
      );
      args.push("--target", target);
    }
    const r = await runBin(args, {
      env: { GWS_AGENT1_PASSWORD: AGENTS.agent1, GWS_AGENT2_PASSWORD: AGENTS.agent2 },
    });
    let results = [];
    try {
      results = (await readFile(join(dir, "out", "results.jsonl"), "utf8"))
        .split("\n")
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l));
    } catch (e) {
      if (e.code !== "ENOENT") throw e;
    }
    return { ...r, results };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** One line per result that is not a pass, with its findings, for assertion messages. */
export function describeResults(results) {
  return results
    .filter((r) => r.grade !== "pass")
    .map((r) => `${r.grade} ${r.id}: ${(r.findings ?? []).map((f) => `[${f.check}] ${f.message}`).join("; ")}`)
    .join("\n");
}
