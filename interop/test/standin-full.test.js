// The whole suite against the stand-ins, as a vendor would run it: a target file, passwords in
// GWS_AGENT1_PASSWORD / GWS_AGENT2_PASSWORD, `run --target FILE --profile full --quiet --out DIR`.
// The stand-ins are a second implementation of GWS written from the documentation alone, with
// every undocumented detail chosen differently from the reference server (interop/README.md,
// "Independent choices"). A suite that certifies only the reference server's own choices
// over-reaches; this test proves it certifies the stand-in for `full`, with CSRF off and on.

import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startStandIn, STANDINS } from "../standins/index.js";
import { assertReadingsExercised, describeResults, runSuite } from "../lib/harness.js";

const PROFILE = ["--profile", "full"];

const mustFailures = (run) => describeResults(run.results.filter((r) => r.level === "must"), { grades: ["fail", "could-not-test"] });

describe("the full suite certifies the independent stand-ins", () => {
  const reference = {};

  before(async () => {
    // The baselines: the embedded reference server without and with CSRF protection.
    reference.off = await runSuite({ args: PROFILE });
    reference.on = await runSuite({ args: [...PROFILE, "--csrf"] });
  });

  test("the reference server is certified for `full`, with CSRF off and on (the baseline)", () => {
    for (const [csrf, run] of Object.entries(reference)) {
      assert.equal(run.code, 0, `reference run (CSRF ${csrf}) exited ${run.code}:\n${run.stdout}\n${run.stderr}\n${mustFailures(run)}`);
      assert.equal(run.summary?.verdict?.status, "certified", `reference run (CSRF ${csrf}): ${JSON.stringify(run.summary?.verdict)}`);
    }
  });

  for (const kind of Object.keys(STANDINS)) {
    for (const csrf of [false, true]) {
      const mode = csrf ? "on" : "off";
      describe(`${STANDINS[kind].title}, CSRF ${mode}`, () => {
        let run;
        let stats;

        before(async () => {
          const standIn = await startStandIn(kind, { csrf });
          try {
            run = await runSuite({ name: standIn.name, baseUrl: standIn.url, args: PROFILE });
          } finally {
            await standIn.stop();
          }
          stats = { ...standIn.stats, bayeux: standIn.adapter.stats };
        });

        test("every scenario ran, through this Bayeux server", () => {
          const ids = reference[mode].results.map((r) => r.id).sort();
          assert.deepEqual(run.results.map((r) => r.id).sort(), ids, `one result per scenario:\n${run.stdout}\n${run.stderr}`);
          assert.ok(stats.bayeux.handshakes.agent1 >= 1 && stats.bayeux.handshakes.agent2 >= 1, JSON.stringify(stats));
          assert.ok(stats.bayeux.delivered.agent1 > 0, JSON.stringify(stats));
        });

        test("no must scenario that passes on the reference server fails here", () => {
          const baseline = Object.fromEntries(reference[mode].results.map((r) => [r.id, r]));
          const regressions = run.results
            // A warning is fine: it is how the suite reports shapes beyond the documented core.
            .filter((r) => r.level === "must" && baseline[r.id]?.grade === "pass" && (r.grade === "fail" || r.grade === "could-not-test"))
            .map((r) => `${r.grade} ${r.id}: ${(r.findings ?? []).filter((f) => f.severity !== "info").map((f) => `[${f.check}] ${f.message}`).join("; ")}`);
          assert.deepEqual(regressions, [], `must scenarios that pass on the reference server fail on the stand-in:\n${regressions.join("\n")}`);
        });

        test("CSRF: the token-required scenarios are graded as the mode implies", () => {
          const scenarios = run.results.filter((r) => r.id.endsWith("/csrf-token-required"));
          assert.equal(scenarios.length, 9, "one csrf-token-required scenario per media");
          const want = csrf ? "pass" : "not-applicable";
          const wrong = scenarios.filter((r) => r.grade !== want).map((r) => `${r.grade} ${r.id}`);
          assert.deepEqual(wrong, [], `expected ${want}`);
          if (csrf) assert.ok(stats.csrfRejected >= 9, `the stand-in refused the token-less POSTs: ${JSON.stringify(stats)}`);
          else assert.equal(stats.csrfRejected, 0);
        });

        test("the stand-in's own legal readings were exercised and accepted", () => {
          // Issue 19: asynchronous voice refusals, refused unusual data / absent keys, a GET
          // richer than the notification, errors answered HTTP 200, deletes of absent keys
          // accepted without a notification, error notifications after multimedia refusals.
          assertReadingsExercised(run, stats);
        });

        test("`run --profile full` exits 0 with the verdict certified", () => {
          const details = `exit ${run.code}\n${run.stdout}\n${run.stderr}\nmust failures:\n${mustFailures(run)}`;
          assert.equal(run.summary?.verdict?.status, "certified", `verdict ${JSON.stringify(run.summary?.verdict?.status)}:\n${details}`);
          assert.equal(run.code, 0, details);
        });
      });
    }
  }
});
