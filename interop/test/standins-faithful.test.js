// The stand-ins are only useful if they behave like GWS. This differential test sends the same
// sequence of user-data requests (valid and invalid) to the reference server and to each
// stand-in, for every media, and compares HTTP status, GWS statusCode and the interaction's
// userData after each step. Resource shapes are not compared: the stand-ins choose them
// differently on purpose (interop/README.md, "Independent choices"); the one shape rule the
// documentation fixes - a voice call has no userData property after DeleteUserData - is.
// It also checks the stand-in-specific parts (offered media, features, fixture cleanup,
// authentication, CSRF, the Bayeux endpoint bound to the agent).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startReferenceServer } from "../lib/reference-server.js";
import { startStandIn, STANDINS } from "../standins/index.js";
import { basicAuth, bayeuxRaw, createInteraction, gws, interactionId, operate } from "../lib/util.js";
import { cometdClient, CLIENTS } from "../lib/clients.js";

const RAW = Symbol("raw body");
const MEDIA = ["voice", "chat", "sms", "email", "openmedia", "workitem", "im", "facebook-pm", "twitter"];
const KEYS_DELETE = ["chat", "sms", "email", "openmedia", "workitem", "facebook-pm", "twitter"];

// [request body, compare the statusCode exactly?]
const COMMON = [
  [{ operationName: "AttachUserData", userData: { A: "1", N: 2, Clé: "v" } }],
  [{ operationName: "UpdateUserData", userData: { A: 1, Nested: { B: [1, "x"] } } }],
  [{ userData: { A: "1" } }],
  [{ operationName: 7, userData: {} }],
  [{ operationName: "ReplaceAllUserData", userData: { A: "1" } }],
  [{ operationName: "AttachUserData" }],
  [{ operationName: "UpdateUserData", userData: null }],
  [{ operationName: "UpdateUserData", userData: "A=1" }],
  [{ operationName: "AttachUserData", userData: ["A", "1"] }],
  [{ [RAW]: '{"operationName": "UpdateUserData", "userData": {' }, false],
];
const STEPS = Object.fromEntries(
  MEDIA.map((media) => {
    const specific = {
      voice: [
        [{ operationName: "DeleteUserDataPair", key: "Clé" }],
        [{ operationName: "DeleteUserDataPair", key: "NotThere" }],
        [{ operationName: "DeleteUserDataPair" }],
        [{ operationName: "DeleteUserDataPair", key: 5 }],
        [{ operationName: "DeleteUserData" }],
        [{ operationName: "DeleteUserData" }],
        [{ operationName: "AttachUserData", userData: { Again: true } }],
        [{ operationName: "Unknown" }],
        [{ [RAW]: "not json" }, false],
      ],
      im: [
        [{ operationName: "DeleteUserData", key: "N" }],
        [{ operationName: "DeleteUserData", key: "NotThere" }],
        [{ operationName: "DeleteUserData" }],
        [{ operationName: "DeleteUserData", key: ["A"] }],
        [{ operationName: "DeleteUserData", keys: ["A"] }],
        [{ operationName: "DeleteUserDataPair", key: "A" }],
      ],
    }[media] ?? [
      [{ operationName: "DeleteUserData", keys: ["N", "NotThere"] }],
      [{ operationName: "DeleteUserData", keys: ["Clé", "A"] }],
      [{ operationName: "DeleteUserData" }],
      [{ operationName: "DeleteUserData", keys: "Nested" }],
      [{ operationName: "DeleteUserData", keys: [1] }],
      [{ operationName: "DeleteUserData", key: "Nested" }],
      [{ operationName: "DeleteUserDataPair", key: "Nested" }],
    ];
    return [media, [...COMMON, ...specific]];
  }),
);

