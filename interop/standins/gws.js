// A small GWS stand-in: the part of the GWS API v2 the conformance harness uses (Basic auth,
// /api/v2/me, /api/v2/features, chat and voice interactions with the user-data operations, the
// fixture contract) on a Node http server bound to 127.0.0.1, with the Bayeux endpoint
// /api/v2/notifications delegated to a third-party Bayeux server (see cometd.js, faye.js).
//
// It is written from the GWS documentation and mirrors the reference server's resource shapes
// (src/server/media.rs) so that the harness's pinned-shape check applies unchanged.
//
// The Bayeux adapter interface:
//   adapter.handle(req, res, agent)            serve one POST to /api/v2/notifications
//   adapter.publish(agent, channel, data)      deliver to that agent's subscribed clients only;
//                                              resolves once the message is queued
//   adapter.close()
//   adapter.stats                              counters for the tests

import http from "node:http";
import { randomBytes } from "node:crypto";
import { Buffer } from "node:buffer";

export const DEFAULT_AGENTS = { agent1: "agent1-pass", agent2: "agent2-pass" };
const MAX_BODY = 1024 * 1024;

const MEDIA = {
  chat: {
    feature: "api-multimedia",
    collection: "chats",
    resourceKey: "chat",
    channel: "/v2/me/chats",
    capabilities: ["AttachUserData", "UpdateUserData", "DeleteUserData", "Complete"],
    deletes: "keys",
    idPrefix: "0000SC",
  },
  voice: {
    feature: "api-voice",
    collection: "calls",
    resourceKey: "call",
    channel: "/v2/me/calls",
    capabilities: ["AttachUserData", "UpdateUserData", "DeleteUserData", "DeleteUserDataPair", "Hangup"],
    deletes: "all",
    idPrefix: "01SV",
  },
};

const byCollection = Object.fromEntries(Object.entries(MEDIA).map(([name, m]) => [m.collection, name]));

/** Bayeux channel globbing: `*` is one segment, `**` any number. */
export function channelMatches(pattern, channel) {
  if (pattern.endsWith("/**")) return channel.startsWith(pattern.slice(0, -2));
  if (pattern.endsWith("/*")) {
    const prefix = pattern.slice(0, -1);
    return channel.startsWith(prefix) && channel.length > prefix.length && !channel.slice(prefix.length).includes("/");
  }
  return pattern === channel;
}

class HttpError extends Error {
  constructor(status, body) {
    super(JSON.stringify(body));
    this.status = status;
    this.body = body;
  }
}

