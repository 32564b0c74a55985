// Native provisioning on the stand-ins: with `fixtures: false` a stand-in is a stock GWS, and
// interactions only come from the documented operations (StartContactCenterSession, Ready,
// Dial, Create) and end with Hangup / Cancel / Complete. Driven over HTTP, with a real Bayeux
// client per agent (the official CometD client on the cometd-nodejs-server stand-in, Faye's
// client on the Faye one), for both stand-ins.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startStandIn, STANDINS } from "../standins/index.js";
import { cometdClient, fayeClient } from "../lib/clients.js";
import { AGENTS, basicAuth, createInteraction, gws, listedInteractions } from "../lib/util.js";

const CLIENT_FOR = { cometd: cometdClient, faye: fayeClient };
const CHANNELS = ["voice", "email", "workitem", "twitter", "promotion"];
const QUEUE_URI = (base) => `${base}/api/v2/queues/8a3c0f`;
const EMAIL_COMPOSING = ["Cancel", "Send", "AddComment", "AttachUserData", "UpdateUserData", "DeleteUserData", "SetDisposition", "SetInFocus", "Transfer"];
const MULTIMEDIA_USER_DATA = ["AttachUserData", "UpdateUserData", "DeleteUserData"];

/**
 * A refusal: that statusCode (or any non-zero one) and a message; HTTP 200, the stand-ins'
 * choice for GWS errors (interop/README.md, "Independent choices": the documentation pairs no
 * HTTP status with these codes).
 */
function assertRefused(r, statusCode, what) {
  const text = `${what}: HTTP ${r.status} ${r.text}`;
  assert.equal(r.status, 200, text);
  if (statusCode === undefined) assert.ok(Number.isInteger(r.body?.statusCode) && r.body.statusCode !== 0, text);
  else assert.equal(r.body?.statusCode, statusCode, text);
  assert.equal(typeof r.body?.statusMessage, "string", text);
}

/** An unknown (or another agent's) resource: statusCode 6, HTTP 200 (the stand-ins' choice). */
function assertGone(r, what = "") {
  assert.equal(r.status, 200, `${what}: HTTP ${r.status} ${r.text}`);
  assert.equal(r.body?.statusCode, 6, `${what}: ${r.text}`);
}

function assertOk(r, what) {
  assert.equal(r.status, 200, `${what}: HTTP ${r.status} ${r.text}`);
  assert.equal(r.body?.statusCode, 0, `${what}: ${r.text}`);
}