const RESOURCE_KEYS = {
  voice: ["call"],
  chat: ["chat"],
  sms: ["smssession", "smsession"],
  email: ["email"],
  openmedia: ["openmedia"],
  workitem: ["workitem"],
  im: ["imSession"],
  "facebook-pm": ["facebooksession"],
  twitter: ["twitter", "tweet"],
};

/** Runs every step on a fresh interaction and records what the server answered. */
async function trace(base, media) {
  const created = await createInteraction(base, "agent1", media, { Seed: "value" });
  const out = [];
  for (const [body, exact = true] of STEPS[media]) {
    const r = await gws(base, "POST", created.path, { agent: "agent1", body: body[RAW] ?? body });
    const got = await gws(base, "GET", created.path, { agent: "agent1" });
    assert.equal(got.status, 200);
    const key = RESOURCE_KEYS[media].find((k) => k in got.body);
    assert.ok(key, `GET ${created.path} has the ${media} resource: ${got.text}`);
    const resource = got.body[key];
    // Absent and {} both mean "nothing attached", except right after a voice DeleteUserData,
    // where the documentation fixes the absence of the property.
    const documentedAbsence = media === "voice" && body.operationName === "DeleteUserData" && r.body?.statusCode === 0;
    let userData = "userData" in resource ? resource.userData : "(absent)";
    if (!documentedAbsence && userData === "(absent)") userData = {};
    out.push({
      request: body[RAW] ?? body,
      status: r.status,
      statusCode: exact ? r.body?.statusCode : r.body?.statusCode !== 0,
      hasStatusMessage: r.status === 200 || typeof r.body?.statusMessage === "string",
      referenceIdInResponse: r.body?.statusCode === 0 ? Number.isInteger(r.body?.referenceId) : undefined,
      userData,
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
    anonymous: [anonymous.status, anonymous.body?.statusCode],
    wrongPassword: [wrong.status, wrong.body?.statusCode],
  });
  return out;
}

/** A cookie-keeping agent: GET /api/v2/me, then requests in that session. */
async function csrfSession(base, agent = "agent1") {
  const me = await gws(base, "GET", "/api/v2/me", { agent });
  const cookie = (me.headers.get("set-cookie") ?? "").split(";")[0];
  const header = me.headers.get("x-csrf-header");
  const token = me.headers.get("x-csrf-token");
  const request = async (method, path, body, { sendToken = true, tokenValue = token } = {}) => {
    const headers = { authorization: basicAuth(agent), cookie, "content-type": "application/json" };
    if (sendToken && header) headers[header] = tokenValue;
    const r = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    return { status: r.status, text };
  };
  return { cookie, header, token, request };
}

/** What a CSRF-protected server answers to the documented flow and its violations. */
async function csrfTrace(base) {
  const s = await csrfSession(base);
  const other = await csrfSession(base);
  // The fixture contract is not protected (it is not part of the GWS API).
  const created = await createInteraction(base, "agent1", "chat", { Seed: "value" });
  const body = { operationName: "UpdateUserData", userData: { A: "1" } };
  const withToken = await s.request("POST", created.path, body);
  const without = await s.request("POST", created.path, body, { sendToken: false });
  const foreignToken = await s.request("POST", created.path, body, { tokenValue: other.token });
  const noCookie = await gws(base, "POST", created.path, { body });
  const after = await gws(base, "GET", created.path);
  return {
    announced: [s.header, typeof s.token === "string" && s.token.length > 0, s.cookie.startsWith("JSESSIONID=")],
    distinctTokens: s.token !== other.token,
    withToken: withToken.status,
    without: [without.status, without.text],
    foreignToken: [foreignToken.status, foreignToken.text],
    noCookie: [noCookie.status, noCookie.text],
    userData: after.body.chat.userData,
  };
}

// What a client learns from the documentation about each media's notification.
const DOCUMENTED = {
  voice: ["/v2/me/calls", "CallStateChangeMessage", "AttachedDataChanged", "call"],
  chat: ["/v2/me/chats", "ChatStateChangeMessage", "PropertiesUpdated", "chat"],
  sms: ["/v2/me/smsessions", "SMSsessionStateChangeMessage", "PropertiesUpdated", "smsession"],
  email: ["/v2/me/emails", "EmailStateChangeMessage", "PropertiesUpdated", "email"],
  openmedia: ["/v2/me/openmedia", "OpenmediaStateChangeMessage", "PropertiesUpdated", "openmedia"],
  workitem: ["/v2/me/workitems", "WorkitemStateChangeMessage", "PropertiesUpdated", "workitem"],
  im: ["/v2/me/im-sessions", "IMSessionStateChangeMessage", "AttachedDataChanged", "imSession"],
  "facebook-pm": ["/v2/me/facebooksession", "FacebooksessionStateChangeMessage", "PropertiesUpdated", "facebooksession"],
  twitter: ["/v2/me/twitter", "TwitterStateChangeMessage", "PropertiesUpdated", "twitter"],
};

describe("third-party Bayeux clients receive every media from the stand-ins", () => {
  const clients = {
    // Configured like the documented GWS JavaScript client: CometD's default URLs.
    "CometD (default URLs)": (base) => cometdClient(base, "agent1", "agent1-pass", { appendMessageTypeToURL: true }),
    Faye: (base) => CLIENTS.Faye(base, "agent1", "agent1-pass"),
  };
  for (const kind of Object.keys(STANDINS)) {
    for (const [clientName, makeClient] of Object.entries(clients)) {
      test(`${clientName} client, ${STANDINS[kind].title}`, async () => {
        const standIn = await startStandIn(kind);
        const client = makeClient(standIn.url);
        try {
          await client.start();
          let lastReferenceId = -Infinity;
          for (const media of MEDIA) {
            const [channel, messageType, notificationType, key] = DOCUMENTED[media];
            const created = await createInteraction(standIn.url, "agent1", media, { Seed: "value" });
            const response = await operate(standIn.url, "agent1", created.path, { operationName: "UpdateUserData", userData: { K: 1 } });
            const m = await client.messages.waitFor((x) => interactionId(x.data) === created.id, `the ${media} notification`);
            assert.equal(m.channel, channel);
            assert.equal(m.data.messageType, messageType);
            assert.equal(m.data.notificationType, notificationType);
            assert.deepEqual(m.data[key].userData, { Seed: "value", K: 1 });
            if ("referenceId" in m.data) {
              assert.ok(m.data.referenceId > lastReferenceId, "referenceIds increase");
              lastReferenceId = m.data.referenceId;
            }
            if ("referenceId" in response) assert.equal(response.referenceId, m.data.referenceId);
          }
          const call = await createInteraction(standIn.url, "agent1", "voice", { A: "1" });
          await operate(standIn.url, "agent1", call.path, { operationName: "DeleteUserData" });
          const deleted = await client.messages.waitFor((x) => interactionId(x.data) === call.id, "the voice DeleteUserData notification");
          assert.ok(!("userData" in deleted.data.call), "no userData after voice DeleteUserData");
        } finally {
          // A clean /meta/disconnect while the server is still there, so no client retries on.
          await client.disconnect().catch(() => client.abort());
          await standIn.stop();
        }
      });
    }
  }
});

describe("the stand-ins answer like the reference server", () => {
  let reference;
  let referenceCsrf;
  const expected = {};
  let expectedCsrf;

  before(async () => {
    reference = await startReferenceServer();
    referenceCsrf = await startReferenceServer({ args: ["--csrf"] });
    for (const media of MEDIA) expected[media] = await trace(reference.url, media);
    expectedCsrf = await csrfTrace(referenceCsrf.url);
  });
  after(async () => {
    await reference?.stop();
    await referenceCsrf?.stop();
  });

  for (const kind of Object.keys(STANDINS)) {
    test(`${STANDINS[kind].title}: same answers and same userData as the reference server, every media`, async () => {
      const standIn = await startStandIn(kind);
      try {
        for (const media of MEDIA) {
          assert.deepEqual(await trace(standIn.url, media), expected[media], `${media} differs from the reference server`);
        }

        const features = await gws(standIn.url, "GET", "/api/v2/features?fields=*");
        assert.deepEqual(features.body.features.map((f) => f.id).sort(), ["api-multimedia", "api-voice", "api-voice-instant-messaging"]);
        // Without fields=*, the documented default for a collection: a list of URIs.
        const uris = await gws(standIn.url, "GET", "/api/v2/features");
        assert.deepEqual(uris.body.uris.map((u) => u.split("/").pop()).sort(), ["api-multimedia", "api-voice", "api-voice-instant-messaging"]);
        const me = await gws(standIn.url, "GET", "/api/v2/me", { agent: "agent2" });
        assert.equal(me.body.user.userName, "agent2");
        const denied = await gws(standIn.url, "GET", "/api/v2/me", { auth: null });
        assert.equal(denied.status, 401);
        assert.deepEqual(denied.body, { statusCode: 20, statusMessage: "User is not authenticated" });
        const chat = await createInteraction(standIn.url, "agent1", "chat");
        assert.equal((await gws(standIn.url, "DELETE", `/conformance/v1/interactions/${chat.id}`, { agent: "agent2" })).status, 404);
        assert.equal((await gws(standIn.url, "DELETE", `/conformance/v1/interactions/${chat.id}`)).status, 204);
        assert.equal((await gws(standIn.url, "GET", chat.path)).status, 404);
        // Both SMS spellings of the documentation reach the same session.
        const sms = await createInteraction(standIn.url, "agent1", "sms", { K: "v" });
        for (const c of ["smsessions", "smssessions"]) {
          const got = await gws(standIn.url, "GET", `/api/v2/me/${c}/${sms.id}`);
          assert.equal(got.status, 200, `${c}: ${got.text}`);
          assert.deepEqual(got.body.smsession.userData, { K: "v" });
        }

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

    test(`${STANDINS[kind].title}: offers only the media it is told to`, async () => {
      const standIn = await startStandIn(kind, { offer: ["voice", "chat"] });
      try {
        const sms = await gws(standIn.url, "POST", "/conformance/v1/interactions", { body: { media: "sms" } });
        assert.equal(sms.status, 404);
        const features = await gws(standIn.url, "GET", "/api/v2/features?fields=*");
        assert.deepEqual(features.body.features.map((f) => f.id).sort(), ["api-multimedia", "api-voice"]);
        await createInteraction(standIn.url, "agent1", "voice");
      } finally {
        await standIn.stop();
      }
    });

    test(`${STANDINS[kind].title}: CSRF protection answers like the reference server's`, async () => {
      const standIn = await startStandIn(kind, { csrf: true });
      try {
        assert.deepEqual(await csrfTrace(standIn.url), expectedCsrf);
        assert.deepEqual(expectedCsrf.without, [403, "Missing or invalid Csrf token"]);
        // A choice of the stand-ins: the Bayeux endpoint is protected too (the reference server
        // leaves it open); the harness sends the token on every Bayeux request.
        const anonymousBayeux = await gws(standIn.url, "POST", "/api/v2/notifications", {
          body: [{ channel: "/meta/handshake", version: "1.0", supportedConnectionTypes: ["long-polling"], id: "1" }],
        });
        assert.equal(anonymousBayeux.status, 403);
        const s = await csrfSession(standIn.url);
        const hs = await s.request("POST", "/api/v2/notifications", [
          { channel: "/meta/handshake", version: "1.0", supportedConnectionTypes: ["long-polling"], id: "1" },
        ]);
        assert.equal(hs.status, 200, hs.text);
        assert.equal(JSON.parse(hs.text)[0].successful, true, hs.text);
      } finally {
        await standIn.stop();
      }
    });
  }
});