const gwsError = (status, statusCode, statusMessage) => new HttpError(status, { statusCode, statusMessage });
const missing = (p) => gwsError(400, 1, `missing required parameter '${p}'`);
const invalid = (p, what) => gwsError(400, 2, `parameter '${p}' must be ${what}`);
const notFound = (id) => gwsError(404, 6, `interaction ${id} does not exist`);

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on("data", (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(gwsError(413, 2, "request body too large"));
        req.destroy();
      } else {
        chunks.push(c);
      }
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function parseBasic(header) {
  const m = /^basic\s+(\S+)$/i.exec(header ?? "");
  if (!m) return null;
  const text = Buffer.from(m[1], "base64").toString("utf8");
  const colon = text.indexOf(":");
  return colon < 0 ? null : { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/**
 * Validates a user-data operation body (an already parsed JSON value) for a media type and
 * returns a function that applies it to a userData Map.
 */
function validateOperation(media, body) {
  if (!isObject(body)) throw gwsError(400, 1, "the request body must be a JSON object");
  const name = body.operationName;
  if (name === undefined || name === null) throw missing("operationName");
  if (typeof name !== "string") throw invalid("operationName", "a string");
  if (!media.capabilities.includes(name)) {
    throw gwsError(400, 2, `operation '${name}' is not valid for this interaction`);
  }
  const userData = () => {
    const v = body.userData;
    if (v === undefined || v === null) throw missing("userData");
    if (!isObject(v)) throw invalid("userData", "an object");
    return Object.entries(v);
  };
  switch (name) {
    case "AttachUserData":
    case "UpdateUserData": {
      const entries = userData();
      return (data) => entries.forEach(([k, v]) => data.set(k, v));
    }
    case "DeleteUserData": {
      if (media.deletes === "all") return (data) => data.clear();
      const keys = body.keys;
      if (keys === undefined || keys === null) throw missing("keys");
      if (!Array.isArray(keys) || !keys.every((k) => typeof k === "string")) {
        throw invalid("keys", "an array of strings");
      }
      return (data) => keys.forEach((k) => data.delete(k));
    }
    case "DeleteUserDataPair": {
      const key = body.key;
      if (key === undefined || key === null) throw missing("key");
      if (typeof key !== "string") throw invalid("key", "a string");
      return (data) => data.delete(key);
    }
    default:
      throw gwsError(400, 2, `operation '${name}' is not a user-data operation`);
  }
}

/**
 * Creates (but does not start) a stand-in. `bayeux` is an adapter factory; `start()` listens
 * on 127.0.0.1 and resolves with the base URL.
 */
export function createGwsStandIn({ name, bayeux, agents = DEFAULT_AGENTS, port = 0 }) {
  const interactions = new Map(); // id -> {owner, media, userData: Map, created}
  const referenceIds = new Map(); // agent -> last referenceId
  let base = "";
  const adapter = bayeux();

  function render(id, i) {
    const m = MEDIA[i.media];
    const userData = Object.fromEntries(i.userData);
    if (i.media === "chat") {
      return {
        id,
        state: "Chatting",
        capabilities: m.capabilities,
        uri: `${base}/api/v2/chats/${id}`,
        participants: [
          { nickname: "Customer", type: "Customer", participantId: "00735CE00001" },
          { nickname: "Agent", type: "Agent", participantId: "00735CE00002" },
        ],
        userData,
      };
    }
    const call = {
      id,
      state: "Dialing",
      callUuid: id,
      connId: id.slice(-16).toLowerCase(),
      deviceUri: `${base}/api/v2/devices/9f4e0c52-6d0c-4d39-9b55-000000000001`,
      participants: [{ e164Number: "", formattedPhoneNumber: "15001", phoneNumber: "15001", digits: "15001" }],
      dnis: "15001",
      callType: "Internal",
      capabilities: m.capabilities,
      duration: String(Math.floor((Date.now() - i.created) / 1000)),
      mute: "Off",
      supervisorListeningIn: false,
      monitoredUserMuted: false,
      monitoring: false,
      uri: `${base}/api/v2/me/calls/${id}`,
      path: `/calls/${id}`,
    };
    // A call with nothing attached has no userData property (documented for DeleteUserData).
    if (i.userData.size > 0) call.userData = userData;
    return call;
  }

  function notification(agent, id, i) {
    if (i.media === "chat") {
      const referenceId = (referenceIds.get(agent) ?? 0) + 1;
      referenceIds.set(agent, referenceId);
      return {
        notificationType: "PropertiesUpdated",
        messageType: "ChatStateChangeMessage",
        referenceId,
        chat: render(id, i),
      };
    }
    return {
      notificationType: "AttachedDataChanged",
      call: render(id, i),
      phoneNumber: "15000",
      messageType: "CallStateChangeMessage",
    };
  }

  function ownInteraction(agent, media, id) {
    const i = interactions.get(id);
    if (!i || i.owner !== agent || i.media !== media) throw notFound(id);
    return i;
  }

  async function route(req, agent, path) {
    const method = req.method;
    if (path === "/api/v2/notifications") {
      if (method !== "POST") throw gwsError(405, 2, "the notification endpoint takes POST");
      return { bayeux: true };
    }
    if (path === "/api/v2/me" && method === "GET") {
      return { status: 200, body: { statusCode: 0, user: { userName: agent, roles: ["ROLE_AGENT"], uri: `${base}/api/v2/me` } } };
    }
    if (path === "/api/v2/features" && method === "GET") {
      return { status: 200, body: { statusCode: 0, features: [{ id: "api-multimedia" }, { id: "api-voice" }] } };
    }
    if (path === "/conformance/v1/interactions" && method === "POST") {
      let request;
      try {
        request = JSON.parse(await readBody(req));
      } catch {
        throw gwsError(400, 2, "the body is not JSON");
      }
      if (!isObject(request) || typeof request.media !== "string") throw missing("media");
      const media = request.media;
      if (!Object.hasOwn(MEDIA, media)) throw gwsError(404, 6, `media '${media}' is not offered by this server`);
      const ud = request.userData ?? {};
      if (!isObject(ud)) throw invalid("userData", "an object");
      const id = MEDIA[media].idPrefix + randomBytes(8).toString("hex").toUpperCase();
      interactions.set(id, { owner: agent, media, userData: new Map(Object.entries(ud)), created: Date.now() });
      return { status: 201, body: { id, path: `/api/v2/me/${MEDIA[media].collection}/${id}` } };
    }
    let m = /^\/conformance\/v1\/interactions\/([^/]+)$/.exec(path);
    if (m && method === "DELETE") {
      const id = decodeURIComponent(m[1]);
      const i = interactions.get(id);
      if (!i || i.owner !== agent) throw notFound(id);
      interactions.delete(id);
      return { status: 204 };
    }
    m = /^\/api\/v2\/me\/([^/]+)\/([^/]+)$/.exec(path);
    if (m && Object.hasOwn(byCollection, m[1])) {
      const media = byCollection[m[1]];
      const id = decodeURIComponent(m[2]);
      if (method === "GET") {
        const i = ownInteraction(agent, media, id);
        return { status: 200, body: { statusCode: 0, [MEDIA[media].resourceKey]: render(id, i) } };
      }
      if (method === "POST") {
        const text = await readBody(req);
        let body;
        try {
          body = JSON.parse(text);
        } catch (e) {
          throw gwsError(400, 2, `the request body is not valid JSON: ${e.message}`);
        }
        const i = ownInteraction(agent, media, id);
        const apply = validateOperation(MEDIA[media], body);
        apply(i.userData);
        // Queued for the owner's Bayeux clients before the HTTP answer goes out.
        await adapter.publish(agent, MEDIA[media].channel, notification(agent, id, i));
        return { status: 200, body: { statusCode: 0 } };
      }
    }
    throw gwsError(404, 6, `no resource at ${method} ${path}`);
  }

  function send(res, status, body, headers = {}) {
    const payload = body === undefined ? "" : JSON.stringify(body);
    res.writeHead(status, {
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      "content-length": Buffer.byteLength(payload),
      ...headers,
    });
    res.end(payload);
  }

  const server = http.createServer(async (req, res) => {
    const path = new URL(req.url, "http://127.0.0.1").pathname;
    const creds = parseBasic(req.headers.authorization);
    if (!creds || !Object.hasOwn(agents, creds.user) || agents[creds.user] !== creds.password) {
      req.resume();
      send(res, 401, { statusCode: 20, statusMessage: "User is not authenticated" }, { "www-authenticate": 'Basic realm="gws"' });
      return;
    }
    try {
      const r = await route(req, creds.user, path);
      if (r.bayeux) return adapter.handle(req, res, creds.user);
      send(res, r.status, r.body);
    } catch (e) {
      if (e instanceof HttpError) {
        req.resume();
        send(res, e.status, e.body);
      } else {
        console.error(`[${name}]`, e);
        if (!res.headersSent) send(res, 500, { statusCode: 2, statusMessage: String(e?.message ?? e) });
      }
    }
  });
  // Long polls are held by the Bayeux server; Node must not cut them first.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 65_000;

  return {
    name,
    adapter,
    get url() {
      return base;
    },
    start() {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, "127.0.0.1", () => {
          base = `http://127.0.0.1:${server.address().port}`;
          resolve(base);
        });
      });
    },
    async stop() {
      adapter.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
