// A GWS stand-in: the part of the GWS API v2 the conformance harness uses (Basic auth with a
// JSESSIONID session, optional CSRF protection, /api/v2/me, /api/v2/features, the nine media
// with their user-data operations, the fixture contract (option `fixtures`), and the documented
// operations that create and end interactions: devices, StartContactCenterSession,
// Ready/NotReady per channel, Dial, Create, InitiateIMSession, Hangup/Cancel/Complete/Leave,
// collection listings, queues; routed interactions: the Customer Chat API (`POST /api/v2/chats`,
// no agent credentials), waiting SMS and Facebook customers (option `inbound`), their offer to
// an agent Ready on the channel (`Invited`), Accept and Reject) on a Node http server bound to
// 127.0.0.1, with the Bayeux endpoint /api/v2/notifications delegated to a third-party Bayeux
// server (see cometd.js, faye.js).
//
// It is a second, independent implementation written from the GWS documentation
// (shared/gws-api.md and the reference pages) alone. Where the documentation fixes a fact
// (envelope fields, documented resource properties, delete semantics, status codes, CSRF) it
// follows it; where the documentation is silent it deliberately chooses differently from the
// project's reference server (ids, property order, undocumented properties, referenceId
// numbering, ...); where the documentation allows several answers it takes one the reference
// server does not (issue 19): GWS errors answered HTTP 200 with the statusCode in the body,
// voice refusals asynchronously (statusCode 0, then an ErrorMessage naming the call by
// `callId`), error notifications after multimedia refusals, unusual data refused (statusCode
// 10), absent keys refused on some media (statusCode 14) and accepted unannounced on others, and
// a GET that shows `ownerId` and `revision` outside calls. interop/README.md lists those choices
// side by side ("Independent choices", "Legal readings").
//
// The Bayeux adapter interface:
//   adapter.handle(req, res, agent)            serve one POST to /api/v2/notifications
//   adapter.publish(agent, channel, data)      deliver to that agent's subscribed clients only;
//                                              resolves once the message is queued
//   adapter.close()
//   adapter.stats                              counters for the tests

import http from "node:http";
import { randomBytes, randomUUID } from "node:crypto";
import { Buffer } from "node:buffer";

export const DEFAULT_AGENTS = { agent1: "agent1-pass", agent2: "agent2-pass" };
const MAX_BODY = 1024 * 1024;
const MAX_SESSIONS = 10_000;

const USER_DATA_OPS = ["AttachUserData", "UpdateUserData", "DeleteUserData", "DeleteUserDataPair"];
// Operations that end an interaction, and the state its last notification shows. `Leave` and
// `LeaveAndComplete` (chat, SMS): the agent is the only agent in the session, so when it leaves
// the session is over for it (a choice of our own: nothing is re-queued).
const END_OPS = { Hangup: "Released", Cancel: "Cancelled", Complete: "Completed", Leave: "Completed", LeaveAndComplete: "Completed" };

// --- ids: formats of our own (the documentation shows several; none is normative) ----------

const hex = (bytes) => randomBytes(bytes).toString("hex");
const HEX16_UPPER = () => hex(8).toUpperCase();
const DIGITS = (n) => Array.from(randomBytes(n), (b) => String(b % 10)).join("").replace(/^0/, "9");
const BASE32 = "0123456789ABCDEFGHIJKLMNOPQRSTUV";
const CALL_UUID = () => Array.from(randomBytes(32), (b) => BASE32[b % 32]).join("");

// receivedDate in the documented format "2014-03-26 16:02:22.000+0200" (here always UTC).
function gwsDate(d) {
  const p = (n, w = 2) => String(n).padStart(w, "0");
  return (
    `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds(), 3)}+0000`
  );
}

// --- the nine media ------------------------------------------------------------------------
//
// `collections`: URL segments under /api/v2/me/ this stand-in serves (the first one is the one
// the fixture contract returns). `delete`: "all" (voice: no parameter, everything), "keys" (an
// array) or "key" (IM: one string). `referenceId`: where the referenceId appears.

const MEDIA = {
  voice: {
    feature: "api-voice",
    collections: ["calls"],
    resourceKey: "call",
    channel: "/v2/me/calls",
    messageType: "CallStateChangeMessage",
    notificationType: "AttachedDataChanged",
    referenceId: { notification: false, response: false },
    delete: "all",
    // An established call (not the documented Dialing one): Hold and transfers are possible too.
    capabilities: [
      "Hangup",
      "Hold",
      "InitiateTransfer",
      "SingleStepTransfer",
      "SendDtmf",
      "AttachUserData",
      "UpdateUserData",
      "DeleteUserData",
      "DeleteUserDataPair",
    ],
    newId: () => hex(8), // connection-id like, as in the captured 8.5.1 event
  },
  chat: {
    feature: "api-multimedia",
    collections: ["chats"],
    resourceKey: "chat",
    channel: "/v2/me/chats",
    messageType: "ChatStateChangeMessage",
    notificationType: "PropertiesUpdated",
    referenceId: { notification: true, response: false },
    delete: "keys",
    capabilities: ["AttachUserData", "UpdateUserData", "DeleteUserData", "SendMessage", "Leave", "Transfer", "Complete"],
    newId: HEX16_UPPER,
  },
  sms: {
    feature: "api-multimedia",
    // The project's reference pages spell it smsessions/smsession; the web pages smssessions.
    // This stand-in answers both URLs and uses the reference-page spelling everywhere else.
    collections: ["smsessions", "smssessions"],
    resourceKey: "smsession",
    channel: "/v2/me/smsessions",
    messageType: "SMSsessionStateChangeMessage",
    notificationType: "PropertiesUpdated",
    referenceId: { notification: true, response: false },
    delete: "keys",
    capabilities: ["AttachUserData", "UpdateUserData", "DeleteUserData", "Leave", "LeaveAndComplete", "Transfer", "Invite", "Consult"],
    newId: HEX16_UPPER,
  },
  email: {
    feature: "api-multimedia",
    collections: ["emails"],
    resourceKey: "email",
    channel: "/v2/me/emails",
    messageType: "EmailStateChangeMessage",
    notificationType: "PropertiesUpdated",
    referenceId: { notification: true, response: false },
    delete: "keys",
    capabilities: ["Reply", "AttachUserData", "UpdateUserData", "DeleteUserData", "SetDisposition", "Transfer", "Complete"],
    newId: randomUUID,
  },
  openmedia: {
    feature: "api-multimedia",
    collections: ["openmedia"], // /api/v2/me/openmedia/{mediaType}/{id}
    resourceKey: "openmedia",
    channel: "/v2/me/openmedia",
    messageType: "OpenmediaStateChangeMessage",
    notificationType: "PropertiesUpdated",
    referenceId: { notification: true, response: true },
    delete: "keys",
    capabilities: ["Transfer", "AttachUserData", "UpdateUserData", "DeleteUserData", "SetInFocus", "Complete"],
    newId: randomUUID,
  },
  workitem: {
    feature: "api-multimedia",
    collections: ["workitems"],
    resourceKey: "workitem",
    channel: "/v2/me/workitems",
    messageType: "WorkitemStateChangeMessage",
    notificationType: "PropertiesUpdated",
    referenceId: { notification: true, response: true },
    delete: "keys",
    capabilities: ["Transfer", "AttachUserData", "UpdateUserData", "DeleteUserData", "SetInFocus", "Complete"],
    newId: randomUUID,
  },
  im: {
    feature: "api-voice-instant-messaging",
    collections: ["im-sessions"],
    resourceKey: "imSession",
    channel: "/v2/me/im-sessions",
    messageType: "IMSessionStateChangeMessage",
    notificationType: "AttachedDataChanged",
    referenceId: { notification: false, response: false },
    delete: "key",
    capabilities: ["Complete", "AttachUserData", "DeleteUserData", "UpdateUserData", "SendMessage"],
    newId: () => DIGITS(20),
  },
  "facebook-pm": {
    feature: "api-multimedia",
    collections: ["facebooksessions", "facebooksession"],
    resourceKey: "facebooksession",
    channel: "/v2/me/facebooksession",
    messageType: "FacebooksessionStateChangeMessage",
    notificationType: "PropertiesUpdated",
    referenceId: { notification: true, response: false },
    delete: "keys",
    capabilities: ["SendMessage", "AttachUserData", "UpdateUserData", "DeleteUserData", "Complete"],
    newId: () => `fb-${hex(6)}`,
  },
  twitter: {
    feature: "api-multimedia",
    // The user-data pages use /twitter/{id}; a 2020 revision of the Create page uses /tweets.
    collections: ["twitter", "tweets"],
    resourceKey: "twitter",
    channel: "/v2/me/twitter",
    messageType: "TwitterStateChangeMessage",
    notificationType: "PropertiesUpdated",
    referenceId: { notification: true, response: true },
    delete: "keys",
    capabilities: ["Reply", "AttachUserData", "UpdateUserData", "DeleteUserData", "Complete"],
    newId: () => DIGITS(18), // tweet-id like
  },
};

