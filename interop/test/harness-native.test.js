// The harness against a stock GWS: the cometd-nodejs-server stand-in with its fixture contract
// off (`/conformance/v1/*` answers 404), and a target file whose fixtures section names only
// what native provisioning needs. The harness must then create every interaction with the
// documented operations (StartContactCenterSession, Ready, Dial, Create), learn its id from
// the StatusChange notification, end it with Hangup / Cancel / Complete, and leave nothing
// behind. Media no documented operation creates (SMS, Facebook PM, IM) are not applicable,
// and a profile that needs them is incomplete.

import { describe, before, test } from "node:test";
import assert from "node:assert/strict";
import { startStandIn, STANDINS } from "../standins/index.js";
import { describeResults, runSuite, unexplainedFindings } from "../lib/harness.js";
import { listedInteractions } from "../lib/util.js";

const KIND = "cometd";
const CREATED_NATIVELY = ["email", "openmedia", "workitem", "twitter"];
const NO_CREATE = ["sms", "facebook-pm", "im"];
const NO_CREATE_REASON = "no documented operation creates one";
// IM sessions are initiated natively (InitiateIMSession) when `fixtures.native.im` names a number;
// this stand-in does not implement it, so its target file leaves `im` out and says why.
const REASON_OF = { im: "fixtures.native.im is not set" };
const noCreateReason = (media) => REASON_OF[media] ?? NO_CREATE_REASON;

/** The target file's fixtures section, exactly as a vendor of a stock GWS would write it. */
const nativeFixtures = (url) =>
  [
    "fixtures:",
    "  native:",
    '    dial: "15002"',
    `    queue_uri: "${url}/api/v2/queues/8a3c0f"`,
    '    queue_path: "/queues/8a3c0f"',
    '    openmedia_type: "promotion"',
  ].join("\n");

/**
 * Runs the suite with `args` against a fresh stand-in without fixtures; resolves with the run
 * and what each agent still has afterwards (collection listings; `{}` when nothing is left).
 */
async function nativeRun({ args = [], csrf = false } = {}) {
  const standIn = await startStandIn(KIND, { csrf, fixtures: false });
  try {
    const run = await runSuite({ name: standIn.name, baseUrl: standIn.url, args, fixturesYaml: nativeFixtures(standIn.url) });
    const left = {};
    for (const agent of ["agent1", "agent2"]) {
      left[agent] = await listedInteractions(standIn.url, agent, { openmediaTypes: ["promotion"] });
    }
    return { run, left, stats: { ...standIn.stats, bayeux: standIn.adapter.stats } };
  } finally {
    await standIn.stop();
  }
}

const details = (run) => `exit ${run.code}\n${run.stdout}\n${run.stderr}\n${describeResults(run.results)}`;

/** Every result's reason text: its findings' messages (and a `reason`, should one appear). */
const reasonOf = (r) => [r.reason, ...(r.findings ?? []).map((f) => f.message)].filter(Boolean).join(" | ");

function assertNothingLeft(left) {
  assert.deepEqual(left, { agent1: {}, agent2: {} }, "the harness left interactions behind (collection listings after the run)");
}

