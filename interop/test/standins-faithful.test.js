// The stand-ins are only useful if they behave like GWS. This differential test sends the same
// sequence of user-data requests (valid and invalid) to the reference server and to each
// stand-in, and compares HTTP status, GWS statusCode and the interaction's userData after each
// step. It also checks the stand-in-specific parts of the brief (offered media, fixture
// cleanup, authentication, the Bayeux endpoint bound to the agent).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startReferenceServer } from "../lib/reference-server.js";
import { startStandIn, STANDINS } from "../standins/index.js";
import { bayeuxRaw, createInteraction, gws } from "../lib/util.js";

const RAW = Symbol("raw body");

// [request body, compare the statusCode exactly?]
const STEPS = {
  chat: [
    [{ operationName: "AttachUserData", userData: { A: "1", N: 2 } }],
    [{ operationName: "UpdateUserData", userData: { A: 1, Nested: { B: [1, "x"] } } }],
    [{ operationName: "DeleteUserData", keys: ["N", "NotThere"] }],
    [{ operationName: "DeleteUserData" }],
    [{ operationName: "DeleteUserData", keys: "A" }],
    [{ operationName: "DeleteUserData", keys: [1] }],
    [{ operationName: "DeleteUserDataPair", key: "A" }],
    [{ userData: { A: "1" } }],
    [{ operationName: 7, userData: {} }],
    [{ operationName: "ReplaceAllUserData", userData: { A: "1" } }],
    [{ operationName: "AttachUserData" }],
    [{ operationName: "UpdateUserData", userData: "A=1" }],
    [{ operationName: "UpdateUserData", userData: ["A", "1"] }],
    [{ [RAW]: '{"operationName": "UpdateUserData", "userData": {' }, false],
  ],
  voice: [
    [{ operationName: "AttachUserData", userData: { AccountNumber: "12345", Clé: "v" } }],
    [{ operationName: "UpdateUserData", userData: { AccountNumber: "12345678" } }],
    [{ operationName: "DeleteUserDataPair", key: "Clé" }],
    [{ operationName: "DeleteUserDataPair", key: "NotThere" }],
    [{ operationName: "DeleteUserDataPair" }],
    [{ operationName: "DeleteUserDataPair", key: 5 }],
    [{ operationName: "DeleteUserData" }],
    [{ operationName: "DeleteUserData" }],
    [{ operationName: "AttachUserData", userData: { Again: true } }],
    [{ operationName: "UpdateUserData" }],
    [{ operationName: "Unknown" }],
    [{ [RAW]: "not json" }, false],
  ],
};

/** Runs every step on a fresh interaction and records what the server answered. */
async function trace(base, media) {
  const created = await createInteraction(base, "agent1", media, { Seed: "value" });
  const key = media === "chat" ? "chat" : "call";
  const out = [];
  for (const [body, exact = true] of STEPS[media]) {
    const r = await gws(base, "POST", created.path, { agent: "agent1", body: body[RAW] ?? body });
    const got = await gws(base, "GET", created.path, { agent: "agent1" });
    assert.equal(got.status, 200);
    const resource = got.body[key];
    out.push({
      request: body[RAW] ?? body,
      status: r.status,
      statusCode: exact ? r.body?.statusCode : r.body?.statusCode !== 0,
      hasStatusMessage: r.status === 200 || typeof r.body?.statusMessage === "string",
      userData: "userData" in resource ? resource.userData : "(absent)",
    });
  }
  // Isolation and unknown ids.
  const other = await gws(base, "POST", created.path, {
    agent: "agent2",
    body: { operationName: "UpdateUserData", userData: { Intruder: "1" } },
  });
  const otherRead = await gws(base, "GET", created.path, { agent: "agent2" });
  const unknown = await gws(base, "POST", created.path.replace(/[^/]+$/, "NOSUCHID0001"), {
    agent: "agent1",
    body: { operationName: "UpdateUserData", userData: { A: "1" } },
  });
  const anonymous = await gws(base, "POST", created.path, { auth: null, body: { operationName: "UpdateUserData", userData: { A: "1" } } });
  const wrong = await gws(base, "GET", created.path, { auth: "Basic " + Buffer.from("agent1:nope").toString("base64") });
  out.push({
    otherAgent: [other.status, other.body?.statusCode],
    otherAgentRead: [otherRead.status, otherRead.body?.statusCode],
    unknown: [unknown.status, unknown.body?.statusCode],
    anonymous: anonymous.status,
    wrongPassword: wrong.status,
  });
  return out;
}

describe("the stand-ins answer like the reference server", () => {
  let reference;
  const expected = {};

  before(async () => {
    reference = await startReferenceServer();
    for (const media of Object.keys(STEPS)) expected[media] = await trace(reference.url, media);
  });
  after(async () => {
    await reference?.stop();
  });

  for (const kind of Object.keys(STANDINS)) {
    test(`${STANDINS[kind].title}: same answers and same userData as the reference server`, async () => {
      const standIn = await startStandIn(kind);
      try {
        for (const media of Object.keys(STEPS)) {
          assert.deepEqual(await trace(standIn.url, media), expected[media], `${media} differs from the reference server`);
        }

        // What the stand-ins add to the brief: only chat and voice are offered, fixtures are
        // removable, 401 bodies follow GWS, the Bayeux endpoint binds clients to agents.
        const sms = await gws(standIn.url, "POST", "/conformance/v1/interactions", { body: { media: "sms" } });
        assert.equal(sms.status, 404);
        const features = await gws(standIn.url, "GET", "/api/v2/features");
        assert.deepEqual(features.body.features.map((f) => f.id).sort(), ["api-multimedia", "api-voice"]);
        const me = await gws(standIn.url, "GET", "/api/v2/me", { agent: "agent2" });
        assert.equal(me.body.user.userName, "agent2");
        const denied = await gws(standIn.url, "GET", "/api/v2/me", { auth: null });
        assert.equal(denied.status, 401);
        assert.deepEqual(denied.body, { statusCode: 20, statusMessage: "User is not authenticated" });
        const chat = await createInteraction(standIn.url, "agent1", "chat");
        assert.equal((await gws(standIn.url, "DELETE", `/conformance/v1/interactions/${chat.id}`, { agent: "agent2" })).status, 404);
        assert.equal((await gws(standIn.url, "DELETE", `/conformance/v1/interactions/${chat.id}`)).status, 204);
        assert.equal((await gws(standIn.url, "GET", chat.path)).status, 404);

        const [hs] = await bayeuxRaw(standIn.url, "agent1", [
          { channel: "/meta/handshake", version: "1.0", supportedConnectionTypes: ["long-polling"], id: "1" },
        ]);
        assert.equal(hs.successful, true, JSON.stringify(hs));
        // agent2 cannot use agent1's client id.
        const stolen = await bayeuxRaw(standIn.url, "agent2", [
          { channel: "/meta/subscribe", clientId: hs.clientId, subscription: "/v2/me/*", id: "2" },
        ]);
        assert.equal(stolen[0].successful, false, JSON.stringify(stolen));
        // Clients cannot publish on GWS channels.
        const published = await bayeuxRaw(standIn.url, "agent1", [
          { channel: "/v2/me/chats", clientId: hs.clientId, data: { forged: true }, id: "3" },
        ]);
        assert.equal(published[0].successful, false, JSON.stringify(published));
        await bayeuxRaw(standIn.url, "agent1", [{ channel: "/meta/disconnect", clientId: hs.clientId, id: "4" }]);
      } finally {
        await standIn.stop();
      }
    });
  }
});
