// The stand-ins are only useful if they behave like GWS as documented. This test sends the
// same sequence of user-data requests (valid, invalid, and unusual) to the reference server and
// to each stand-in, for every media, and checks each answer against what the documentation
// fixes - not against the reference server's own choices (issue 19):
//   - a request the documentation says succeeds answers statusCode 0 and has exactly the
//     documented effect on the interaction's userData (read back with GET);
//   - a request it says fails answers a non-zero statusCode with a statusMessage and changes
//     nothing; on voice (except a body that is not JSON) it may instead answer statusCode 0 and
//     send an ErrorMessage notification naming the call (the ErrorHandling page), changing nothing;
//   - where the documentation allows a refusal (unusual data, absent keys) either outcome is
//     accepted, but never a success with another effect.
// HTTP statuses are not compared (the documentation pairs none with these codes), nor are the
// statusCodes of refusals beyond being non-zero, nor resource shapes (interop/README.md,
// "Independent choices"); the one shape rule the documentation fixes - a voice call has no
// userData property after DeleteUserData - is checked. It also checks the stand-in-specific
// parts (offered media, features, fixture cleanup, authentication, CSRF, the Bayeux endpoint
// bound to the agent).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startReferenceServer } from "../lib/reference-server.js";
import { startStandIn, STANDINS } from "../standins/index.js";
import { basicAuth, bayeuxRaw, createInteraction, gws, interactionId, operate } from "../lib/util.js";
import { cometdClient, CLIENTS } from "../lib/clients.js";

const RAW = Symbol("raw body");
const MEDIA = ["voice", "chat", "sms", "email", "openmedia", "workitem", "im", "facebook-pm", "twitter"];
const RESPONSE_REFERENCE_ID = ["openmedia", "workitem", "twitter"]; // documented, §1.5, 1.6, 1.9
// How long a voice ErrorMessage may take after its statusCode 0.
const ERROR_MESSAGE_MS = 3000;

