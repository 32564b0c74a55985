// Two third-party Bayeux clients behind one small test interface:
//   - the official CometD JavaScript client (npm `cometd`, run in Node by `cometd-nodejs-client`),
//   - the Faye client (npm `faye`).
// Both use the long-polling transport only and send `Authorization: Basic` on every request.
//
// Interface of what `cometdClient` / `fayeClient` return:
//   start()       handshake, subscribe to /v2/me/*, resolve once the subscription is acknowledged
//   clientId      the current Bayeux client id
//   messages      Mailbox of {channel, data} received on non-meta channels
//   meta          Mailbox of every meta reply ({channel, successful, clientId, error, advice, …})
//   waitSubscribed(clientId)  wait for a successful /meta/subscribe of that client id
//   disconnect()  send /meta/disconnect and resolve with its (successful) reply

import { adapt } from "cometd-nodejs-client";
import { CometD } from "cometd";
import faye from "faye";
import { basicAuth, Mailbox, withDeadline, EVENT_DEADLINE_MS } from "./util.js";

export const SUBSCRIPTION = "/v2/me/*";

// Installs XMLHttpRequest for the CometD library in this process (idempotent enough: the
// adapter only replaces globals).
adapt();

function waitSubscribedIn(meta, clientId) {
  return meta.waitFor(
    (m) => m.channel === "/meta/subscribe" && m.successful === true && m.clientId === clientId,
    `the acknowledgement of the ${SUBSCRIPTION} subscription of client ${clientId}`,
  );
}

/**
 * The official CometD JavaScript client. `appendMessageTypeToURL` is CometD's own default
 * (true: meta messages go to {url}/handshake, {url}/connect, …); the main tests turn it off and
 * one test keeps the default (see lib/client-suite.js).
 */
export function cometdClient(baseUrl, agent, password, { appendMessageTypeToURL = false } = {}) {
  const cometd = new CometD(`interop-${agent}`);
  // Long polling only: no WebSocket, no JSONP callback polling.
  cometd.unregisterTransport("websocket");
  cometd.unregisterTransport("callback-polling");
  // Cookies per client, not shared by every client of this process (the adapter's default).
  cometd.findTransport("long-polling").context = { cookieStore: {} };
  cometd.configure({
    url: `${baseUrl}/api/v2/notifications`,
    requestHeaders: { Authorization: basicAuth(agent, password) },
    logLevel: "warn",
    appendMessageTypeToURL,
    // Retry quickly while a restarted server comes back.
    backoffIncrement: 100,
    maxBackoff: 1000,
  });
  const messages = new Mailbox(`CometD client of ${agent}: messages`);
  const meta = new Mailbox(`CometD client of ${agent}: meta replies`);
  for (const channel of ["/meta/handshake", "/meta/connect", "/meta/subscribe", "/meta/disconnect"]) {
    cometd.addListener(channel, (m) => meta.push({ ...m, clientId: m.clientId ?? cometd.getClientId() }));
  }
  // CometD clears subscriptions on every (re-)handshake; the documented idiom is to subscribe
  // from the /meta/handshake listener, so a re-handshake subscribes again.
  cometd.addListener("/meta/handshake", (m) => {
    if (!m.successful) return;
    cometd.subscribe(SUBSCRIPTION, (msg) => messages.push({ channel: msg.channel, data: msg.data }));
  });
  return {
    name: "CometD",
    agent,
    messages,
    meta,
    get clientId() {
      return cometd.getClientId();
    },
    async start() {
      const handshake = meta.waitFor(
        (m) => m.channel === "/meta/handshake",
        "the /meta/handshake reply",
      );
      cometd.handshake();
      const reply = await handshake;
      if (!reply.successful) {
        const f = reply.failure ?? {};
        throw new Error(
          `CometD handshake failed: HTTP ${f.httpCode ?? "?"} ${f.reason ?? ""} ` +
            `(appendMessageTypeToURL=${appendMessageTypeToURL}): ${JSON.stringify({ ...reply, failure: undefined })}`,
        );
      }
      await waitSubscribedIn(meta, reply.clientId);
      return reply.clientId;
    },
    waitSubscribed(clientId) {
      return waitSubscribedIn(meta, clientId);
    },
    async disconnect() {
      const reply = new Promise((resolve) => cometd.disconnect((m) => resolve(m)));
      return withDeadline(reply, EVENT_DEADLINE_MS, `the /meta/disconnect reply of the CometD client of ${agent}`);
    },
    /** Ends the client if a test left it running (cleanup, failed test or not). */
    abort() {
      if (!cometd.isDisconnected()) cometd.disconnect();
    },
  };
}

/** The Faye client. */
export function fayeClient(baseUrl, agent, password) {
  const client = new faye.Client(`${baseUrl}/api/v2/notifications`, {
    // Seconds between retries after a transport failure (default 5).
    retry: 0.2,
    timeout: 60,
  });
  client.disable("websocket");
  client.disable("eventsource");
  client.setHeader("Authorization", basicAuth(agent, password));
  const messages = new Mailbox(`Faye client of ${agent}: messages`);
  const meta = new Mailbox(`Faye client of ${agent}: meta replies`);
  let clientId;
  // A client extension sees every reply; it records meta replies (Faye has no meta listeners).
  client.addExtension({
    incoming(message, callback) {
      if (message.channel?.startsWith("/meta/")) {
        if (message.channel === "/meta/handshake" && message.successful) clientId = message.clientId;
        meta.push({ ...message, clientId: message.clientId ?? clientId });
      }
      callback(message);
    },
  });
  let subscription;
  return {
    name: "Faye",
    agent,
    messages,
    meta,
    get clientId() {
      return clientId;
    },
    async start() {
      // Faye re-subscribes every channel by itself after a re-handshake.
      subscription = client.subscribe(SUBSCRIPTION).withChannel((channel, data) => messages.push({ channel, data }));
      await withDeadline(
        new Promise((resolve, reject) => subscription.then(resolve, reject)),
        EVENT_DEADLINE_MS,
        `the Faye subscription of ${agent} to ${SUBSCRIPTION}`,
      );
      const ack = await waitSubscribedIn(meta, clientId);
      return ack.clientId;
    },
    waitSubscribed(id) {
      return waitSubscribedIn(meta, id);
    },
    async disconnect() {
      const reply = meta.waitFor((m) => m.channel === "/meta/disconnect", `the /meta/disconnect reply of the Faye client of ${agent}`);
      client.disconnect();
      return reply;
    },
    abort() {
      try {
        client.disconnect();
      } catch {
        // already gone
      }
    },
  };
}

export const CLIENTS = { CometD: cometdClient, Faye: fayeClient };
