// Part B: OUR harness (its Bayeux client and runner) against THEIR Bayeux servers: GWS stand-ins
// built on cometd-nodejs-server and on Faye's NodeAdapter (interop/standins/). The harness must
// exit 0, and grade every chat/voice scenario exactly as it grades the reference server, so a
// difference is either a stand-in infidelity or a Bayeux interop problem of the harness.

import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startStandIn, STANDINS } from "../standins/index.js";
import { describeResults, listScenarioIds, runSuite } from "../lib/harness.js";

describe("gws-conformance run against third-party Bayeux servers", () => {
  let ids;
  let reference;

  before(async () => {
    ids = await listScenarioIds();
    reference = await runSuite();
  });

  test("the selected scenarios pass on the embedded reference server (the baseline)", () => {
    assert.ok(ids.length > 0, "`list` selects chat and voice scenarios");
    assert.equal(reference.code, 0, `reference run exited ${reference.code}:\n${reference.stdout}\n${reference.stderr}`);
    assert.deepEqual(reference.results.map((r) => r.id).sort(), [...ids].sort());
  });

  for (const kind of Object.keys(STANDINS)) {
    test(`${STANDINS[kind].title}: the harness exits 0 and grades every scenario as on the reference server`, async () => {
      const standIn = await startStandIn(kind);
      let run;
      try {
        run = await runSuite({ name: STANDINS[kind].title, baseUrl: standIn.url });
      } finally {
        await standIn.stop();
      }
      const details = `exit ${run.code}\n${run.stdout}\n${run.stderr}\n${describeResults(run.results)}`;
      assert.equal(run.code, 0, `the harness failed against the ${kind} stand-in:\n${details}`);
      assert.deepEqual(run.results.map((r) => r.id).sort(), [...ids].sort(), "one result per selected scenario");
      const graded = Object.fromEntries(run.results.map((r) => [r.id, r.grade]));
      const baseline = Object.fromEntries(reference.results.map((r) => [r.id, r.grade]));
      const differences = ids
        .filter((id) => graded[id] !== baseline[id])
        .map((id) => `${id}: ${graded[id]} here, ${baseline[id]} on the reference server`);
      assert.deepEqual(differences, [], `grades differ from the reference run:\n${details}`);
      assert.ok(run.results.some((r) => r.grade === "pass" && r.latency_ms !== null), "some notification was received");

      // The harness really went through this Bayeux server: both agents handshook on it, and
      // notifications were delivered to agent1's clients through it.
      const { stats } = standIn.adapter;
      assert.ok(stats.handshakes.agent1 >= 1 && stats.handshakes.agent2 >= 1, `handshakes: ${JSON.stringify(stats)}`);
      assert.ok(stats.delivered.agent1 > 0, `deliveries: ${JSON.stringify(stats)}`);
    });
  }
});