// [request body, what the documentation says]: "ok" it succeeds with its effect, "error" it is
// refused, "either" the documented effect or a refusal (unusual data, absent keys).
const COMMON = [
  [{ operationName: "AttachUserData", userData: { A: "1", N: 2, Clé: "v" } }, "ok"],
  [{ operationName: "UpdateUserData", userData: { A: 1, Nested: { B: [1, "x"] } } }, "either"],
  [{ userData: { A: "1" } }, "error"],
  [{ operationName: 7, userData: {} }, "error"],
  [{ operationName: "ReplaceAllUserData", userData: { A: "1" } }, "error"],
  [{ operationName: "AttachUserData" }, "error"],
  [{ operationName: "UpdateUserData", userData: null }, "error"],
  [{ operationName: "UpdateUserData", userData: "A=1" }, "error"],
  [{ operationName: "AttachUserData", userData: ["A", "1"] }, "error"],
  [{ [RAW]: '{"operationName": "UpdateUserData", "userData": {' }, "error"],
  // Unusual data: a conservative back end may refuse it.
  [{ operationName: "AttachUserData", userData: { Ratio: 1.5 } }, "either"],
  [{ operationName: "AttachUserData", userData: { Gone: null } }, "either"],
  [{ operationName: "AttachUserData", userData: { Big: 2 ** 40 } }, "either"],
  [{ operationName: "AttachUserData", userData: { Flag: false, "": "empty key", " Spaced ": "s" } }, "either"],
  [{ operationName: "UpdateUserData", userData: { Deep: { a: { b: { c: { d: { e: "6 levels" } } } } } } }, "either"],
  [{ operationName: "AttachUserData", userData: { Long: "x".repeat(40 * 1024) } }, "either"],
];
const STEPS = Object.fromEntries(
  MEDIA.map((media) => {
    const specific = {
      voice: [
        [{ operationName: "DeleteUserDataPair", key: "Clé" }, "ok"],
        [{ operationName: "DeleteUserDataPair", key: "NotThere" }, "either"],
        [{ operationName: "DeleteUserDataPair" }, "error"],
        [{ operationName: "DeleteUserDataPair", key: 5 }, "error"],
        [{ operationName: "DeleteUserData" }, "ok"],
        [{ operationName: "DeleteUserData" }, "ok"],
        [{ operationName: "AttachUserData", userData: { Again: "yes" } }, "ok"],
        [{ operationName: "Unknown" }, "error"],
        [{ [RAW]: "not json" }, "error"],
      ],
      im: [
        [{ operationName: "DeleteUserData", key: "N" }, "ok"],
        [{ operationName: "DeleteUserData", key: "NotThere" }, "either"],
        [{ operationName: "DeleteUserData" }, "error"],
        [{ operationName: "DeleteUserData", key: ["A"] }, "error"],
        [{ operationName: "DeleteUserData", keys: ["A"] }, "error"],
        [{ operationName: "DeleteUserDataPair", key: "A" }, "error"],
      ],
    }[media] ?? [
      [{ operationName: "DeleteUserData", keys: ["N", "NotThere"] }, "either"],
      [{ operationName: "DeleteUserData", keys: ["Clé", "A"] }, "ok"],
      [{ operationName: "DeleteUserData" }, "error"],
      [{ operationName: "DeleteUserData", keys: "Nested" }, "error"],
      [{ operationName: "DeleteUserData", keys: [1] }, "error"],
      [{ operationName: "DeleteUserData", key: "Nested" }, "error"],
      [{ operationName: "DeleteUserDataPair", key: "Nested" }, "error"],
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

/**
 * The documented effect of a valid request on `userData` (null: no userData property, which
 * only voice DeleteUserData documents): Attach/Update put every pair, DeleteUserData removes the
 * keys (voice: everything), DeleteUserDataPair and IM's DeleteUserData remove the key.
 */
function documentedEffect(media, body, userData) {
  const next = { ...(userData ?? {}) };
  switch (body.operationName) {
    case "AttachUserData":
    case "UpdateUserData":
      return Object.assign(next, body.userData);
    case "DeleteUserData":
      if (media === "voice") return null;
      for (const k of media === "im" ? [body.key] : body.keys) delete next[k];
      return next;
    case "DeleteUserDataPair":
      delete next[body.key];
      return next;
    default:
      throw new Error(`no documented effect for ${JSON.stringify(body)}`);
  }
}

/** JSON text with sorted keys (userData compared without regard to property order). */
const canonical = (v) =>
  Array.isArray(v)
    ? `[${v.map(canonical).join(",")}]`
    : v && typeof v === "object"
      ? `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(",")}}`
      : JSON.stringify(v);
/** Equal userData; absent and {} are equal unless `strict` (right after voice DeleteUserData). */
const sameUserData = (a, b, strict = false) => (strict ? canonical(a) === canonical(b) : canonical(a ?? {}) === canonical(b ?? {}));

/**
 * Runs every step on a fresh interaction of `media` and checks each answer against the
 * documentation (see the top of the file); `messages` is agent1's Bayeux mailbox (for voice
 * ErrorMessages). Resolves with the outcome of every step: "success", "refused" (a non-zero
 * statusCode) or "refused asynchronously".
 */
async function traceDocumented(base, media, messages) {
  const created = await createInteraction(base, "agent1", media, { Seed: "value" });
  const read = async () => {
    const got = await gws(base, "GET", created.path, { agent: "agent1" });
    assert.equal(got.status, 200, `GET ${created.path}: ${got.text}`);
    const key = RESOURCE_KEYS[media].find((k) => k in got.body);
    assert.ok(key, `GET ${created.path} has the ${media} resource: ${got.text}`);
    return "userData" in got.body[key] ? got.body[key].userData : null;
  };
  let model = { Seed: "value" };
  const outcomes = [];
  for (const [body, documented] of STEPS[media]) {
    const raw = body[RAW] !== undefined;
    const what = `${media}: ${(raw ? body[RAW] : JSON.stringify(body)).slice(0, 100)} (${documented})`;
    const since = messages.items.length;
    const r = await gws(base, "POST", created.path, { agent: "agent1", body: raw ? body[RAW] : body });
    const after = await read();
    const code = r.body?.statusCode;
    assert.ok(Number.isInteger(code), `${what}: every answer has a statusCode: HTTP ${r.status} ${r.text}`);
    const effect = documented === "error" ? undefined : documentedEffect(media, body, model);
    const unchanged = sameUserData(after, model);
    let outcome;
    if (code !== 0) {
      assert.notEqual(documented, "ok", `${what}: refused (statusCode ${code}: ${r.body?.statusMessage}) where the documentation says it succeeds`);
      assert.equal(typeof r.body?.statusMessage, "string", `${what}: a refusal carries a statusMessage: ${r.text}`);
      assert.ok(unchanged, `${what}: refused, yet the userData changed: ${JSON.stringify(model)} -> ${JSON.stringify(after)}`);
      outcome = "refused";
    } else if (documented !== "error" && sameUserData(after, effect, media === "voice" && body.operationName === "DeleteUserData")) {
      // Success with the documented effect (for a delete of an absent key that is "no change").
      if (RESPONSE_REFERENCE_ID.includes(media)) assert.ok(Number.isInteger(r.body?.referenceId), `${what}: documented referenceId in ${r.text}`);
      model = effect;
      outcome = "success";
    } else {
      // statusCode 0 without the documented effect: only a voice refusal the asynchronous way.
      assert.ok(
        media === "voice" && !raw && documented !== "ok",
        `${what}: statusCode 0 with another effect than the documented one: ${JSON.stringify(model)} -> ${JSON.stringify(after)}, documented ${JSON.stringify(effect)}`,
      );
      assert.ok(unchanged, `${what}: statusCode 0, no documented effect, and the userData changed: ${JSON.stringify(model)} -> ${JSON.stringify(after)}`);
      const error = await messages.waitFor(
        (m) => m.channel === "/v2/me/calls" && m.data?.messageType === "ErrorMessage" && interactionId(m.data) === created.id,
        `${what}: the ErrorMessage about the call (statusCode 0 and nothing changed)`,
        { since, ms: ERROR_MESSAGE_MS },
      );
      assert.ok(error);
      outcome = "refused asynchronously";
    }
    outcomes.push({ step: what, outcome });
  }
  // Isolation, unknown ids, authentication: refusals (documented codes where there is one).
  const before = await read();
  const other = await gws(base, "POST", created.path, { agent: "agent2", body: { operationName: "UpdateUserData", userData: { Intruder: "1" } } });
  assert.ok(Number.isInteger(other.body?.statusCode) && other.body.statusCode !== 0, `another agent's POST is refused: ${other.text}`);
  assert.equal(typeof other.body?.statusMessage, "string", other.text);
  const otherRead = await gws(base, "GET", created.path, { agent: "agent2" });
  assert.ok(Number.isInteger(otherRead.body?.statusCode) && otherRead.body.statusCode !== 0, `another agent's GET is refused: ${otherRead.text}`);
  assert.ok(!RESOURCE_KEYS[media].some((k) => k in (otherRead.body ?? {})), `another agent's GET discloses nothing: ${otherRead.text}`);
  const unknown = await gws(base, "POST", created.path.replace(/[^/]+$/, "NOSUCHID0001"), {
    agent: "agent1",
    body: { operationName: "UpdateUserData", userData: { A: "1" } },
  });
  assert.ok(Number.isInteger(unknown.body?.statusCode) && unknown.body.statusCode !== 0, `an unknown id is refused synchronously: ${unknown.text}`);
  const anonymous = await gws(base, "POST", created.path, { auth: null, body: { operationName: "UpdateUserData", userData: { A: "1" } } });
  assert.equal(anonymous.body?.statusCode, 20, `no credentials: statusCode 20 (documented): ${anonymous.text}`);
  const wrong = await gws(base, "GET", created.path, { auth: "Basic " + Buffer.from("agent1:nope").toString("base64") });
  assert.equal(wrong.body?.statusCode, 20, `wrong password: statusCode 20: ${wrong.text}`);
  assert.ok(sameUserData(await read(), before), "nobody else changed the interaction");
  return outcomes;
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

/** agent1's CometD client on `base` for the duration of `fn(messages)`. */
async function withAgent1Client(base, fn) {
  const client = cometdClient(base, "agent1", "agent1-pass");
  await client.start();
  try {
    return await fn(client.messages);
  } finally {
    await client.disconnect().catch(() => client.abort());
  }
}

/** Every media's trace against `base`: { media: outcomes }. */
const traceAll = (base) =>
  withAgent1Client(base, async (messages) => {
    const outcomes = {};
    for (const media of MEDIA) outcomes[media] = await traceDocumented(base, media, messages);
    return outcomes;
  });

const count = (outcomes, media, outcome) => outcomes[media].filter((o) => o.outcome === outcome).length;

describe("the stand-ins answer as the documentation says", () => {
  let referenceCsrf;
  let expectedCsrf;

  before(async () => {
    referenceCsrf = await startReferenceServer({ args: ["--csrf"] });
    expectedCsrf = await csrfTrace(referenceCsrf.url);
  });
  after(async () => {
    await referenceCsrf?.stop();
  });

  // The checks themselves, on the reference server: its defaults, and its legal variants
  // (asynchronous voice errors naming the call as an object, refused unusual data and absent keys).
  for (const variants of [[], ["async-voice-errors", "refuse-unusual-data", "refuse-absent-keys"]]) {
    test(`the reference server${variants.length ? ` (${variants.join(", ")})` : ""} answers as documented, every media`, async () => {
      const reference = await startReferenceServer({ args: variants.flatMap((v) => ["--variant", v]) });
      try {
        const outcomes = await traceAll(reference.url);
        if (variants.length) assert.ok(count(outcomes, "voice", "refused asynchronously") > 0, JSON.stringify(outcomes.voice));
      } finally {
        await reference.stop();
      }
    });
  }

  for (const kind of Object.keys(STANDINS)) {
    test(`${STANDINS[kind].title}: answers as documented and keeps userData as documented, every media`, async () => {
      const standIn = await startStandIn(kind);
      try {
        const outcomes = await traceAll(standIn.url);
        // Its own readings were exercised: voice refusals the asynchronous way, refused unusual
        // data and absent keys on some media, accepted (no notification) on others.
        assert.ok(count(outcomes, "voice", "refused asynchronously") >= 10, JSON.stringify(outcomes.voice));
        assert.equal(count(outcomes, "voice", "refused"), 2, `only the two non-JSON bodies are refused synchronously on voice: ${JSON.stringify(outcomes.voice)}`);
        assert.ok(count(outcomes, "chat", "refused") > 0 && count(outcomes, "chat", "success") > 0, JSON.stringify(outcomes.chat));
        const absent = (media) => outcomes[media].find((o) => /NotThere/.test(o.step)).outcome;
        assert.equal(absent("email"), "refused");
        assert.equal(absent("chat"), "success");
        assert.ok(standIn.stats.errorNotifications > 0 && standIn.stats.asyncRefusals > 0, JSON.stringify(standIn.stats));

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
        // Gone: statusCode 6 (HTTP 200, the stand-ins' choice for GWS errors).
        assert.equal((await gws(standIn.url, "GET", chat.path)).body?.statusCode, 6);
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