describe(`gws-conformance run against the ${STANDINS[KIND].title} without fixtures (native provisioning)`, () => {
  for (const csrf of [false, true]) {
    describe(`run --profile voice, CSRF ${csrf ? "on" : "off"}`, () => {
      let outcome;
      before(async () => {
        outcome = await nativeRun({ args: ["--profile", "voice"], csrf });
      });

      test("exits 0 with the verdict certified", () => {
        const { run } = outcome;
        assert.equal(run.summary?.verdict?.status, "certified", `verdict ${JSON.stringify(run.summary?.verdict)}:\n${details(run)}`);
        assert.equal(run.code, 0, details(run));
        assert.ok(run.results.some((r) => r.media === "voice" && r.grade === "pass" && r.latency_ms !== null), "voice notifications were judged");
        assert.ok(outcome.stats.bayeux.handshakes.agent1 >= 1, JSON.stringify(outcome.stats));
      });

      test("leaves no interaction behind", () => assertNothingLeft(outcome.left));
    });
  }

  describe("run (default profile)", () => {
    let outcome;
    before(async () => {
      outcome = await nativeRun();
    });

    test("every email, open media, workitem and Twitter scenario passes", () => {
      const { run } = outcome;
      const mine = run.results.filter((r) => CREATED_NATIVELY.includes(r.media));
      for (const media of CREATED_NATIVELY) assert.ok(mine.some((r) => r.media === media), `some ${media} scenario ran:\n${details(run)}`);
      // A warning or informational result counts when every finding is one the stand-ins'
      // documented independent choices explain (properties beyond the documented shape); the
      // CSRF scenarios are not applicable with CSRF off, as on every server without it.
      const csrfOff = (r) => r.grade === "not-applicable" && /\/csrf-/.test(r.id) && /CSRF/.test(reasonOf(r));
      // The stand-ins refuse null values (statusCode 10, a legal reading: edges.yaml
      // `null-value` allows the refusal), and the documented routed-multimedia preset the
      // documented-sample scenarios start from holds `RRequestedSkills: null`. Without fixtures
      // the harness seeds it with AttachUserData, which is refused, so it cannot set those up
      // (could-not-test). Reported to the lead (issue 19); nothing else may be could-not-test.
      const presetRefused = (r) =>
        r.grade === "could-not-test" &&
        /\/(AttachUserData|UpdateUserData|DeleteUserData)\/documented-sample$/.test(r.id) &&
        /attaching the initial userData was refused: HTTP \d+, statusCode 10: .*RRequestedSkills.*null/.test(reasonOf(r));
      assert.equal(mine.filter(presetRefused).length, 9, "the documented-sample scenarios of open media, workitems, Twitter whose preset has a null");
      const failing = mine
        .filter((r) => r.grade !== "pass" && !csrfOff(r) && !presetRefused(r) && !(["warning", "informational"].includes(r.grade) && unexplainedFindings(r).length === 0))
        .map((r) => `${r.grade} ${r.id}: ${reasonOf(r)}`);
      assert.deepEqual(failing, [], `natively created media did not pass:\n${failing.join("\n")}`);
      assert.ok(mine.some((r) => r.grade === "pass" && r.latency_ms !== null), "their notifications were judged");
    });

    test("every SMS, Facebook PM and IM scenario is not applicable: no documented operation creates one", () => {
      const { run } = outcome;
      const mine = run.results.filter((r) => NO_CREATE.includes(r.media));
      for (const media of NO_CREATE) assert.ok(mine.some((r) => r.media === media), `some ${media} scenario has a result:\n${details(run)}`);
      const wrong = mine
        .filter((r) => r.grade !== "not-applicable" || !reasonOf(r).includes(noCreateReason(r.media)))
        .map((r) => `${r.grade} ${r.id}: ${reasonOf(r)}`);
      assert.deepEqual(wrong, [], `expected not-applicable (${JSON.stringify(REASON_OF)}, otherwise "${NO_CREATE_REASON}"):\n${wrong.slice(0, 20).join("\n")}`);
    });

    test("leaves no interaction behind", () => assertNothingLeft(outcome.left));
  });

  describe("run --profile full", () => {
    let outcome;
    before(async () => {
      outcome = await nativeRun({ args: ["--profile", "full"] });
    });

    test("exits non-zero with the verdict incomplete, naming the media that need fixtures", () => {
      const { run } = outcome;
      const verdict = run.summary?.verdict;
      assert.notEqual(run.code, 0, details(run));
      assert.equal(verdict?.status, "incomplete", `verdict ${JSON.stringify(verdict)}:\n${details(run)}`);
      const text = `${JSON.stringify(verdict)}\n${run.stdout}\n${run.stderr}`;
      for (const media of NO_CREATE) {
        assert.ok(new RegExp(`(^|[^a-z-])${media}([^a-z-]|$)`).test(text), `the verdict names ${media}: ${JSON.stringify(verdict)}`);
      }
    });

    test("leaves no interaction behind", () => assertNothingLeft(outcome.left));
  });
});
