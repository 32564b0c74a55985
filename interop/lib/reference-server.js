// Starts and stops `gws-conformance serve`, the project's reference GWS server, as a child
// process. The URL is taken from the line the server prints once it accepts connections.

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { withDeadline } from "./util.js";

const here = dirname(fileURLToPath(import.meta.url));

/** The harness binary: $GWS_BIN, or the release build of this checkout. */
export function gwsBin() {
  const bin = process.env.GWS_BIN || resolve(here, "../../target/release/gws-conformance");
  if (!existsSync(bin)) {
    throw new Error(`gws-conformance binary not found at ${bin}: build it or set GWS_BIN`);
  }
  return bin;
}

const LISTENING = /gws-conformance reference server listening on (http:\/\/127\.0\.0\.1:(\d+))/;

/**
 * Starts `serve --port PORT` (0 = any free port) with extra arguments; resolves once the
 * "listening on" line was printed.
 */
export async function startReferenceServer({ port = 0, args = [] } = {}) {
  const child = spawn(gwsBin(), ["serve", "--port", String(port), ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
  const exited = new Promise((resolveExit) => child.once("exit", (code, signal) => resolveExit({ code, signal })));
  const listening = new Promise((resolveUrl, reject) => {
    child.stdout.setEncoding("utf8").on("data", (d) => {
      stdout += d;
      const m = LISTENING.exec(stdout);
      if (m) resolveUrl({ url: m[1], port: Number(m[2]) });
    });
    child.once("error", reject);
    exited.then(({ code, signal }) =>
      reject(new Error(`gws-conformance serve exited (${code ?? signal}) before listening: ${stderr}`)),
    );
  });
  let found;
  try {
    found = await withDeadline(listening, 15_000, "the reference server's listening line");
  } catch (e) {
    child.kill("SIGKILL");
    throw e;
  }
  return {
    url: found.url,
    port: found.port,
    pid: child.pid,
    /** Ends this process (SIGTERM, then SIGKILL if it lingers) and waits for it to exit. */
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill("SIGTERM");
      try {
        return await withDeadline(exited, 5_000, "the reference server to exit");
      } catch {
        child.kill("SIGKILL");
        return exited;
      }
    },
  };
}
