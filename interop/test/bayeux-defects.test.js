// Bayeux protocol defects of the reference server: for each, the official CometD JavaScript
// client goes through the GWS client life cycle against `serve --defect D` (lib/cometd-works.js),
// and the harness runs the whole suite against `run --defect D`. Their verdicts must agree:
// the harness fails the server (a must scenario fails) exactly when the CometD client cannot
// work with it, and for a defect the client tolerates it only warns (should findings), in the
// protocol scenarios and nowhere else. The outcomes are in interop/README.md.

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { cometdWorks } from "../lib/cometd-works.js";
import { describeResults, runSuite } from "../lib/harness.js";
import { startReferenceServer } from "../lib/reference-server.js";

/** Each Bayeux defect with what the CometD client does with it (documented in the README). */
const DEFECTS = [
  { defect: "handshake-without-connection-types", cometd: false },
  { defect: "handshake-websocket-only", cometd: false },
  { defect: "connect-reply-without-id", cometd: false },
  { defect: "bayeux-text-plain", cometd: true },
];

const PROTOCOL = /\/UpdateUserData\/bayeux-meta-replies$/;

describe("Bayeux defects: the CometD client and the harness agree", () => {
  const servers = [];
  after(async () => {
    for (const s of servers) await s.stop();
  });

  test("control: on the clean server the CometD client works and the protocol scenarios pass", async () => {
    const server = await startReferenceServer();
    servers.push(server);
    const outcome = await cometdWorks(server.url);
    assert.deepEqual(outcome, { works: true, step: null, reason: null });
    const run = await runSuite({ filters: ["--filter", "bayeux-meta-replies"] });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.results.length, 9);
    assert.ok(run.results.every((r) => r.grade === "pass"), describeResults(run.results));
  });

  for (const { defect, cometd } of DEFECTS) {
    test(`${defect}: the CometD client ${cometd ? "works" : "fails"}, and the harness ${cometd ? "only warns" : "fails the server"}`, async () => {
      const server = await startReferenceServer({ args: ["--defect", defect] });
      servers.push(server);
      const outcome = await cometdWorks(server.url);
      await server.stop();
      assert.equal(outcome.works, cometd, `CometD client against --defect ${defect}: ${JSON.stringify(outcome)}`);

      const run = await runSuite({ args: ["--defect", defect] });
      const failed = run.results.filter((r) => r.level === "must" && r.grade === "fail");
      const warned = run.results.filter((r) => r.grade === "warning");
      // The harness's verdict: a must scenario fails exactly when the client cannot work.
      assert.equal(failed.length > 0, !outcome.works, `harness vs CometD (${JSON.stringify(outcome)}): ${describeResults(run.results)}`);
      assert.equal(run.code, outcome.works ? 0 : 1, run.stderr);
      // Either way only the protocol scenarios notice, each on all nine media.
      const noticed = outcome.works ? warned : failed;
      assert.equal(noticed.length, 9, describeResults(run.results));
      assert.ok(noticed.every((r) => PROTOCOL.test(r.id)), describeResults(run.results));
      const others = run.results.filter((r) => !PROTOCOL.test(r.id) && !["pass", "not-applicable"].includes(r.grade));
      assert.deepEqual(others.map((r) => r.id), [], describeResults(others));
      // Every protocol finding cites its Bayeux 1.0 section.
      for (const r of noticed) {
        const bayeux = (r.findings ?? []).filter((f) => f.check.startsWith("bayeux"));
        assert.ok(bayeux.length > 0, describeResults([r]));
        assert.ok(bayeux.every((f) => /^Bayeux 1\.0 §\d/.test(f.message)), describeResults([r]));
        const severities = new Set(bayeux.map((f) => f.severity));
        assert.deepEqual([...severities], [outcome.works ? "warning" : "error"], describeResults([r]));
      }
    });
  }
});