for (const kind of Object.keys(STANDINS)) {
  describe(`${STANDINS[kind].title} without the fixture contract: native provisioning`, () => {
    let standIn;
    let base;
    const clients = {};
    const post = (path, body, agent = "agent1") => gws(base, "POST", path, { agent, body });
    const get = (path, agent = "agent1") => gws(base, "GET", path, { agent });
    const deviceOf = async (agent) => (await get("/api/v2/me?subresources=devices", agent)).body.user.devices[0];
    /** The next notification of agent1 on `channel` whose data matches `predicate`. */
    const next = (channel, predicate, what) =>
      clients.agent1.messages.waitFor((m) => m.channel === channel && predicate(m.data), what);

    before(async () => {
      standIn = await startStandIn(kind, { fixtures: false });
      base = standIn.url;
      for (const agent of ["agent1", "agent2"]) {
        clients[agent] = CLIENT_FOR[kind](base, agent, AGENTS[agent]);
        await clients[agent].start();
      }
    });

    after(async () => {
      for (const c of Object.values(clients)) await c.disconnect().catch(() => c.abort());
      await standIn?.stop();
    });

    test("the fixture contract answers 404, with or without credentials", async () => {
      for (const [method, path, body] of [
        ["POST", "/conformance/v1/interactions", { media: "chat", userData: {} }],
        ["DELETE", "/conformance/v1/interactions/X1", undefined],
        ["GET", "/conformance/v1/interactions", undefined],
      ]) {
        const r = await gws(base, method, path, { body });
        assert.equal(r.status, 404, `${method} ${path}: ${r.status} ${r.text}`);
        assert.equal(r.body?.statusCode, 6);
        const anonymous = await gws(base, method, path, { body, auth: null });
        assert.equal(anonymous.status, 404, `${method} ${path} without credentials: ${anonymous.status}`);
      }
      await assert.rejects(createInteraction(base, "agent1", "voice"), /answered 404/);
    });

    test("every agent has a device of its own: /api/v2/me?subresources=devices|*, /api/v2/me/devices", async () => {
      const plain = await get("/api/v2/me");
      assertOk(plain, "GET /api/v2/me");
      assert.equal(plain.body.user.userName, "agent1");
      assert.ok(!("devices" in plain.body.user), "plain /api/v2/me has no devices");
      const ids = {};
      for (const agent of ["agent1", "agent2"]) {
        for (const query of ["?subresources=devices", "?subresources=*"]) {
          const r = await get(`/api/v2/me${query}`, agent);
          assertOk(r, `GET /api/v2/me${query}`);
          const devices = r.body.user.devices;
          assert.ok(Array.isArray(devices) && devices.length === 1, r.text);
          const [d] = devices;
          assert.equal(typeof d.id, "string");
          assert.equal(d.deviceState, "Active");
          assert.equal(typeof d.phoneNumber, "string");
          assert.equal(d.userState?.state, "NotReady");
          ids[agent] = d.id;
        }
        const uris = await get("/api/v2/me/devices", agent);
        assertOk(uris, "GET /api/v2/me/devices");
        assert.deepEqual(uris.body.uris.length, 1);
        assert.ok(uris.body.uris[0].endsWith(`/${ids[agent]}`), uris.text);
        const full = await get("/api/v2/me/devices?fields=*", agent);
        assertOk(full, "GET /api/v2/me/devices?fields=*");
        assert.deepEqual(full.body.devices.map((d) => d.id), [ids[agent]]);
      }
      assert.notEqual(ids.agent1, ids.agent2, "devices are per agent");
    });

    test("before StartContactCenterSession, Dial and Create are refused and create nothing", async () => {
      const device = await deviceOf("agent1");
      const dial = await post(`/api/v2/me/devices/${device.id}/calls`, { operationName: "Dial", destination: { phoneNumber: "15002" } });
      assertRefused(dial, undefined, "Dial without a session");
      const email = await post("/api/v2/me/emails", { operationName: "Create", queueUri: QUEUE_URI(base) });
      assertRefused(email, undefined, "email Create without a session");
      const ready = await post("/api/v2/me/channels/voice", { operationName: "Ready" });
      assertRefused(ready, undefined, "Ready without a session");
      assert.deepEqual(await listedInteractions(base, "agent1", { openmediaTypes: ["promotion"] }), {});
    });

    test("StartContactCenterSession: parameters checked, idempotent", async () => {
      assertRefused(await post("/api/v2/me", { operationName: "StartContactCenterSession" }), 1, "no channels");
      assertRefused(await post("/api/v2/me", { operationName: "StartContactCenterSession", channels: "voice" }), 1, "channels a string");
      assertRefused(await post("/api/v2/me", { operationName: "StartContactCenterSession", channels: ["voice", 7] }), 1, "channels with a number");
      assertRefused(await post("/api/v2/me", { channels: ["voice"] }), 1, "no operationName");
      assertRefused(await post("/api/v2/me", { operationName: "Sleep" }), 2, "unknown operation");
      for (let n = 0; n < 2; n += 1) {
        const r = await post("/api/v2/me", { operationName: "StartContactCenterSession", channels: CHANNELS });
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.body, { statusCode: 0 }, `start #${n + 1}`);
      }
    });

    test("Ready on voice: statusCode 0 and a DeviceStateChangeMessage on /v2/me/devices", async () => {
      const since = clients.agent1.messages.items.length;
      assertRefused(await post("/api/v2/me/channels/voice", { operationName: "NotReadyForEver" }), 2, "another operation");
      assertRefused(await post("/api/v2/me/channels/voice", {}), 1, "no operationName");
      const r = await post("/api/v2/me/channels/voice", { operationName: "Ready" });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.body, { statusCode: 0 });
      const device = await deviceOf("agent1");
      const m = await clients.agent1.messages.waitFor(
        (x) => x.channel === "/v2/me/devices" && x.data?.messageType === "DeviceStateChangeMessage",
        "the DeviceStateChangeMessage",
        { since },
      );
      assert.equal(m.data.devices.length, 1);
      assert.equal(m.data.devices[0].id, device.id);
      assert.equal(m.data.devices[0].userState.state, "Ready");
      assert.equal(device.userState.state, "Ready", "GET shows the device Ready");
      assertOk(await post("/api/v2/me/channels/email", { operationName: "Ready" }), "Ready on email");
      assertRefused(await post("/api/v2/me/channels/chat", { operationName: "Ready" }), undefined, "Ready on a channel outside the session");
    });

    test("Dial: parameters checked; the call arrives Dialing with the sent userData; user data works; Hangup removes it", async () => {
      const device = await deviceOf("agent1");
      const other = await deviceOf("agent2");
      const dialPath = `/api/v2/me/devices/${device.id}/calls`;
      assertRefused(await post(dialPath, { operationName: "Dial" }), 1, "no destination");
      assertRefused(await post(dialPath, { operationName: "Dial", destination: {} }), 1, "no phoneNumber");
      assertRefused(await post(dialPath, { operationName: "Dial", destination: { phoneNumber: "15002" }, userData: "A=1" }), 1, "userData a string");
      assertRefused(await post(dialPath, { operationName: "MakeCall", destination: { phoneNumber: "15002" } }), 2, "another operation");
      for (const id of [other.id, "NO-SUCH-DEVICE"]) {
        const r = await post(`/api/v2/me/devices/${id}/calls`, { operationName: "Dial", destination: { phoneNumber: "15002" } });
        assert.equal(r.status, 200, r.text);
        assert.ok([5, 6].includes(r.body?.statusCode), r.text);
      }
      assert.deepEqual((await get("/api/v2/me/calls")).body.uris, [], "refused dials created nothing");

      const marker = `dial-${kind}-${Date.now()}`;
      const userData = { Marker: marker, AccountNumber: "5551234", Priority: 3, Nested: { a: [1, "b"] } };
      const since = clients.agent1.messages.items.length;
      const r = await post(dialPath, { operationName: "Dial", destination: { phoneNumber: "15002" }, userData });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.body, { statusCode: 0 }, "the Dial reply has no id");
      const created = await next(
        "/v2/me/calls",
        (d) => d.notificationType === "StatusChange" && d.call?.userData?.Marker === marker,
        "the new call's StatusChange",
      );
      const call = created.data.call;
      assert.equal(created.data.messageType, "CallStateChangeMessage");
      assert.equal(call.state, "Dialing");
      assert.deepEqual(call.userData, userData);
      assert.ok(call.dnis === "15002" || JSON.stringify(call.participants).includes("15002"), JSON.stringify(call));
      assert.ok(call.capabilities.includes("Hangup") && call.capabilities.includes("AttachUserData"), JSON.stringify(call.capabilities));

      const path = `/api/v2/me/calls/${call.id}`;
      const listed = await get("/api/v2/me/calls");
      assert.deepEqual(listed.body.uris, [`${base}${path}`]);
      assert.deepEqual((await get("/api/v2/me/calls?fields=*")).body.calls.map((c) => c.id), [call.id]);
      assert.deepEqual((await get("/api/v2/me/calls", "agent2")).body.uris, [], "agent2 does not see agent1's call");
      const read = await get(path);
      assertOk(read, "GET the dialed call");
      assert.equal(read.body.call.state, "Dialing");

      assertOk(await post(path, { operationName: "AttachUserData", userData: { Added: "yes" } }), "AttachUserData");
      const attached = await next("/v2/me/calls", (d) => d.notificationType === "AttachedDataChanged" && d.call?.id === call.id, "AttachedDataChanged");
      assert.deepEqual(attached.data.call.userData, { ...userData, Added: "yes" });
      assert.equal(clients.agent1.messages.indexOf(attached) > clients.agent1.messages.indexOf(created), true);
      const missingData = await post(path, { operationName: "AttachUserData" });
      assert.deepEqual(missingData.body, { statusCode: 0 }, `AttachUserData without userData (refused asynchronously): ${missingData.text}`);
      const missingError = await next("/v2/me/calls", (d) => d.messageType === "ErrorMessage" && d.callId === call.id && d.errorCode === 1, "the ErrorMessage about the missing userData");
      assert.equal(typeof missingError.data.errorMessage, "string");
      const foreign = await post(path, { operationName: "AttachUserData", userData: { X: 1 } }, "agent2");
      assertGone(foreign, "another agent's call");

      // An end operation outside the capabilities changes nothing. The stand-ins refuse voice
      // requests the asynchronous way (the ErrorHandling page): statusCode 0, then an
      // ErrorMessage naming the call.
      const refused = await post(path, { operationName: "Complete" });
      assert.deepEqual([refused.status, refused.body], [200, { statusCode: 0 }], `Complete on a call: ${refused.text}`);
      const error = await next("/v2/me/calls", (d) => d.messageType === "ErrorMessage" && d.callId === call.id && d.errorCode === 2, "the ErrorMessage about the Complete");
      assert.equal(error.data.errorCode, 2);
      assert.equal(typeof error.data.errorMessage, "string");
      assertOk(await get(path), "the call is still there");
      assert.equal((await get(path)).body.call.state, "Dialing");

      assertOk(await post(path, { operationName: "Hangup" }), "Hangup");
      const ended = await next("/v2/me/calls", (d) => d.notificationType === "StatusChange" && d.call?.id === call.id && d !== created.data, "the Released StatusChange");
      assert.equal(ended.data.call.state, "Released");
      assertGone(await get(path), "the released call");
      assert.deepEqual((await get("/api/v2/me/calls")).body.uris, []);
      assert.deepEqual((await get("/api/v2/me/calls?fields=*")).body.calls, []);
      assertRefused(await post(path, { operationName: "Hangup" }), 6, "Hangup twice");
      assert.ok(clients.agent1.messages.items.slice(since).length >= 3);
    });

    test("email Create: queueUri required; Composing with the documented capabilities and userData; Cancel ends it", async () => {
      assertRefused(await post("/api/v2/me/emails", { operationName: "Create" }), 1, "no queueUri");
      assertRefused(await post("/api/v2/me/emails", { operationName: "Create", queueUri: QUEUE_URI(base), userData: [1] }), 1, "userData an array");
      const marker = `email-${kind}-${Date.now()}`;
      const r = await post("/api/v2/me/emails", { operationName: "Create", queueUri: QUEUE_URI(base), userData: { Marker: marker } });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.body, { statusCode: 0 });
      const created = await next("/v2/me/emails", (d) => d.notificationType === "StatusChange" && d.email?.userData?.Marker === marker, "the new email");
      assert.equal(created.data.messageType, "EmailStateChangeMessage");
      assert.ok(Number.isInteger(created.data.referenceId), JSON.stringify(created.data));
      const email = created.data.email;
      assert.equal(email.state, "Composing");
      assert.deepEqual([...email.capabilities].sort(), [...EMAIL_COMPOSING].sort());
      const path = `/api/v2/me/emails/${email.id}`;
      assert.deepEqual((await get("/api/v2/me/emails")).body.uris, [`${base}${path}`]);

      assertOk(await post(path, { operationName: "UpdateUserData", userData: { Marker: "changed", N: 1 } }), "UpdateUserData");
      const updated = await next("/v2/me/emails", (d) => d.notificationType === "PropertiesUpdated" && d.email?.id === email.id, "PropertiesUpdated");
      assert.deepEqual(updated.data.email.userData, { Marker: "changed", N: 1 });
      assert.ok(updated.data.referenceId > created.data.referenceId);
      assertOk(await post(path, { operationName: "DeleteUserData", keys: ["N"] }), "DeleteUserData");
      assert.deepEqual((await get(path)).body.email.userData, { Marker: "changed" });

      assertRefused(await post(path, { operationName: "Complete" }), 2, "Complete on a composing email");
      assert.equal((await get(path)).body.email.state, "Composing", "nothing changed");
      assertOk(await post(path, { operationName: "Cancel" }), "Cancel");
      const ended = await next("/v2/me/emails", (d) => d.notificationType === "StatusChange" && d.email?.id === email.id && d !== created.data, "the final StatusChange");
      assert.equal(ended.data.email.state, "Cancelled");
      assertGone(await get(path), "the cancelled email");
      assert.deepEqual((await get("/api/v2/me/emails?fields=*")).body.emails, []);
    });

    for (const spec of [
      { media: "openmedia", collection: "/api/v2/me/openmedia/promotion", param: "queueUri", key: "openmedia", messageType: "OpenmediaStateChangeMessage", channel: "/v2/me/openmedia", list: "openmedia" },
      { media: "workitem", collection: "/api/v2/me/workitems", param: "queueUri", key: "workitem", messageType: "WorkitemStateChangeMessage", channel: "/v2/me/workitems", list: "workitems" },
      { media: "twitter", collection: "/api/v2/me/twitter", param: "queuePath", key: "twitter", messageType: "TwitterStateChangeMessage", channel: "/v2/me/twitter", list: "twitter" },
    ]) {
      test(`${spec.media} Create: ${spec.param} required; the reply's referenceId is the notification's; Complete ends it`, async () => {
        const queue = spec.param === "queuePath" ? "/queues/8a3c0f" : QUEUE_URI(base);
        assertRefused(await post(spec.collection, { operationName: "Create" }), 1, `no ${spec.param}`);
        if (spec.param === "queuePath") {
          assertRefused(await post(spec.collection, { operationName: "Create", queueUri: QUEUE_URI(base) }), 1, "queueUri instead of queuePath");
        }
        assertRefused(await post(spec.collection, { operationName: "Send", [spec.param]: queue }), 2, "another operation");
        // userData is not documented for this Create: ignored.
        const r = await post(spec.collection, { operationName: "Create", [spec.param]: queue, userData: { Ignored: "yes" } });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.body?.statusCode, 0);
        assert.ok(Number.isInteger(r.body?.referenceId), r.text);
        assert.deepEqual(Object.keys(r.body).sort(), ["referenceId", "statusCode"]);
        const created = await next(spec.channel, (d) => d.referenceId === r.body.referenceId, `the notification with referenceId ${r.body.referenceId}`);
        assert.equal(created.data.notificationType, "StatusChange");
        assert.equal(created.data.messageType, spec.messageType);
        const resource = created.data[spec.key];
        assert.ok(resource && typeof resource.id === "string", JSON.stringify(created.data));
        assert.deepEqual(resource.userData, {}, "the undocumented userData was ignored");
        assert.ok(resource.capabilities.includes("Complete"), JSON.stringify(resource.capabilities));
        for (const op of MULTIMEDIA_USER_DATA) assert.ok(resource.capabilities.includes(op), `${op} in ${resource.capabilities}`);
        if (spec.media === "openmedia") {
          assert.equal(resource.openmediaType, "Outbound");
          assert.equal(resource.mediaType, "promotion");
        }
        if (spec.media === "twitter") assert.equal(resource.state, "Composing");

        const path = `${spec.collection}/${resource.id}`;
        assert.deepEqual((await get(spec.collection)).body.uris, [`${base}${path}`]);
        assert.deepEqual((await get(`${spec.collection}?fields=*`)).body[spec.list].map((x) => x.id), [resource.id]);
        assert.deepEqual((await get(spec.collection, "agent2")).body.uris, []);
        const attach = await post(path, { operationName: "AttachUserData", userData: { Seed: "value" } });
        assertOk(attach, "AttachUserData");
        const attached = await next(spec.channel, (d) => d.referenceId === attach.body.referenceId, "the AttachUserData notification");
        assert.equal(attached.data.notificationType, "PropertiesUpdated");
        assert.deepEqual(attached.data[spec.key].userData, { Seed: "value" });
        assertRefused(await post(path, { operationName: "DeleteUserData" }), 1, "DeleteUserData without keys");
        assertRefused(await post(path, { operationName: "Hangup" }), 2, "Hangup outside the capabilities");

        const done = await post(path, { operationName: "Complete" });
        assertOk(done, "Complete");
        const ended = await next(spec.channel, (d) => d.referenceId === done.body.referenceId, "the final StatusChange");
        assert.equal(ended.data.notificationType, "StatusChange");
        assert.equal(ended.data[spec.key].state, "Completed");
        assert.deepEqual(ended.data[spec.key].capabilities, []);
        assertGone(await get(path), `the completed ${spec.media}`);
        assert.deepEqual((await get(spec.collection)).body.uris, []);
      });
    }

    test("open media: the session channel is the media type or `openmedia`", async () => {
      // agent1 started "promotion" only.
      assertRefused(await post("/api/v2/me/openmedia/survey", { operationName: "Create", queueUri: QUEUE_URI(base) }), undefined, "survey not in the session");
      assertOk(await post("/api/v2/me", { operationName: "StartContactCenterSession", channels: ["openmedia"] }, "agent2"), "agent2 starts openmedia");
      const r = await post("/api/v2/me/openmedia/survey", { operationName: "Create", queueUri: QUEUE_URI(base) }, "agent2");
      assertOk(r, "agent2 creates a survey");
      const list = await get("/api/v2/me/openmedia/survey?fields=*", "agent2");
      assert.equal(list.body.openmedia.length, 1);
      assert.equal(list.body.openmedia[0].mediaType, "survey");
      assertOk(await post(`/api/v2/me/openmedia/survey/${list.body.openmedia[0].id}`, { operationName: "Complete" }, "agent2"), "Complete");
      assert.deepEqual(await listedInteractions(base, "agent2", { openmediaTypes: ["survey"] }), {});
    });

    test("agent2's client received none of agent1's notifications", async () => {
      const since = clients.agent2.messages.items.length;
      // The barrier: agent2's own Ready notification; everything before it is already there.
      assertOk(await post("/api/v2/me", { operationName: "StartContactCenterSession", channels: ["voice"] }, "agent2"), "agent2 starts voice");
      assertOk(await post("/api/v2/me/channels/voice", { operationName: "Ready" }, "agent2"), "agent2 Ready");
      const agent2Device = await deviceOf("agent2");
      await clients.agent2.messages.waitFor((m) => m.data?.devices?.[0]?.id === agent2Device.id, "agent2's DeviceStateChangeMessage", { since });
      const agent1Device = await deviceOf("agent1");
      // agent2 only ever had its device and its survey.
      const own = (m) =>
        (m.channel === "/v2/me/devices" && m.data.devices.every((d) => d.id === agent2Device.id)) ||
        (m.channel === "/v2/me/openmedia" && m.data.openmedia?.mediaType === "survey");
      const foreign = clients.agent2.messages.items.filter((m) => !own(m) || JSON.stringify(m.data).includes(agent1Device.id));
      assert.deepEqual(foreign, []);
    });

    test("EndContactCenterSession: statusCode 0, then Dial is refused again; nothing is left", async () => {
      const device = await deviceOf("agent1");
      const r = await post("/api/v2/me", { operationName: "EndContactCenterSession" });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.body, { statusCode: 0 });
      assertRefused(await post(`/api/v2/me/devices/${device.id}/calls`, { operationName: "Dial", destination: { phoneNumber: "15002" } }), undefined, "Dial after the session ended");
      assert.equal((await deviceOf("agent1")).userState.state, "NotReady");
      for (const agent of ["agent1", "agent2"]) {
        assert.deepEqual(await listedInteractions(base, agent, { openmediaTypes: ["promotion", "survey"] }), {}, agent);
      }
    });

    test("GET /api/v2/queues/{id} describes any queue", async () => {
      const r = await get("/api/v2/queues/8a3c0f", "agent2");
      assertOk(r, "GET queue");
      assert.equal(r.body.queue.id, "8a3c0f");
      assert.equal(typeof r.body.queue.name, "string");
      assert.equal(r.body.queue.uri, QUEUE_URI(base));
    });
  });

  test(`${STANDINS[kind].title}, CSRF on, no fixtures: the native operations need the session's token`, async () => {
    const standIn = await startStandIn(kind, { csrf: true, fixtures: false });
    try {
      const base = standIn.url;
      const start = { operationName: "StartContactCenterSession", channels: ["voice"] };
      const bare = await gws(base, "POST", "/api/v2/me", { body: start });
      assert.equal(bare.status, 403);
      assert.equal(bare.text, "Missing or invalid Csrf token");
      const me = await gws(base, "GET", "/api/v2/me?subresources=devices");
      const headers = {
        authorization: basicAuth("agent1"),
        cookie: (me.headers.get("set-cookie") ?? "").split(";")[0],
        [me.headers.get("x-csrf-header")]: me.headers.get("x-csrf-token"),
        "content-type": "application/json",
      };
      const send = async (path, body) => {
        const r = await fetch(base + path, { method: "POST", headers, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
        return { status: r.status, body: await r.json() };
      };
      assert.deepEqual(await send("/api/v2/me", start), { status: 200, body: { statusCode: 0 } });
      const device = me.body.user.devices[0].id;
      assert.deepEqual(await send(`/api/v2/me/devices/${device}/calls`, { operationName: "Dial", destination: { phoneNumber: "15002" } }), { status: 200, body: { statusCode: 0 } });
      const [uri] = (await gws(base, "GET", "/api/v2/me/calls")).body.uris;
      assert.deepEqual(await send(new URL(uri).pathname, { operationName: "Hangup" }), { status: 200, body: { statusCode: 0 } });
      // EndContactCenterSession ends the HTTP session too: its token is no longer accepted.
      assert.deepEqual(await send("/api/v2/me", { operationName: "EndContactCenterSession" }), { status: 200, body: { statusCode: 0 } });
      const after = await fetch(base + "/api/v2/me", { method: "POST", headers, body: JSON.stringify(start), signal: AbortSignal.timeout(10_000) });
      assert.equal(after.status, 403);
      await after.text();
    } finally {
      await standIn.stop();
    }
  });

  describe(`${STANDINS[kind].title} without the fixture contract: routed interactions and IM`, () => {
    let standIn;
    let base;
    const clients = {};
    const post = (path, body, agent = "agent1") => gws(base, "POST", path, { agent, body });
    /** The Customer Chat API: no credentials, the ContactCenterId header (`center: null`: none). */
    const customer = async (path, body, { center = standIn.contactCenterId } = {}) => {
      const headers = { "content-type": "application/json", ...(center === null ? {} : { ContactCenterId: center }) };
      const response = await fetch(base + path, { method: "POST", headers, body: JSON.stringify(body) });
      const text = await response.text();
      return { status: response.status, text, body: JSON.parse(text) };
    };
    /** The next notification of `agent` after `since` on `channel` whose data matches. */
    const next = (agent, since, channel, predicate, what) =>
      clients[agent].messages.waitFor((m) => m.channel === channel && predicate(m.data), what, { since });
    const mark = (agent) => clients[agent].messages.items.length;

    before(async () => {
      standIn = await startStandIn(kind, { fixtures: false, inbound: { sms: 2 } });
      base = standIn.url;
      for (const agent of ["agent1", "agent2"]) {
        clients[agent] = CLIENT_FOR[kind](base, agent, AGENTS[agent]);
        await clients[agent].start();
        assertOk(await post("/api/v2/me", { operationName: "StartContactCenterSession", channels: ["chat", "sms"] }, agent), `start ${agent}`);
      }
    });

    after(async () => {
      for (const c of Object.values(clients)) await c.disconnect().catch(() => c.abort());
      await standIn?.stop();
    });

    test("RequestChat: no agent credentials, the ContactCenterId header, nickname required; the chat waits until an agent is Ready on chat", async () => {
      assertRefused(await customer("/api/v2/chats", { operationName: "RequestChat", nickname: "Ann" }, { center: null }), 1, "no ContactCenterId");
      assertRefused(await customer("/api/v2/chats", { operationName: "RequestChat", nickname: "Ann" }, { center: "other" }), 6, "another contact center");
      assertRefused(await customer("/api/v2/chats", { operationName: "RequestChat" }), 1, "no nickname");
      assertRefused(await customer("/api/v2/chats", { operationName: "SendMessage", nickname: "Ann" }), 2, "another operation");
      assert.equal(standIn.routing().customerChats, 0, "refused requests leave nothing");
      const since = mark("agent1");
      const asked = await customer("/api/v2/chats", { operationName: "RequestChat", nickname: "Ann", subject: "Order", userData: { Order: "A-1" } });
      assertOk(asked, "RequestChat");
      assert.match(asked.body.id, /^[0-9a-f-]{36}$/);
      assert.equal(asked.body.path, `/api/v2/chats/${asked.body.id}`);
      assert.deepEqual(standIn.routing().waiting, { sms: 2, chat: 1 });
      assertOk(await post("/api/v2/me/channels/chat", { operationName: "Ready" }), "Ready on chat");
      const offer = await next("agent1", since, "/v2/me/chats", (d) => d.chat?.state === "Invited", "the chat offered");
      assert.equal(offer.data.notificationType, "StatusChange");
      assert.deepEqual(offer.data.chat.capabilities, ["Accept", "Reject"]);
      assert.deepEqual(offer.data.chat.userData, { Order: "A-1" });
      assert.deepEqual(offer.data.chat.participants.map((p) => [p.type, p.nickname]), [["Customer", "Ann"]]);
      assert.notEqual(offer.data.chat.id, asked.body.id, "the agent-side id is not the customer-side one");
      const path = `/api/v2/me/chats/${offer.data.chat.id}`;
      assertRefused(await post(path, { operationName: "AttachUserData", userData: { K: "v" } }), 2, "user data before Accept");
      assertRefused(await post(path, { operationName: "Accept" }), 1, "Accept without nickname");
      const accepting = mark("agent1");
      assertOk(await post(path, { operationName: "Accept", nickname: "Smith" }), "Accept");
      const accepted = await next("agent1", accepting, "/v2/me/chats", (d) => d.chat?.state === "Chatting", "the accepted chat");
      assert.ok(accepted.data.chat.participants.some((p) => p.type === "Agent" && p.nickname === "Smith"), JSON.stringify(accepted.data));
      assert.ok(accepted.data.chat.capabilities.includes("AttachUserData"));
      assertOk(await post(path, { operationName: "Complete" }), "Complete");
      assertGone(await gws(base, "GET", path), "the completed chat");
      assertOk(await customer(`/api/v2/chats/${asked.body.id}`, { operationName: "Disconnect" }), "the customer's Disconnect");
      assertRefused(await customer(`/api/v2/chats/${asked.body.id}`, { operationName: "Disconnect" }), 6, "a second Disconnect");
      assert.deepEqual(standIn.routing(), { waiting: { sms: 2 }, offered: {}, customerChats: 0, ready: { agent1: ["chat"], agent2: [] } });
    });

    test("Reject: the chat goes back to the queue and is offered to another agent; a customer leaving an offered or accepted chat", async () => {
      const asked = await customer("/api/v2/chats", { operationName: "RequestChat", nickname: "Bob" });
      const offer = await next("agent1", 0, "/v2/me/chats", (d) => d.chat?.state === "Invited" && d.chat.participants[0].nickname === "Bob", "Bob's chat offered");
      const rejecting = mark("agent1");
      assertOk(await post(`/api/v2/me/chats/${offer.data.chat.id}`, { operationName: "Reject" }), "Reject");
      const rejected = await next("agent1", rejecting, "/v2/me/chats", (d) => d.chat?.id === offer.data.chat.id, "the rejection");
      assert.equal(rejected.data.chat.state, "Completed");
      assert.deepEqual(rejected.data.chat.participants, []);
      assert.deepEqual(standIn.routing().waiting, { sms: 2, chat: 1 }, "back in the queue, not offered to agent1 again");
      const since2 = mark("agent2");
      assertOk(await post("/api/v2/me/channels/chat", { operationName: "Ready" }, "agent2"), "agent2 Ready on chat");
      const second = await next("agent2", since2, "/v2/me/chats", (d) => d.chat?.state === "Invited", "Bob's chat offered to agent2");
      const path = `/api/v2/me/chats/${second.data.chat.id}`;
      assertOk(await post(path, { operationName: "Accept", nickname: "Jones" }, "agent2"), "agent2 Accept");
      const leaving = mark("agent2");
      assertOk(await customer(`/api/v2/chats/${asked.body.id}`, { operationName: "Disconnect" }), "Bob leaves");
      const left = await next("agent2", leaving, "/v2/me/chats", (d) => d.notificationType === "ParticipantsUpdated", "the customer gone");
      assert.deepEqual(left.data.chat.participants.map((p) => p.type), ["Agent"]);
      assertOk(await post(path, { operationName: "Leave" }, "agent2"), "agent2 Leave");
      assertGone(await gws(base, "GET", path, { agent: "agent2" }), "the chat agent2 left");
      // A customer leaving a chat still offered withdraws the offer.
      assertOk(await post("/api/v2/me/channels/chat", { operationName: "NotReady" }, "agent2"), "agent2 NotReady on chat");
      const asked3 = await customer("/api/v2/chats", { operationName: "RequestChat", nickname: "Cy" });
      const offer3 = await next("agent1", 0, "/v2/me/chats", (d) => d.chat?.state === "Invited" && d.chat.participants[0].nickname === "Cy", "Cy's chat offered");
      const withdrawing = mark("agent1");
      assertOk(await customer(`/api/v2/chats/${asked3.body.id}`, { operationName: "Disconnect" }), "Cy leaves");
      await next("agent1", withdrawing, "/v2/me/chats", (d) => d.chat?.id === offer3.data.chat.id && d.chat.state === "Revoked", "the offer withdrawn");
      assertGone(await gws(base, "GET", `/api/v2/me/chats/${offer3.data.chat.id}`), "the withdrawn chat");
      assert.deepEqual(standIn.routing().customerChats, 0);
    });

    test("waiting SMS customers: one offered per Ready agent with no SMS open, the next when it ends, none while NotReady", async () => {
      const since = mark("agent1");
      assertOk(await post("/api/v2/me/channels/sms", { operationName: "Ready" }), "Ready on sms");
      const first = await next("agent1", since, "/v2/me/smsessions", (d) => d.smsession?.state === "Invited", "an SMS offered");
      assert.equal(first.data.messageType, "SMSsessionStateChangeMessage");
      assert.ok(Object.keys(first.data.smsession.userData).length > 0, "routing keys");
      assert.deepEqual(standIn.routing().waiting, { sms: 1 }, "the second waits while the first is open");
      const path = `/api/v2/me/smssessions/${first.data.smsession.id}`;
      assertOk(await post(path, { operationName: "Accept", nickname: "Smith" }), "Accept");
      assert.deepEqual(standIn.routing().waiting, { sms: 1 }, "still one SMS open");
      const ending = mark("agent1");
      assertOk(await post(path, { operationName: "Leave" }), "Leave");
      const second = await next("agent1", ending, "/v2/me/smsessions", (d) => d.smsession?.state === "Invited", "the second SMS offered");
      assert.notEqual(second.data.smsession.id, first.data.smsession.id);
      assertOk(await post("/api/v2/me/channels/sms", { operationName: "NotReady" }), "NotReady on sms");
      assertOk(await post(`/api/v2/me/smssessions/${second.data.smsession.id}`, { operationName: "Reject" }), "Reject");
      assert.deepEqual(standIn.routing().waiting, { sms: 1 }, "the rejected customer waits again");
      assertOk(await post("/api/v2/me/channels/sms", { operationName: "Ready" }), "Ready on sms again");
      assert.deepEqual(standIn.routing().offered, {}, "never offered again to the agent that rejected it");
      assert.deepEqual(await listedInteractions(base, "agent1"), {});
    });

    test("InitiateIMSession: the im channel, destination.phoneNumber required, userData kept; Complete ends it", async () => {
      const initiate = { operationName: "InitiateIMSession", destination: { phoneNumber: "16001" }, userData: { Topic: "handover" } };
      assertRefused(await post("/api/v2/me/im-sessions", initiate), 2, "without the im channel");
      assertOk(await post("/api/v2/me", { operationName: "StartContactCenterSession", channels: ["im"] }), "start im");
      assertRefused(await post("/api/v2/me/im-sessions", { operationName: "InitiateIMSession" }), 1, "no destination");
      assertRefused(await post("/api/v2/me/im-sessions", { operationName: "InitiateIMSession", destination: {} }), 1, "no phoneNumber");
      assertRefused(await post("/api/v2/me/im-sessions", { ...initiate, userData: [] }), 2, "userData not an object");
      const since = mark("agent1");
      const r = await post("/api/v2/me/im-sessions", initiate);
      assert.deepEqual(r.body, { statusCode: 0 });
      const made = await next("agent1", since, "/v2/me/im-sessions", (d) => d.notificationType === "StatusChange", "the IM session");
      assert.equal(made.data.messageType, "IMSessionStateChangeMessage");
      assert.equal(made.data.imSession.state, "Talking");
      assert.deepEqual(made.data.imSession.userData, { Topic: "handover" });
      assert.equal(made.data.imSession.participants[0].phoneNumber, "16001");
      const path = `/api/v2/me/im-sessions/${made.data.imSession.id}`;
      assertOk(await post(path, { operationName: "Complete" }), "Complete");
      assertGone(await gws(base, "GET", path), "the completed IM session");
    });
  });

  describe(`${STANDINS[kind].title} with the fixture contract: ending fixture interactions`, () => {
    let standIn;
    before(async () => {
      standIn = await startStandIn(kind);
    });
    after(async () => standIn?.stop());

    test("Complete / Hangup end a fixture interaction whose capabilities list them; others are refused", async () => {
      const base = standIn.url;
      for (const [media, op, collection] of [
        ["voice", "Hangup", "calls"],
        ["chat", "Complete", "chats"],
        ["email", "Complete", "emails"],
        ["workitem", "Complete", "workitems"],
        ["im", "Complete", "im-sessions"],
        ["facebook-pm", "Complete", "facebooksessions"],
        ["twitter", "Complete", "twitter"],
      ]) {
        const created = await createInteraction(base, "agent1", media, { Seed: "v" });
        assert.equal((await gws(base, "GET", `/api/v2/me/${collection}`)).body.uris.length, 1, media);
        const r = await gws(base, "POST", created.path, { body: { operationName: op } });
        assertOk(r, `${op} on a fixture ${media}`);
        assertGone(await gws(base, "GET", created.path), media);
        assert.deepEqual((await gws(base, "GET", `/api/v2/me/${collection}`)).body.uris, [], media);
      }
      const sms = await createInteraction(base, "agent1", "sms", { Seed: "v" });
      assertRefused(await gws(base, "POST", sms.path, { body: { operationName: "Complete" } }), 2, "Complete on SMS (not in its capabilities)");
      assertOk(await gws(base, "GET", sms.path), "the SMS session is still there");
    });
  });
}
