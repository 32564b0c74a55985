// Part A: a third-party Bayeux client against our reference server (`gws-conformance serve`).
// One suite, instantiated per client library by test/cometd-client.test.js and
// test/faye-client.test.js. Every wait is on an event with a deadline.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { CLIENTS } from "./clients.js";
import { startReferenceServer } from "./reference-server.js";
import { AGENTS, bayeuxRaw, createInteraction, gws, interactionId, operate } from "./util.js";

const forId = (id) => (m) => interactionId(m.data) === id;

export function clientSuite(kind) {
  const makeClient = CLIENTS[kind];
  const client = (base, agent) => makeClient(base, agent, AGENTS[agent]);

  describe(`${kind} client against the reference server`, () => {
    let server;
    const open = [];
    const track = (c) => (open.push(c), c);

    before(async () => {
      server = await startReferenceServer();
    });
    after(async () => {
      for (const c of open) c.abort();
      await server?.stop();
    });

    test("receives chat and voice notifications of its own agent, then disconnects cleanly", async () => {
      const base = server.url;
      const me = await gws(base, "GET", "/api/v2/me", { agent: "agent1" });
      assert.equal(me.status, 200);
      assert.match(me.headers.get("set-cookie") ?? "", /JSESSIONID=/, "GET /api/v2/me sets the session cookie");

      const c = track(client(base, "agent1"));
      const clientId = await c.start();
      assert.equal(typeof clientId, "string");
      assert.ok(clientId.length > 0);

      // Chat: UpdateUserData then AttachUserData, each notified on /v2/me/chats.
      const chat = await createInteraction(base, "agent1", "chat", { A: "1" });
      assert.match(chat.path, /^\/api\/v2\/me\/chats\//);
      await operate(base, "agent1", chat.path, { operationName: "UpdateUserData", userData: { B: "2" } });
      const first = await c.messages.waitFor(forId(chat.id), `the chat UpdateUserData notification`);
      assert.equal(first.channel, "/v2/me/chats");
      assert.equal(first.data.notificationType, "PropertiesUpdated");
      assert.equal(first.data.messageType, "ChatStateChangeMessage");
      assert.ok(Number.isInteger(first.data.referenceId), "referenceId is an integer");
      assert.deepEqual(first.data.chat.userData, { A: "1", B: "2" });

      await operate(base, "agent1", chat.path, { operationName: "AttachUserData", userData: { C: 3 } });
      const second = await c.messages.waitFor(
        (m) => forId(chat.id)(m) && m.data.chat.userData.C === 3,
        "the chat AttachUserData notification",
      );
      assert.ok(second.data.referenceId > first.data.referenceId, "referenceId increases per agent");
      assert.deepEqual(second.data.chat.userData, { A: "1", B: "2", C: 3 });

      // Voice: AttachUserData then DeleteUserData, notified on /v2/me/calls.
      const call = await createInteraction(base, "agent1", "voice");
      assert.match(call.path, /^\/api\/v2\/me\/calls\//);
      await operate(base, "agent1", call.path, { operationName: "AttachUserData", userData: { AccountNumber: "12345" } });
      const attached = await c.messages.waitFor(forId(call.id), "the voice AttachUserData notification");
      assert.equal(attached.channel, "/v2/me/calls");
      assert.equal(attached.data.notificationType, "AttachedDataChanged");
      assert.equal(attached.data.messageType, "CallStateChangeMessage");
      assert.deepEqual(attached.data.call.userData, { AccountNumber: "12345" });

      await operate(base, "agent1", call.path, { operationName: "DeleteUserData" });
      const deleted = await c.messages.waitFor(
        (m) => forId(call.id)(m) && !("userData" in m.data.call),
        "the voice DeleteUserData notification (call without userData)",
      );
      assert.equal(deleted.channel, "/v2/me/calls");

      // Exactly the four notifications, in the order of the operations.
      assert.deepEqual(
        c.messages.items.map((m) => [m.channel, interactionId(m.data)]),
        [
          ["/v2/me/chats", chat.id],
          ["/v2/me/chats", chat.id],
          ["/v2/me/calls", call.id],
          ["/v2/me/calls", call.id],
        ],
      );

      const bye = await c.disconnect();
      assert.equal(bye.successful, true, `disconnect reply: ${JSON.stringify(bye)}`);
      // The server forgot the client: its id is now unknown.
      const [reply] = await bayeuxRaw(base, "agent1", [
        { channel: "/meta/connect", clientId, connectionType: "long-polling", id: "probe" },
      ]);
      assert.equal(reply.successful, false);
      assert.match(reply.error, /^402:/);
      assert.equal(reply.advice?.reconnect, "handshake");
    });

    test("a second agent's client receives none of the first agent's notifications", async () => {
      const base = server.url;
      const c1 = track(client(base, "agent1"));
      const c2 = track(client(base, "agent2"));
      await Promise.all([c1.start(), c2.start()]);
      const chat1 = await createInteraction(base, "agent1", "chat");
      const call1 = await createInteraction(base, "agent1", "voice");
      const chat2 = await createInteraction(base, "agent2", "chat");

      // agent1's operations, each seen by agent1.
      await operate(base, "agent1", chat1.path, { operationName: "UpdateUserData", userData: { Secret: "1" } });
      await operate(base, "agent1", call1.path, { operationName: "AttachUserData", userData: { Secret: "2" } });
      await c1.messages.waitFor(forId(chat1.id), "agent1's chat notification");
      await c1.messages.waitFor(forId(call1.id), "agent1's call notification");

      // Barrier on agent2's stream: an operation on agent2's own interaction, sent after
      // agent1's operations completed. Delivery is in order, so once agent2 has THIS
      // notification, anything of agent1's that leaked would have arrived before it.
      await operate(base, "agent2", chat2.path, { operationName: "UpdateUserData", userData: { Mine: "yes" } });
      await c2.messages.waitFor(forId(chat2.id), "agent2's own (barrier) notification");
      assert.deepEqual(
        c2.messages.items.map((m) => interactionId(m.data)),
        [chat2.id],
        "agent2 received exactly its own notification",
      );

      // And the other way round: a barrier on agent1's stream after agent2's operation.
      await operate(base, "agent1", chat1.path, { operationName: "UpdateUserData", userData: { Barrier: "1" } });
      await c1.messages.waitFor((m) => forId(chat1.id)(m) && m.data.chat.userData.Barrier === "1", "agent1's barrier");
      assert.deepEqual(
        c1.messages.items.map((m) => interactionId(m.data)),
        [chat1.id, call1.id, chat1.id],
        "agent1 received exactly its own three notifications",
      );

      for (const c of [c1, c2]) assert.equal((await c.disconnect()).successful, true);
    });

    test("re-handshakes when the server ends its session (402 on the pending poll) and receives again", async () => {
      const base = server.url;
      const c = track(client(base, "agent1"));
      const oldId = await c.start();

      // Another connection of the same agent ends the session server-side; the client's
      // pending /meta/connect is answered 402::Unknown client with reconnect=handshake.
      const [ended] = await bayeuxRaw(base, "agent1", [{ channel: "/meta/disconnect", clientId: oldId, id: "kick" }]);
      assert.equal(ended.successful, true, `server-side disconnect: ${JSON.stringify(ended)}`);

      const refused = await c.meta.waitFor(
        (m) => m.channel === "/meta/connect" && m.successful === false,
        "the refused /meta/connect",
      );
      assert.match(refused.error, /^402:/);
      assert.equal(refused.advice?.reconnect, "handshake");
      const rehandshake = await c.meta.waitFor(
        (m) => m.channel === "/meta/handshake" && m.successful === true,
        "a successful handshake after the refusal",
        { since: c.meta.indexOf(refused) + 1 },
      );
      assert.notEqual(rehandshake.clientId, oldId, "the server issued a new client id");
      await c.waitSubscribed(rehandshake.clientId);

      const chat = await createInteraction(base, "agent1", "chat");
      await operate(base, "agent1", chat.path, { operationName: "AttachUserData", userData: { After: "kick" } });
      const m = await c.messages.waitFor(forId(chat.id), "a notification after the re-handshake");
      assert.equal(m.channel, "/v2/me/chats");
      assert.deepEqual(m.data.chat.userData, { After: "kick" });
      assert.equal((await c.disconnect()).successful, true);
    });

    if (kind === "CometD") {
      // Configured like the documented GWS JavaScript client (shared/gws-api.md §3): only the
      // URL, websocket and callback-polling unregistered, and CometD's default
      // appendMessageTypeToURL, so meta messages go to {url}/handshake, {url}/connect, … and
      // the rest to {url}/. GWS (CometD 3) and Faye accept these URLs. See README, S1.
      test("configured like the documented GWS client (meta messages to /api/v2/notifications/handshake, …) it handshakes and receives", async () => {
        const base = server.url;
        const c = track(makeClient(base, "agent1", AGENTS.agent1, { appendMessageTypeToURL: true }));
        await c.start();
        const chat = await createInteraction(base, "agent1", "chat");
        await operate(base, "agent1", chat.path, { operationName: "UpdateUserData", userData: { Default: "config" } });
        const m = await c.messages.waitFor(forId(chat.id), "a notification to the default-configured client");
        assert.equal(m.channel, "/v2/me/chats");
        assert.deepEqual(m.data.chat.userData, { Default: "config" });
        assert.equal((await c.disconnect()).successful, true);
      });
    }

    test("re-handshakes after the server restarted and forgot every client, and receives again", async () => {
      // A second server process of its own, with short polls, restarted on the same port.
      let own = await startReferenceServer({ args: ["--long-poll", "1s"] });
      const port = own.port;
      const c = track(client(own.url, "agent1"));
      try {
        await c.start();
        const before = await createInteraction(own.url, "agent1", "voice");
        await operate(own.url, "agent1", before.path, { operationName: "AttachUserData", userData: { Run: "1" } });
        await c.messages.waitFor(forId(before.id), "a notification before the restart");

        await own.stop();
        own = await startReferenceServer({ port, args: ["--long-poll", "1s"] });

        const refused = await c.meta.waitFor(
          (m) => m.channel === "/meta/connect" && m.successful === false && /^402:/.test(m.error ?? ""),
          "the restarted server's 402::Unknown client",
        );
        assert.equal(refused.advice?.reconnect, "handshake");
        // (The restarted server may hand out the same id again: README, S4.)
        const rehandshake = await c.meta.waitFor(
          (m) => m.channel === "/meta/handshake" && m.successful === true,
          "a successful handshake with the restarted server",
          { since: c.meta.indexOf(refused) + 1 },
        );
        await c.waitSubscribed(rehandshake.clientId);

        // Interaction ids restart too, so look only at what arrives from now on.
        const since = c.messages.items.length;
        const call = await createInteraction(own.url, "agent1", "voice");
        await operate(own.url, "agent1", call.path, { operationName: "AttachUserData", userData: { Run: "2" } });
        const m = await c.messages.waitFor(forId(call.id), "a notification from the restarted server", { since });
        assert.equal(m.channel, "/v2/me/calls");
        assert.deepEqual(m.data.call.userData, { Run: "2" });
        assert.equal((await c.disconnect()).successful, true);
      } finally {
        c.abort();
        await own.stop();
      }
    });
  });
}