export const MEDIA_NAMES = Object.keys(MEDIA);

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
  constructor(status, body, headers = {}) {
    super(typeof body === "string" ? body : JSON.stringify(body));
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

// HTTP statuses of GWS errors: the documentation pairs none with a statusCode except 4 (503, the
// ErrorHandling sample), 20 (unauthenticated) and the CSRF 403. This stand-in's choice: every
// other error of the GWS API is the operation's *result*, answered HTTP 200 with the non-zero
// statusCode and its statusMessage in the body ("All Web Services API methods return a result
// for each operation in addition to the HTTP status code"). The reference server answers 400
// for 1 and 2 and 404 for 6. Kept as thrown: URLs no route serves (404, the web container's),
// methods not allowed (405), bodies too large (413), internal errors, and the fixture contract
// (not part of GWS).
const RESULT_CODES = new Set([1, 2, 3, 5, 6, 7, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
const httpStatusOf = (e, path) =>
  e.routing || path.startsWith("/conformance/") || !RESULT_CODES.has(e.body?.statusCode) ? e.status : 200;

const gwsError = (status, statusCode, statusMessage) => new HttpError(status, { statusCode, statusMessage });
const missing = (p) => gwsError(400, 1, `Required parameter '${p}' is missing`);
const invalid = (p, what) => gwsError(400, 2, `Parameter '${p}' is invalid: expected ${what}`);
const notFound = (what) => gwsError(404, 6, `${what} not found`);
/** No route serves this URL (or the media is not offered): HTTP 404 whatever the reading. */
const noRoute = (what) => Object.assign(notFound(what), { routing: true });
const notAllowed = (method) => Object.assign(gwsError(405, 2, `Method ${method} is not allowed here`), { routing: true });

// Unusual data this stand-in, like a conservative back end (T-Server / Interaction Server KV
// lists: strings, 32-bit integers, nested lists), will not store faithfully: refused with
// statusCode 10 ("Input validation error - value not within range of valid values"), nothing
// changed. A set of our own, different from the reference server's `refuse-unusual-data`
// variant: booleans, arrays, the empty key, keys with spaces and any number of keys are stored
// as sent; integers outside the signed 32-bit range are refused.
const MAX_VALUE_BYTES = 32 * 1024;
const MAX_DEPTH = 4; // objects nested deeper than 4 levels (the top-level value is level 1)
const INT32 = [-(2 ** 31), 2 ** 31 - 1];

/** Why a conservative back end would not store `value` at nesting level `depth`, if it would not. */
function unusualValue(value, depth) {
  if (value === null) return "null values are not stored";
  if (typeof value === "number") {
    if (!Number.isInteger(value)) return `${value} is not an integer`;
    if (value < INT32[0] || value > INT32[1]) return `${value} is outside the 32-bit integer range`;
  }
  if (typeof value === "string" && Buffer.byteLength(value, "utf8") > MAX_VALUE_BYTES) return `a value over ${MAX_VALUE_BYTES / 1024} KiB`;
  if (Array.isArray(value)) {
    for (const v of value) {
      const why = unusualValue(v, depth + 1);
      if (why) return why;
    }
  } else if (isObject(value)) {
    if (depth > MAX_DEPTH) return `objects nested deeper than ${MAX_DEPTH} levels`;
    for (const [k, v] of Object.entries(value)) {
      const why = unusualValue(v, depth + 1);
      if (why) return `'${k}': ${why}`;
    }
  }
  return null;
}

function refuseUnusual(entries) {
  for (const [k, v] of entries) {
    const why = unusualValue(v, 1);
    if (why) throw gwsError(400, 10, `Input validation error for key '${k}': ${why}`);
  }
}

// Deleting a key the interaction does not have (the documentation is silent): refused with
// statusCode 14 ("Unable to delete resource"), nothing changed, on voice (asynchronously, as
// T-Server refuses it), email, open media, workitems and Twitter; accepted on chat, SMS,
// Facebook PM and IM, where a delete that removes nothing changes nothing and so is not
// announced at all (no notification).
export const REFUSE_ABSENT_KEYS = new Set(["voice", "email", "openmedia", "workitem", "twitter"]);
/** The properties GET adds outside calls (see render()); no notification carries them. */
export const GET_EXTRAS = ["/ownerId", "/revision"];
const CSRF_REJECTED = "Missing or invalid Csrf token";

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on("data", (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(Object.assign(gwsError(413, 2, "Request body too large"), { routing: true }));
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

function cookie(req, name) {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * Validates an operation body (already parsed JSON) on an interaction against its current
 * capabilities and the media's parameters; returns the change to apply, as
 * {kind, entries | keys}, or {kind: "end", name} for Hangup / Cancel / Complete.
 */
function validateOperation(media, capabilities, body) {
  if (!isObject(body)) throw invalid("body", "a JSON object");
  const name = body.operationName;
  if (name === undefined || name === null) throw missing("operationName");
  if (typeof name !== "string") throw invalid("operationName", "a string");
  if (!capabilities.includes(name)) {
    throw gwsError(400, 2, `Operation '${name}' is not available for this interaction (capabilities: ${capabilities.join(", ")})`);
  }
  if (Object.hasOwn(END_OPS, name)) return { kind: "end", name };
  if (!USER_DATA_OPS.includes(name)) {
    throw gwsError(400, 2, `Operation '${name}' is not supported by this stand-in`);
  }
  const userData = () => {
    const v = body.userData;
    if (v === undefined || v === null) throw missing("userData");
    if (!isObject(v)) throw invalid("userData", "a JSON object of key/value pairs");
    return Object.entries(v);
  };
  const key = () => {
    const k = body.key;
    if (k === undefined || k === null) throw missing("key");
    if (typeof k !== "string") throw invalid("key", "a string");
    return k;
  };
  if (name === "AttachUserData" || name === "UpdateUserData") {
    const entries = userData();
    refuseUnusual(entries);
    return { kind: "put", entries };
  }
  if (name === "DeleteUserDataPair") return { kind: "remove", keys: [key()] };
  // DeleteUserData
  if (media.delete === "all") return { kind: "clear" };
  if (media.delete === "key") return { kind: "remove", keys: [key()] };
  const keys = body.keys;
  if (keys === undefined || keys === null) throw missing("keys");
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === "string")) throw invalid("keys", "an array of strings");
  return { kind: "remove", keys };
}

// The states a new interaction starts in: the fixture contract's (an interaction routed to the
// agent) and native provisioning's (Dial, Create).
const FIXTURE_STATE = {
  voice: "Established",
  chat: "Chatting",
  sms: "Chatting",
  email: "Processing",
  openmedia: "Processing",
  workitem: "Processing",
  im: "Talking",
  "facebook-pm": "Chatting",
  twitter: "Processing",
};

// Capabilities of natively provisioned interactions, by media, in the state they start in.
const NATIVE = {
  // A call that is still ringing at the far end: no hold or transfer yet.
  voice: { state: "Dialing", capabilities: ["Hangup", "AttachUserData", "UpdateUserData", "DeleteUserData", "DeleteUserDataPair"] },
  // Documented for a composing email (EmailCreate).
  email: {
    state: "Composing",
    capabilities: ["Cancel", "Send", "AddComment", "AttachUserData", "UpdateUserData", "DeleteUserData", "SetDisposition", "SetInFocus", "Transfer"],
  },
  openmedia: { state: "Processing", capabilities: MEDIA.openmedia.capabilities },
  workitem: { state: "Processing", capabilities: MEDIA.workitem.capabilities },
  // A tweet being written: it can be sent, dropped (Cancel) or closed (Complete).
  twitter: { state: "Composing", capabilities: ["Send", "Cancel", "Complete", "AttachUserData", "UpdateUserData", "DeleteUserData"] },
};

// The property that holds the resources in `GET /api/v2/me/{collection}?fields=*` (the IM
// sample shows `imSessions`; elsewhere the collection's name).
const LIST_KEY = { "im-sessions": "imSessions" };

/** A StartContactCenterSession / Ready channel name: a word, e.g. voice, email, promotion. */
const CHANNEL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

// --- routed interactions (chat from the Customer Chat API, inbound SMS and Facebook PM) ------
//
// The channel names an agent is made Ready on to be offered each routed media. The
// StartContactCenterSession page names chat and "IM session" among the multimedia channels; it
// names no channel for SMS or Facebook sessions: `sms`, and `facebook-pm` or `facebooksession`,
// are this stand-in's choice. IM sessions are initiated on `im` (or `im-session`).
const ROUTED_CHANNELS = { chat: ["chat"], sms: ["sms"], "facebook-pm": ["facebook-pm", "facebooksession"] };
const IM_CHANNELS = ["im", "im-session"];
/** Media a waiting customer may bring (option `inbound`); chats come from RequestChat. */
export const INBOUND_MEDIA = ["sms", "facebook-pm"];
// An offered interaction, until the agent answers: the InteractionsOnChat page lists Accept and
// Reject as what an agent does once "a new interaction notification arrives".
const INVITED = { state: "Invited", capabilities: ["Accept", "Reject"] };
// The state after Accept (documented for chat and SMS: Chatting).
const ACCEPTED_STATE = "Chatting";
// The contact center the Customer Chat API serves when the option does not name one.
export const DEFAULT_CONTACT_CENTER_ID = "8a3c0f12";

/**
 * The routing keys a routed SMS or Facebook session carries when it reaches the agent (keys of
 * our own; the documented samples show keys like these on routed chats). Plain strings only, so
 * that any GWS would store them. Chats requested through the Customer Chat API carry exactly
 * the customer's userData (see README "Independent choices").
 */
function routingKeys(media, n) {
  return {
    RStrategyName: `StandIn${media === "sms" ? "Sms" : "Facebook"}Inbound`,
    RTenant: "Resources",
    RTargetObjectSelected: `${media} distribution`,
    InboundSequence: String(n),
  };
}

/**
 * Creates (but does not start) a stand-in. `bayeux` is an adapter factory; `csrf` turns on the
 * documented CSRF protection; `offer` limits the media offered (fixture names); `fixtures:
 * false` removes the fixture contract (`/conformance/v1/*` answers 404), so that interactions
 * only come from the documented operations (Dial, Create, InitiateIMSession, RequestChat, and
 * routing); `inbound` ({sms: 2, "facebook-pm": 2}) queues that many waiting customers per media
 * at start; `contactCenterId` is the id the Customer Chat API requires; `acceptAsDocumented`
 * announces an Accept with the two notifications the ChatAccept page shows (a StatusChange
 * without participants, then a ParticipantsUpdated) instead of one. `start()` listens on
 * 127.0.0.1 and resolves with the base URL.
 */
export function createGwsStandIn({
  name,
  bayeux,
  agents = DEFAULT_AGENTS,
  port = 0,
  csrf = false,
  offer = MEDIA_NAMES,
  fixtures = true,
  inbound = {},
  contactCenterId = DEFAULT_CONTACT_CENTER_ID,
  acceptAsDocumented = false,
}) {
  for (const m of offer) if (!Object.hasOwn(MEDIA, m)) throw new Error(`unknown media ${m}; one of ${MEDIA_NAMES.join(", ")}`);
  for (const [m, n] of Object.entries(inbound)) {
    if (!INBOUND_MEDIA.includes(m)) throw new Error(`inbound media ${m} is not one of ${INBOUND_MEDIA.join(", ")}`);
    if (!Number.isInteger(n) || n < 0) throw new Error(`inbound ${m}: ${n} is not a count`);
  }
  const offered = new Set(offer);
  const interactions = new Map(); // id -> interaction
  const sessions = new Map(); // JSESSIONID -> {agent, token}
  // One referenceId counter for the whole server: unique per request, increasing for every
  // agent (the documentation only says the server generates it).
  let nextReferenceId = 1000;
  const agentNames = Object.keys(agents);
  const dn = (agent) => String(7001 + Math.max(0, agentNames.indexOf(agent)));
  const userId = (agent) => `u-${Buffer.from(agent).toString("hex")}`;
  // One device per agent: its DN, then 12 hex digits (a format of our own).
  const devices = new Map(agentNames.map((a) => [a, { id: `${dn(a)}-${hex(6)}`, ready: false }]));
  // The channels of each agent's contact-center session (StartContactCenterSession).
  const ccSessions = new Map(); // agent -> Set of channel names
  // The channels each agent is Ready on (voice also shows in its device's userState).
  const readyOn = new Map(agentNames.map((a) => [a, new Set()]));
  // Routing: customers waiting for an agent, in arrival order. Each is {media, nickname,
  // userData, customer (the customer-side chat id, for chats), refusedBy (agents that rejected
  // it)}. The Customer Chat API's chats by customer-side id: {entry, agentSide, ended}.
  const waiting = [];
  const customerChats = new Map();
  // When each agent was last offered something: routing prefers the agent idle the longest.
  const lastOffer = new Map(agentNames.map((a, n) => [a, n]));
  let offerClock = agentNames.length;
  for (const [media, count] of Object.entries(inbound)) {
    for (let n = 1; n <= count; n += 1) {
      const nickname = media === "sms" ? `+1555010${String(n).padStart(4, "0")}` : `facebook.customer.${n}`;
      waiting.push({ media, nickname, userData: routingKeys(media, n), refusedBy: new Set() });
    }
  }
  let base = "";
  const adapter = bayeux();
  const stats = { csrfRejected: 0, asyncRefusals: 0, errorNotifications: 0, offers: 0, accepted: 0, rejected: 0, chatsRequested: 0 };

  const byCollection = new Map();
  for (const [mediaName, m] of Object.entries(MEDIA)) for (const c of m.collections) byCollection.set(c, mediaName);

  /**
   * The interaction object, as notifications show it. `forGet`: as GET (and listings with
   * fields=*) show it, which outside calls adds two properties no notification carries (a
   * choice of our own; the documentation lets a GET differ from a notification outside calls):
   * `ownerId`, the owning agent's user id (as in GET /api/v2/me), and `revision`, an integer
   * that grows with every change of the interaction's user data and is stable otherwise.
   */
  function render(i, { forGet = false } = {}) {
    const r = renderResource(i);
    if (forGet && i.media !== "voice") Object.assign(r, { ownerId: userId(i.owner), revision: i.revision });
    return r;
  }

  function renderResource(i) {
    const m = MEDIA[i.media];
    const userData = Object.fromEntries(i.userData);
    switch (i.media) {
      case "voice": {
        const call = {};
        // Documented: after a voice DeleteUserData the call has no userData property.
        if (i.hasUserData) call.userData = userData;
        Object.assign(call, {
          state: i.state,
          callType: i.callType,
          connId: i.id,
          callUuid: i.callUuid,
          deviceUri: `${base}/api/v2/devices/${i.deviceId}`,
          participants: i.participants,
          dnis: i.dnis,
          capabilities: i.capabilities,
          duration: String(Math.floor((Date.now() - i.created.getTime()) / 1000)),
          mute: "Off",
          monitoring: false,
          monitoredUserMuted: false,
          supervisorListeningIn: false,
          path: `/calls/${i.id}`,
          uri: `${base}/api/v2/me/calls/${i.id}`,
          id: i.id,
        });
        return call;
      }
      case "chat":
      case "sms":
        return {
          userData,
          state: i.state,
          capabilities: i.capabilities,
          uri: `${base}/api/v2/${m.collections[0]}/${i.id}`,
          // An offered interaction has the customer only; the agent joins with Accept, under
          // the nickname it sent (the owner's name for fixtures).
          participants: [
            ...(i.customerGone ? [] : [{ participantId: i.participantIds[0], nickname: i.customerNickname ?? "Chris", type: "Customer" }]),
            ...(i.state === INVITED.state ? [] : [{ participantId: i.participantIds[1], nickname: i.agentNickname ?? i.owner, type: "Agent" }]),
          ],
          ...(i.media === "chat" ? { chatType: "Inbound" } : {}),
          createdAt: i.created.toISOString(),
          id: i.id,
        };
      case "email":
        return {
          userData,
          state: i.state,
          subject: i.subject,
          capabilities: i.capabilities,
          uri: `${base}/api/v2/emails/${i.id}`,
          id: i.id,
        };
      case "openmedia":
        return {
          userData,
          receivedDate: gwsDate(i.created),
          uri: `${base}/api/v2/openmedia/${i.openMediaType}/${i.id}`,
          capabilities: i.capabilities,
          state: i.state,
          mediaType: i.openMediaType,
          openmediaType: i.direction,
          id: i.id,
        };
      case "workitem":
        return {
          userData,
          receivedDate: gwsDate(i.created),
          uri: `${base}/api/v2/workitems/${i.id}`,
          capabilities: i.capabilities,
          state: i.state,
          mediaType: "workitem",
          id: i.id,
        };
      case "im":
        return {
          userData,
          state: i.state,
          capabilities: i.capabilities,
          // The other side of the agent-to-agent session, without an id; an initiated session
          // shows the number reached, in the call format the IMSessionResource page documents.
          participants: i.peerNumber
            ? [{ digits: i.peerNumber, phoneNumber: i.peerNumber, formattedPhoneNumber: i.peerNumber, e164Number: i.peerNumber }]
            : [{ type: "Agent", userName: i.peer }],
          path: `/im-sessions/${i.id}`,
          uri: `${base}/api/v2/me/im-sessions/${i.id}`,
          id: i.id,
        };
      case "facebook-pm":
        return {
          comment: "",
          userData,
          state: i.state,
          capabilities: i.capabilities,
          uri: `${base}/api/v2/facebooksessions/${i.id}`,
          id: i.id,
        };
      case "twitter":
        return {
          userData,
          state: i.state,
          capabilities: i.capabilities,
          uri: `${base}/api/v2/twitter/${i.id}`,
          createdAt: i.created.toISOString(),
          id: i.id,
        };
      default:
        throw new Error(`no rendering for ${i.media}`);
    }
  }

  /**
   * The notification's data for interaction `i`; `referenceId` when the media carries one;
   * `notificationType` defaults to the media's user-data one (StatusChange for a new or ended
   * interaction).
   */
  function notification(i, referenceId, notificationType = MEDIA[i.media].notificationType) {
    const m = MEDIA[i.media];
    if (i.media === "voice") {
      // Key order as in the captured 8.5.1 event.
      return { messageType: m.messageType, notificationType, call: render(i), phoneNumber: dn(i.owner) };
    }
    if (i.media === "im") {
      return { messageType: m.messageType, notificationType, [m.resourceKey]: render(i) };
    }
    // Key order as in the documented email sample.
    return { referenceId, notificationType, messageType: m.messageType, [m.resourceKey]: render(i) };
  }

  /** The device of `agent`, as /api/v2/me?subresources=devices and notifications show it. */
  function renderDevice(agent) {
    const d = devices.get(agent);
    return {
      deviceState: "Active",
      userState: d.ready ? { state: "Ready", displayName: "Ready" } : { state: "NotReady", displayName: "Not Ready" },
      phoneNumber: dn(agent),
      telephonyNetwork: "Private",
      doNotDisturb: "Off",
      path: `/devices/${d.id}`,
      uri: `${base}/api/v2/devices/${d.id}`,
      id: d.id,
    };
  }

  /** The URL path (under the caller's /api/v2/me) of an interaction. */
  function pathOf(i) {
    if (i.media === "openmedia") return `/api/v2/me/openmedia/${i.openMediaType}/${i.id}`;
    return `/api/v2/me/${MEDIA[i.media].collections[0]}/${i.id}`;
  }

  function takeReferenceId(m) {
    if (!m.referenceId.notification && !m.referenceId.response) return undefined;
    const referenceId = nextReferenceId;
    nextReferenceId += 7;
    return referenceId;
  }

  /**
   * A new interaction of `agent`, stored; `init` overrides the fixture defaults (state,
   * capabilities, voice direction and parties, open media type and direction, subject).
   */
  function newInteraction(agent, media, userData, init = {}) {
    const m = MEDIA[media];
    const i = {
      id: m.newId(),
      owner: agent,
      media,
      userData: new Map(Object.entries(userData)),
      // Every new interaction carries userData, {} when nothing is attached.
      hasUserData: true,
      revision: 1,
      created: new Date(),
      state: FIXTURE_STATE[media],
      capabilities: m.capabilities,
    };
    if (media === "voice") {
      Object.assign(i, {
        callUuid: CALL_UUID(),
        deviceId: devices.get(agent)?.id ?? randomUUID(),
        callType: "Inbound",
        participants: [{ digits: "5551234", phoneNumber: "5551234", formattedPhoneNumber: "555-1234", e164Number: "+15551234" }],
        dnis: dn(agent),
      });
    }
    if (media === "chat" || media === "sms") i.participantIds = [HEX16_UPPER(), HEX16_UPPER()];
    if (media === "email") i.subject = "Question about my order";
    if (media === "im") i.peer = agentNames.find((a) => a !== agent) ?? "supervisor";
    if (media === "openmedia") Object.assign(i, { openMediaType: "survey", direction: "Inbound" });
    Object.assign(i, init);
    interactions.set(i.id, i);
    return i;
  }

  /** Applies `change`; returns whether the interaction's user data changed. */
  function apply(i, change) {
    const before = JSON.stringify([i.hasUserData, [...i.userData]]);
    applyChange(i, change);
    const changed = JSON.stringify([i.hasUserData, [...i.userData]]) !== before;
    if (changed) i.revision += 1;
    return changed;
  }

  function applyChange(i, change) {
    switch (change.kind) {
      case "put":
        for (const [k, v] of change.entries) i.userData.set(k, v);
        i.hasUserData = true;
        break;
      case "remove":
        for (const k of change.keys) i.userData.delete(k);
        break;
      case "clear":
        i.userData.clear();
        i.hasUserData = false;
        break;
    }
  }

  /** The caller's own interaction of that media, or a 404 statusCode 6. */
  function ownInteraction(agent, media, id, openMediaType) {
    const i = interactions.get(id);
    if (!i || i.owner !== agent || i.media !== media || (openMediaType !== undefined && i.openMediaType !== openMediaType)) {
      throw notFound(`Interaction '${id}'`);
    }
    return i;
  }

  async function parseJson(req) {
    const text = await readBody(req);
    try {
      return JSON.parse(text);
    } catch (e) {
      throw gwsError(400, 2, `The request body is not valid JSON (${e.message})`);
    }
  }

  function createFixture(agent, request) {
    if (!isObject(request) || typeof request.media !== "string") throw gwsError(400, 1, "Required parameter 'media' is missing");
    const media = request.media;
    if (!Object.hasOwn(MEDIA, media) || !offered.has(media)) {
      throw gwsError(404, 6, `Media '${media}' is not offered by this server`);
    }
    const ud = request.userData ?? {};
    if (!isObject(ud)) throw invalid("userData", "a JSON object");
    const init = {};
    if (media === "openmedia" && typeof request.mediaType === "string" && /^[\w-]+$/.test(request.mediaType)) {
      init.openMediaType = request.mediaType;
    }
    const i = newInteraction(agent, media, ud, init);
    return { status: 201, body: { path: pathOf(i), id: i.id } };
  }

  /** GET or POST on an interaction URL. */
  async function interaction(req, agent, media, id, openMediaType) {
    if (!offered.has(media)) throw noRoute(`Resource ${req.method} ${req.url}`);
    if (req.method === "GET") {
      const i = ownInteraction(agent, media, id, openMediaType);
      return { status: 200, body: { [MEDIA[media].resourceKey]: render(i, { forGet: true }), statusCode: 0 } };
    }
    if (req.method !== "POST") throw notAllowed(req.method);
    // An unknown call, or another agent's, is refused synchronously (it never reaches T-Server).
    const i = ownInteraction(agent, media, id, openMediaType);
    const m = MEDIA[media];
    let change;
    try {
      // A body that is not JSON is refused synchronously on every media.
      const body = await parseJson(req).catch((e) => {
        throw Object.assign(e, { synchronous: true });
      });
      if (i.state === INVITED.state && isObject(body) && (body.operationName === "Accept" || body.operationName === "Reject")) {
        return answerOffer(i, body);
      }
      change = validateOperation(m, i.capabilities, body);
      if (change.kind === "remove" && REFUSE_ABSENT_KEYS.has(media)) {
        const absent = change.keys.filter((k) => !i.userData.has(k));
        if (absent.length > 0) throw gwsError(400, 14, `Unable to delete user data: no key ${absent.map((k) => JSON.stringify(k)).join(", ")} in this interaction`);
      }
    } catch (e) {
      if (!(e instanceof HttpError) || typeof e.body?.statusCode !== "number") throw e;
      return refusal(i, e);
    }
    // Rejected operations never get this far: nothing changed.
    let notificationType;
    if (change.kind === "end") {
      // Hangup / Cancel / Complete: the last notification shows the final state and no
      // capabilities; from then on the interaction is gone (GET 404, not in the listings).
      i.state = END_OPS[change.name];
      i.capabilities = [];
      interactions.delete(i.id);
      notificationType = "StatusChange";
    } else if (!apply(i, change) && change.kind === "remove" && !REFUSE_ABSENT_KEYS.has(media)) {
      // Deleting only absent keys changed nothing: success, and nothing to announce.
      return { status: 200, body: { statusCode: 0 } };
    }
    const referenceId = takeReferenceId(m);
    // Queued for the owner's Bayeux clients before the HTTP answer goes out.
    await adapter.publish(agent, m.channel, notification(i, referenceId, notificationType));
    // An agent whose interaction ended may be offered the next waiting one.
    if (change.kind === "end") {
      if (i.customer) customerSideEnded(i);
      await routeWaiting();
    }
    return { status: 200, body: m.referenceId.response ? { statusCode: 0, referenceId } : { statusCode: 0 } };
  }

  /**
   * How a refused operation on the caller's own interaction `i` is answered (error `e`):
   *   - voice, unless the body is not JSON: asynchronously, the way the ErrorHandling page
   *     describes requests GWS passes on to T-Server: `{"statusCode": 0}` now, then an
   *     `ErrorMessage` on /v2/me/calls naming the call by a string `callId`, with `errorCode`
   *     (the statusCode a synchronous refusal would carry) and `errorMessage`;
   *   - otherwise synchronously (the non-zero statusCode and statusMessage), and then, on every
   *     media but voice, an error notification on the media's channel (`notificationType:
   *     "Error"`, the media's messageType, `errorCode`, `errorMessage`, and the interaction as
   *     `{id, uri}`): GWS documents error notifications for failed operations.
   * Nothing changes either way. The notification is queued right after the reply is written.
   */
  function refusal(i, e) {
    const m = MEDIA[i.media];
    const { statusCode, statusMessage } = e.body;
    if (i.media === "voice" && !e.synchronous) {
      stats.asyncRefusals += 1;
      return {
        status: 200,
        body: { statusCode: 0 },
        after: () =>
          adapter.publish(i.owner, m.channel, {
            messageType: "ErrorMessage",
            callId: i.id,
            errorCode: statusCode,
            errorMessage: statusMessage,
            phoneNumber: dn(i.owner),
          }),
      };
    }
    if (i.media === "voice") return { status: httpStatusOf(e, ""), body: e.body };
    stats.errorNotifications += 1;
    return {
      status: httpStatusOf(e, ""),
      body: e.body,
      after: () =>
        adapter.publish(i.owner, m.channel, {
          notificationType: "Error",
          messageType: m.messageType,
          errorCode: statusCode,
          errorMessage: statusMessage,
          [m.resourceKey]: { id: i.id, uri: render(i).uri },
        }),
    };
  }

  // --- native provisioning: the documented operations that create interactions ----------

  /** The parsed body of an operation POST and its operationName (1 if missing, 2 if mistyped). */
  async function operationBody(req) {
    const body = await parseJson(req);
    if (!isObject(body)) throw invalid("body", "a JSON object");
    const op = body.operationName;
    if (op === undefined || op === null) throw missing("operationName");
    if (typeof op !== "string") throw invalid("operationName", "a string");
    return { body, op };
  }

  /** Whether `agent`'s contact-center session includes one of `channels`. */
  function inSession(agent, channels) {
    const mine = ccSessions.get(agent);
    return mine !== undefined && channels.some((c) => mine.has(c));
  }

  function requireSession(agent, channels) {
    if (!inSession(agent, channels)) {
      throw gwsError(
        400,
        2,
        `Channel '${channels[0]}' is not in the agent's contact-center session (StartContactCenterSession with channels ${JSON.stringify(channels)} first)`,
      );
    }
  }

  /** POST /api/v2/me: StartContactCenterSession, EndContactCenterSession. */
  async function meOperation(req, caller) {
    const { body, op } = await operationBody(req);
    const agent = caller.agent;
    if (op === "StartContactCenterSession") {
      const channels = body.channels;
      if (channels === undefined || channels === null) throw missing("channels");
      if (!Array.isArray(channels) || channels.length === 0 || !channels.every((c) => typeof c === "string" && CHANNEL_NAME.test(c))) {
        throw gwsError(400, 1, "Parameter 'channels' must be a non-empty array of channel names, e.g. [\"voice\", \"email\"]");
      }
      // Idempotent: a second start adds its channels to the session.
      const mine = ccSessions.get(agent) ?? new Set();
      for (const c of channels) mine.add(c);
      ccSessions.set(agent, mine);
      return { status: 200, body: { statusCode: 0 } };
    }
    if (op === "EndContactCenterSession") {
      ccSessions.delete(agent);
      readyOn.get(agent)?.clear();
      const device = devices.get(agent);
      if (device) device.ready = false;
      // Documented: it also invalidates the client's HTTP session (and so its CSRF token).
      sessions.delete(caller.sid);
      return { status: 200, body: { statusCode: 0 } };
    }
    throw gwsError(400, 2, `Operation '${op}' is not supported on /api/v2/me`);
  }

  /**
   * POST /api/v2/me/channels/{channel} {"operationName": "Ready" | "NotReady"}. Voice shows the
   * change as a DeviceStateChangeMessage (documented); the multimedia channels publish nothing
   * (the documentation shows no notification for them; our choice). Ready has waiting customers
   * offered; NotReady withdraws nothing already offered (our choice).
   */
  async function channelOperation(req, agent, channel) {
    const { op } = await operationBody(req);
    if (op !== "Ready" && op !== "NotReady") {
      throw gwsError(400, 2, `Operation '${op}' is not supported on a channel by this stand-in (Ready, NotReady)`);
    }
    requireSession(agent, [channel]);
    const ready = op === "Ready";
    if (ready) readyOn.get(agent).add(channel);
    else readyOn.get(agent).delete(channel);
    if (channel === "voice") {
      const device = devices.get(agent);
      device.ready = ready;
      await adapter.publish(agent, "/v2/me/devices", { messageType: "DeviceStateChangeMessage", devices: [renderDevice(agent)] });
    }
    if (ready) await routeWaiting();
    return { status: 200, body: { statusCode: 0 } };
  }

  // --- routing: waiting customers offered to Ready agents ---------------------------------

  /** Whether `agent` is Ready on a channel that routes `media`, within its session. */
  function readyFor(agent, media) {
    const names = ROUTED_CHANNELS[media] ?? [];
    return names.some((c) => readyOn.get(agent)?.has(c) && ccSessions.get(agent)?.has(c));
  }

  /**
   * Who may be offered `entry`: agents Ready on its media's channel that did not reject it; for
   * SMS and Facebook sessions only agents with none of that media open (offered or accepted).
   * Chats have no such limit. Of those, the one offered nothing for the longest time (the
   * reference server takes the first in configuration order).
   */
  function takerOf(entry) {
    const candidates = agentNames.filter(
      (a) =>
        readyFor(a, entry.media) &&
        !entry.refusedBy.has(a) &&
        (entry.media === "chat" || ![...interactions.values()].some((i) => i.owner === a && i.media === entry.media)),
    );
    candidates.sort((a, b) => lastOffer.get(a) - lastOffer.get(b));
    return candidates[0];
  }

  /** Offers every waiting customer someone can take now, in arrival order; publishes the offers. */
  async function routeWaiting() {
    for (let n = 0; n < waiting.length; ) {
      const entry = waiting[n];
      const agent = takerOf(entry);
      if (agent === undefined) {
        n += 1;
        continue;
      }
      waiting.splice(n, 1);
      lastOffer.set(agent, offerClock++);
      const i = newInteraction(agent, entry.media, entry.userData, {
        state: INVITED.state,
        capabilities: INVITED.capabilities,
        customerNickname: entry.nickname,
        entry,
      });
      if (entry.customer) {
        i.customer = entry.customer;
        customerChats.get(entry.customer).agentSide = i.id;
      }
      stats.offers += 1;
      // An offer answers no request of the agent's: no referenceId.
      await adapter.publish(agent, MEDIA[i.media].channel, notification(i, undefined, "StatusChange"));
    }
  }

  /**
   * Accept or Reject of an offered interaction `i` (its owner's). Accept: `nickname` is
   * required for chat and SMS (documented as the agent's nickname shown to the customer;
   * optional elsewhere, our choice); the interaction is `Chatting` with the media's capabilities,
   * announced by one StatusChange carrying the participants (the Accept page shows a
   * StatusChange, a ParticipantsUpdated and the history: this stand-in folds the participants
   * into the StatusChange and has no history to send). Reject: the agent's last notification
   * shows `Completed` and no participants (the SMS Reject page); the customer goes back to the
   * head of the queue and is never offered to that agent again (our choice).
   */
  async function answerOffer(i, body) {
    const m = MEDIA[i.media];
    const referenceId = takeReferenceId(m);
    if (body.operationName === "Accept") {
      const nickname = body.nickname;
      if ((nickname === undefined || nickname === null) && (i.media === "chat" || i.media === "sms")) throw missing("nickname");
      if (nickname !== undefined && nickname !== null && (typeof nickname !== "string" || nickname === "")) {
        throw invalid("nickname", "a non-empty string");
      }
      if (typeof body.saveLAR !== "undefined" && typeof body.saveLAR !== "boolean") throw invalid("saveLAR", "true or false");
      i.state = ACCEPTED_STATE;
      i.capabilities = m.capabilities;
      i.agentNickname = nickname ?? i.owner;
      delete i.entry;
      stats.accepted += 1;
      if (acceptAsDocumented) {
        const changed = notification(i, referenceId, "StatusChange");
        if (Array.isArray(changed[m.resourceKey].participants)) changed[m.resourceKey].participants = [];
        await adapter.publish(i.owner, m.channel, changed);
        await adapter.publish(i.owner, m.channel, notification(i, undefined, "ParticipantsUpdated"));
      } else {
        await adapter.publish(i.owner, m.channel, notification(i, referenceId, "StatusChange"));
      }
      return { status: 200, body: { statusCode: 0 } };
    }
    const entry = i.entry;
    i.state = "Completed";
    i.capabilities = [];
    interactions.delete(i.id);
    stats.rejected += 1;
    const last = notification(i, referenceId, "StatusChange");
    // No participants: the interaction left the agent.
    if (Array.isArray(last[m.resourceKey]?.participants)) last[m.resourceKey].participants = [];
    await adapter.publish(i.owner, m.channel, last);
    entry.refusedBy.add(i.owner);
    if (entry.customer) customerChats.get(entry.customer).agentSide = undefined;
    waiting.unshift(entry);
    await routeWaiting();
    return { status: 200, body: { statusCode: 0 } };
  }

  /** The agent side of a customer's chat ended: the customer side stays until it disconnects. */
  function customerSideEnded(i) {
    const chat = customerChats.get(i.customer);
    if (chat) chat.agentSide = undefined;
  }

  /** The customer of chat `chat` (customer-side id `id`) leaves. */
  async function customerLeaves(id, chat) {
    customerChats.delete(id);
    const queued = waiting.indexOf(chat.entry);
    if (queued >= 0) waiting.splice(queued, 1);
    const i = chat.agentSide === undefined ? undefined : interactions.get(chat.agentSide);
    if (!i) return;
    const m = MEDIA.chat;
    if (i.state === INVITED.state) {
      // Offered, not accepted: the offer is withdrawn (state `Revoked`, our choice).
      i.state = "Revoked";
      i.capabilities = [];
      interactions.delete(i.id);
      await adapter.publish(i.owner, m.channel, notification(i, undefined, "StatusChange"));
      return;
    }
    // Accepted: the chat stays with the agent, who sees the customer leave (ParticipantsUpdated
    // without the customer) and ends it with Complete or Leave.
    i.customerGone = true;
    await adapter.publish(i.owner, m.channel, notification(i, undefined, "ParticipantsUpdated"));
  }

  /**
   * The Customer Chat API: `POST /api/v2/chats` (RequestChat) and `POST /api/v2/chats/{id}`
   * (the customer leaving), with the `ContactCenterId` header and no agent credentials (none
   * are looked at). Errors are answered like the rest of the API (HTTP 200, statusCode).
   * The customer-side id is a UUID (as the RequestChat sample shows); the agent-side chat has an
   * id of its own (16 hex digits), so nothing but the customer's nickname links the two.
   */
  async function customerChat(req, id) {
    if (req.method !== "POST") throw notAllowed(req.method);
    const center = req.headers.contactcenterid;
    if (center === undefined || center === "") throw gwsError(400, 1, "Required header 'ContactCenterId' is missing");
    if (center !== contactCenterId) throw gwsError(404, 6, `Contact center '${center}' not found`);
    const { body, op } = await operationBody(req);
    if (id === undefined) {
      if (op !== "RequestChat") throw gwsError(400, 2, `Operation '${op}' is not supported on /api/v2/chats`);
      const nickname = body.nickname;
      if (nickname === undefined || nickname === null) throw missing("nickname");
      if (typeof nickname !== "string" || nickname === "") throw invalid("nickname", "a non-empty string");
      if (body.subject !== undefined && body.subject !== null && typeof body.subject !== "string") throw invalid("subject", "a string");
      const userData = body.userData ?? {};
      if (!isObject(userData)) throw invalid("userData", "an object of key/value pairs");
      const customerId = randomUUID();
      // Stored as sent, unusual values included: this is the creating side, not the user-data API.
      const entry = { media: "chat", nickname, userData, customer: customerId, refusedBy: new Set() };
      customerChats.set(customerId, { entry, agentSide: undefined });
      waiting.push(entry);
      stats.chatsRequested += 1;
      await routeWaiting();
      return { status: 200, body: { id: customerId, statusCode: 0, path: `/api/v2/chats/${customerId}` } };
    }
    const chat = customerChats.get(id);
    if (!chat) throw notFound(`Chat '${id}'`);
    // The GWS pages stored here do not show how a customer leaves: `Disconnect` and `Complete`
    // both end the customer's side (our choice).
    if (op !== "Disconnect" && op !== "Complete") throw gwsError(400, 2, `Operation '${op}' is not supported on a customer's chat by this stand-in`);
    await customerLeaves(id, chat);
    return { status: 200, body: { statusCode: 0 } };
  }

  /**
   * POST /api/v2/me/im-sessions {"operationName": "InitiateIMSession", "destination":
   * {"phoneNumber"}, "userData"?}: a new session in state `Talking`, announced by a StatusChange
   * before the reply (as the IMSessionInitiateIM sample, without referenceId); `userData` is
   * documented and kept. The number is an extension outside this stand-in (no agent of it is
   * reached). The page also says an agent takes part in one IM session at a time; this stand-in
   * does not refuse a second one (see README: the harness runs IM scenarios side by side).
   */
  async function initiateIm(req, agent) {
    const { body, op } = await operationBody(req);
    if (op !== "InitiateIMSession") throw gwsError(400, 2, `Operation '${op}' is not supported on im-sessions`);
    requireSession(agent, IM_CHANNELS);
    const destination = body.destination;
    if (destination === undefined || destination === null) throw missing("destination");
    if (!isObject(destination)) throw invalid("destination", "an object with phoneNumber");
    const number = destination.phoneNumber;
    if (number === undefined || number === null) throw missing("destination.phoneNumber");
    if (typeof number !== "string" || number === "") throw invalid("destination.phoneNumber", "a non-empty string");
    const userData = body.userData ?? {};
    if (!isObject(userData)) throw invalid("userData", "an object of key/value pairs");
    const i = newInteraction(agent, "im", userData, { peerNumber: number });
    await adapter.publish(agent, MEDIA.im.channel, notification(i, undefined, "StatusChange"));
    return { status: 200, body: { statusCode: 0 } };
  }

  /** What waits and what is offered, for tests and for `serve.js`. */
  function routing() {
    const count = (list) => list.reduce((acc, e) => ({ ...acc, [e.media]: (acc[e.media] ?? 0) + 1 }), {});
    return {
      waiting: count(waiting),
      offered: count([...interactions.values()].filter((i) => i.state === INVITED.state)),
      customerChats: customerChats.size,
      ready: Object.fromEntries(agentNames.map((a) => [a, [...readyOn.get(a)].sort()])),
    };
  }

  /** POST /api/v2/me/devices/{deviceId}/calls {"operationName": "Dial", ...}. */
  async function dial(req, agent, deviceId) {
    if (!offered.has("voice")) throw noRoute(`Resource ${req.method} ${req.url}`);
    if (devices.get(agent)?.id !== deviceId) throw notFound(`Device '${deviceId}'`);
    const { body, op } = await operationBody(req);
    if (op !== "Dial") throw gwsError(400, 2, `Operation '${op}' is not supported on a device's calls`);
    requireSession(agent, ["voice"]);
    const destination = body.destination;
    if (destination === undefined || destination === null) throw missing("destination");
    if (!isObject(destination)) throw invalid("destination", "an object with phoneNumber");
    const number = destination.phoneNumber;
    if (number === undefined || number === null) throw missing("destination.phoneNumber");
    if (typeof number !== "string" || number === "") throw invalid("destination.phoneNumber", "a non-empty string");
    const userData = body.userData ?? {};
    if (!isObject(userData)) throw gwsError(400, 1, "Parameter 'userData' must be an object of key/value pairs");
    const i = newInteraction(agent, "voice", userData, {
      state: NATIVE.voice.state,
      capabilities: NATIVE.voice.capabilities,
      callType: "Outbound",
      // e164Number: "+" and the digits when the number is all digits (a choice of our own).
      participants: [{ digits: number, phoneNumber: number, formattedPhoneNumber: number, e164Number: /^\d+$/.test(number) ? `+${number}` : "" }],
      dnis: number,
    });
    // The stand-in's own choice: the new call is announced before the HTTP answer goes out.
    await adapter.publish(agent, MEDIA.voice.channel, notification(i, undefined, "StatusChange"));
    return { status: 200, body: { statusCode: 0 } };
  }

  /**
   * POST on a creatable collection (emails, workitems, twitter, openmedia/{type}):
   * {"operationName": "Create", "queueUri" | "queuePath": ...}.
   */
  async function create(req, agent, media, openMediaType) {
    if (media === "im") return initiateIm(req, agent);
    const { body, op } = await operationBody(req);
    if (op !== "Create" || !Object.hasOwn(NATIVE, media) || media === "voice") {
      throw gwsError(400, 2, `Operation '${op}' is not supported on this collection`);
    }
    requireSession(agent, media === "openmedia" ? [openMediaType, "openmedia"] : [media]);
    // Twitter names its queue by path, the others by URI.
    const queueParam = media === "twitter" ? "queuePath" : "queueUri";
    const queue = body[queueParam];
    if (queue === undefined || queue === null) throw missing(queueParam);
    if (typeof queue !== "string" || queue === "") throw invalid(queueParam, "a non-empty string");
    // Only the email Create page documents userData; the others ignore it.
    let userData = {};
    if (media === "email") {
      userData = body.userData ?? {};
      if (!isObject(userData)) throw gwsError(400, 1, "Parameter 'userData' must be an object of key/value pairs");
    }
    const init = { state: NATIVE[media].state, capabilities: NATIVE[media].capabilities, queue };
    if (media === "email") init.subject = "";
    if (media === "openmedia") Object.assign(init, { openMediaType, direction: "Outbound" });
    const i = newInteraction(agent, media, userData, init);
    const m = MEDIA[media];
    const referenceId = takeReferenceId(m);
    await adapter.publish(agent, m.channel, notification(i, referenceId, "StatusChange"));
    return { status: 200, body: m.referenceId.response ? { statusCode: 0, referenceId } : { statusCode: 0 } };
  }

  /** GET /api/v2/me/{collection}: URIs, or the resources with fields=*; the caller's only. */
  function listing(agent, media, collection, query, openMediaType) {
    const mine = [...interactions.values()].filter(
      (i) => i.owner === agent && i.media === media && (openMediaType === undefined || i.openMediaType === openMediaType),
    );
    if (query.get("fields") === "*") {
      return { status: 200, body: { [LIST_KEY[collection] ?? collection]: mine.map((i) => render(i, { forGet: true })), statusCode: 0 } };
    }
    return { status: 200, body: { uris: mine.map((i) => base + pathOf(i)), statusCode: 0 } };
  }

  /** GET or POST on a collection URL. */
  async function collection(req, agent, media, name, query, openMediaType) {
    if (!offered.has(media)) throw noRoute(`Resource ${req.method} ${req.url}`);
    if (req.method === "GET") return listing(agent, media, name, query, openMediaType);
    if (req.method === "POST") return create(req, agent, media, openMediaType);
    throw notAllowed(req.method);
  }

  async function route(req, caller, path, query) {
    const agent = caller.agent;
    const method = req.method;
    if (path === "/api/v2/notifications" || path.startsWith("/api/v2/notifications/")) {
      if (method !== "POST") throw Object.assign(gwsError(405, 2, "The notification endpoint takes POST"), { routing: true });
      return { bayeux: true };
    }
    if (path === "/api/v2/me" && method === "GET") {
      const user = {
        userName: agent,
        firstName: agent,
        lastName: "Stand-in",
        roles: ["ROLE_AGENT"],
        id: userId(agent),
        path: "/me",
        uri: `${base}/api/v2/me`,
      };
      const subresources = (query.get("subresources") ?? "").split(",").map((s) => s.trim());
      if (subresources.includes("*") || subresources.includes("devices")) user.devices = [renderDevice(agent)];
      return { status: 200, body: { statusCode: 0, user } };
    }
    if ((path === "/api/v2/me" || path === "/api/v2/me/") && method === "POST") return meOperation(req, caller);
    if (path === "/api/v2/me/devices" && method === "GET") {
      if (query.get("fields") === "*") return { status: 200, body: { devices: [renderDevice(agent)], statusCode: 0 } };
      return { status: 200, body: { uris: [renderDevice(agent).uri], statusCode: 0 } };
    }
    let m = /^\/api\/v2\/(?:me\/)?devices\/([^/]+)$/.exec(path);
    if (m && method === "GET") {
      if (devices.get(agent)?.id !== decodeURIComponent(m[1])) throw notFound(`Device '${decodeURIComponent(m[1])}'`);
      return { status: 200, body: { device: renderDevice(agent), statusCode: 0 } };
    }
    m = /^\/api\/v2\/me\/devices\/([^/]+)\/calls$/.exec(path);
    if (m && method === "POST") return dial(req, agent, decodeURIComponent(m[1]));
    m = /^\/api\/v2\/me\/channels\/([^/]+)$/.exec(path);
    if (m && method === "POST") return channelOperation(req, agent, decodeURIComponent(m[1]));
    m = /^\/api\/v2\/queues\/([^/]+)$/.exec(path);
    if (m && method === "GET") {
      // Any queue exists (informational: the harness's doctor reads it).
      const id = decodeURIComponent(m[1]);
      return { status: 200, body: { queue: { name: `Stand-in queue ${id}`, path: `/queues/${id}`, uri: `${base}/api/v2/queues/${id}`, id }, statusCode: 0 } };
    }
    if (path === "/api/v2/features" && method === "GET") {
      const features = [...new Set([...offered].map((m) => MEDIA[m].feature))].sort().reverse();
      // The documented default of collection GETs is a list of URIs; fields=* gives objects.
      if (query.get("fields") === "*") {
        return { status: 200, body: { statusCode: 0, features: features.map((id) => ({ id, path: `/features/${id}` })) } };
      }
      return { status: 200, body: { statusCode: 0, uris: features.map((id) => `${base}/api/v2/features/${id}`) } };
    }
    if (!fixtures && (path === "/conformance" || path.startsWith("/conformance/"))) {
      throw noRoute(`Resource ${method} ${path} (the fixture contract is off)`);
    }
    if (path === "/conformance/v1/interactions" && method === "POST") {
      let request;
      try {
        request = JSON.parse(await readBody(req));
      } catch {
        throw gwsError(400, 2, "The body is not JSON");
      }
      return createFixture(agent, request);
    }
    m = /^\/conformance\/v1\/interactions\/([^/]+)$/.exec(path);
    if (m && method === "DELETE") {
      const id = decodeURIComponent(m[1]);
      const i = interactions.get(id);
      if (!i || i.owner !== agent) throw notFound(`Interaction '${id}'`);
      interactions.delete(id);
      return { status: 204 };
    }
    m = /^\/api\/v2\/me\/openmedia\/([^/]+)\/([^/]+)$/.exec(path);
    if (m) return interaction(req, agent, "openmedia", decodeURIComponent(m[2]), decodeURIComponent(m[1]));
    m = /^\/api\/v2\/me\/openmedia\/([^/]+)$/.exec(path);
    if (m && CHANNEL_NAME.test(decodeURIComponent(m[1]))) {
      return collection(req, agent, "openmedia", "openmedia", query, decodeURIComponent(m[1]));
    }
    m = /^\/api\/v2\/me\/([^/]+)\/([^/]+)$/.exec(path);
    if (m && byCollection.has(m[1]) && m[1] !== "openmedia") {
      return interaction(req, agent, byCollection.get(m[1]), decodeURIComponent(m[2]));
    }
    m = /^\/api\/v2\/me\/([^/]+)$/.exec(path);
    if (m && byCollection.has(m[1]) && m[1] !== "openmedia") return collection(req, agent, byCollection.get(m[1]), m[1], query);
    throw noRoute(`Resource ${method} ${path}`);
  }

  function send(res, status, body, headers = {}) {
    const text = typeof body === "string";
    const payload = body === undefined ? "" : text ? body : JSON.stringify(body);
    res.writeHead(status, {
      ...(body === undefined ? {} : { "content-type": text ? "text/plain; charset=utf-8" : "application/json" }),
      "content-length": Buffer.byteLength(payload),
      ...headers,
    });
    res.end(payload);
  }

  /**
   * Authenticates the request: Basic credentials (wrong ones are always refused), or the
   * JSESSIONID cookie alone. Returns {agent, session, isNew}, or null.
   */
  function authenticate(req) {
    const header = req.headers.authorization;
    const creds = header === undefined ? null : parseBasic(header);
    if (header !== undefined && (!creds || !Object.hasOwn(agents, creds.user) || agents[creds.user] !== creds.password)) {
      return null;
    }
    const sid = cookie(req, "JSESSIONID");
    const existing = sid === undefined ? undefined : sessions.get(sid);
    if (existing && (!creds || creds.user === existing.agent)) return { agent: existing.agent, sid, session: existing, isNew: false };
    if (!creds) return null;
    const session = { agent: creds.user, token: randomUUID() };
    const newSid = hex(20).toUpperCase();
    sessions.set(newSid, session);
    // Clients without a cookie store open a session per request; keep the newest ones only.
    if (sessions.size > MAX_SESSIONS) sessions.delete(sessions.keys().next().value);
    return { agent: creds.user, sid: newSid, session, isNew: true };
  }

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    const path = url.pathname;
    if (!fixtures && (path === "/conformance" || path.startsWith("/conformance/"))) {
      // Not part of a stock GWS at all: unknown whatever the credentials.
      req.resume();
      send(res, 404, { statusCode: 6, statusMessage: `Resource ${req.method} ${path} not found` });
      return;
    }
    const customer = /^\/api\/v2\/chats(?:\/([^/]+))?$/.exec(path);
    if (customer) {
      // The Customer Chat API: no agent credentials, no agent session, so no CSRF token.
      try {
        const r = await customerChat(req, customer[1] === undefined ? undefined : decodeURIComponent(customer[1]));
        send(res, r.status, r.body);
      } catch (e) {
        req.resume();
        if (e instanceof HttpError) {
          send(res, httpStatusOf(e, path), e.body, e.headers);
        } else {
          console.error(`[${name}]`, e);
          if (!res.headersSent) send(res, 500, { statusCode: 4, statusMessage: String(e?.message ?? e) });
        }
      }
      return;
    }
    const caller = authenticate(req);
    if (!caller) {
      req.resume();
      send(res, 401, { statusCode: 20, statusMessage: "User is not authenticated" }, { "www-authenticate": 'Basic realm="Genesys Web Services"' });
      return;
    }
    if (caller.isNew) {
      // Bayeux servers set cookies of their own (BAYEUX_BROWSER): add to ours, never replace it.
      const setHeader = res.setHeader.bind(res);
      res.setHeader = (header, value) =>
        header.toLowerCase() === "set-cookie"
          ? setHeader(header, [res.getHeader("set-cookie") ?? [], value].flat())
          : setHeader(header, value);
      res.setHeader("set-cookie", `JSESSIONID=${caller.sid}; Path=/; HttpOnly`);
    }
    const modifying = !["GET", "HEAD", "OPTIONS"].includes(req.method);
    if (csrf) {
      if (!modifying) {
        res.setHeader("X-CSRF-HEADER", "X-CSRF-TOKEN");
        res.setHeader("X-CSRF-TOKEN", caller.session.token);
      } else if (path.startsWith("/api/") && (caller.isNew || req.headers["x-csrf-token"] !== caller.session.token)) {
        // Every modifying request of the API (Bayeux included) needs the token of its session;
        // a request that opens a session cannot know it yet. The fixture contract is not part
        // of the GWS API and is not protected.
        stats.csrfRejected += 1;
        req.resume();
        send(res, 403, CSRF_REJECTED);
        return;
      }
    }
    try {
      const r = await route(req, caller, path, url.searchParams);
      if (r.bayeux) return adapter.handle(req, res, caller.agent);
      send(res, r.status, r.body);
      // A notification that follows the reply (asynchronous refusals, error notifications).
      if (r.after) await r.after();
    } catch (e) {
      if (e instanceof HttpError) {
        req.resume();
        send(res, httpStatusOf(e, path), e.body, e.headers);
      } else {
        console.error(`[${name}]`, e);
        if (!res.headersSent) send(res, 500, { statusCode: 4, statusMessage: String(e?.message ?? e) });
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
    csrf,
    fixtures,
    stats,
    routing,
    contactCenterId,
    offered: [...offered],
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
