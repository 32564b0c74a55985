// Small helpers shared by the interop tests: credentials, HTTP calls to a GWS server, and
// event waiting with deadlines (never fixed sleeps).

import { Buffer } from "node:buffer";

/** The agents both the reference server and the stand-ins know. */
export const AGENTS = {
  agent1: "agent1-pass",
  agent2: "agent2-pass",
};

/** Default deadline for one awaited event. */
export const EVENT_DEADLINE_MS = 10_000;

export function basicAuth(user, password = AGENTS[user]) {
  return "Basic " + Buffer.from(`${user}:${password}`).toString("base64");
}

/**
 * Rejects with `what` when `promise` has not settled within `ms`; the timer never keeps the
 * process alive.
 */
export function withDeadline(promise, ms, what) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`deadline of ${ms} ms passed waiting for ${what}`)), ms);
    timer.unref?.();
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * An append-only list of events with waiting: `waitFor(predicate)` resolves with the first
 * event (already received or future) that matches, or rejects at the deadline with everything
 * received so far, so a failure says what did arrive.
 */
export class Mailbox {
  constructor(name) {
    this.name = name;
    this.items = [];
    this.waiters = new Set();
  }

  push(item) {
    this.items.push(item);
    for (const w of [...this.waiters]) {
      if (w.predicate(item)) {
        this.waiters.delete(w);
        w.resolve(item);
      }
    }
  }

  /** The position of `item` (for `since`), or -1. */
  indexOf(item) {
    return this.items.indexOf(item);
  }

  /**
   * Resolves with the first event matching `predicate` at position `since` or later (already
   * received or future); rejects at the deadline.
   */
  waitFor(predicate, what = "a matching event", { since = 0, ms = EVENT_DEADLINE_MS } = {}) {
    const matches = (item) => this.items.indexOf(item) >= since && predicate(item);
    const found = this.items.slice(since).find(predicate);
    if (found !== undefined) return Promise.resolve(found);
    let waiter;
    const p = new Promise((resolve) => {
      waiter = { predicate: matches, resolve };
      this.waiters.add(waiter);
    });
    return withDeadline(p, ms, `${what} in ${this.name}`).catch((e) => {
      this.waiters.delete(waiter);
      e.message += `; received so far: ${JSON.stringify(this.items).slice(0, 2000)}`;
      throw e;
    });
  }
}

/** One HTTP request to a GWS server with the agent's Basic credentials; JSON in and out. */
export async function gws(base, method, path, { agent = "agent1", body, auth } = {}) {
  const headers = {};
  if (auth !== null) headers.authorization = auth ?? basicAuth(agent);
  let payload;
  if (body !== undefined) {
    headers["content-type"] = "application/json";
    payload = typeof body === "string" ? body : JSON.stringify(body);
  }
  const url = path.startsWith("http") ? path : base + path;
  const response = await fetch(url, {
    method,
    headers,
    body: payload,
    signal: AbortSignal.timeout(EVENT_DEADLINE_MS),
  });
  const text = await response.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, body: json, text, headers: response.headers };
}

/** Creates an interaction through the fixture contract; fails loudly on anything but 201. */
export async function createInteraction(base, agent, media, userData = {}) {
  const r = await gws(base, "POST", "/conformance/v1/interactions", {
    agent,
    body: { media, userData },
  });
  if (r.status !== 201 || typeof r.body?.id !== "string" || typeof r.body?.path !== "string") {
    throw new Error(`fixture POST for ${media} as ${agent} answered ${r.status}: ${r.text}`);
  }
  return r.body;
}

/** POSTs a user-data operation and fails unless it answered 200 {"statusCode": 0}. */
export async function operate(base, agent, path, body) {
  const r = await gws(base, "POST", path, { agent, body });
  if (r.status !== 200 || r.body?.statusCode !== 0) {
    throw new Error(`POST ${path} as ${agent} answered ${r.status}: ${r.text}`);
  }
  return r.body;
}

/** POSTs raw Bayeux messages as `agent`; resolves with the reply array (HTTP 200 only). */
export async function bayeuxRaw(base, agent, messages) {
  const r = await gws(base, "POST", "/api/v2/notifications", { agent, body: messages });
  if (r.status !== 200 || !Array.isArray(r.body)) {
    throw new Error(`the Bayeux endpoint answered HTTP ${r.status}: ${r.text}`);
  }
  return r.body;
}

/**
 * The interaction id inside a GWS notification's data (`data.chat.id`, `data.call.id`, …), or
 * the string `callId` / `interactionId` a voice ErrorMessage may name it by instead.
 */
export function interactionId(data) {
  if (!data || typeof data !== "object") return undefined;
  for (const v of Object.values(data)) {
    if (v && typeof v === "object" && typeof v.id === "string") return v.id;
  }
  for (const k of ["callId", "interactionId"]) if (typeof data[k] === "string") return data[k];
  return undefined;
}

/**
 * The agent-scoped collections whose documented GET lists an agent's interactions
 * (`GET /api/v2/me/{collection}` → `uris`, `?fields=*` → the resources). Both SMS spellings;
 * open media per media type (`openmedia/{mediaType}`).
 */
export const COLLECTIONS = ["calls", "chats", "smssessions", "smsessions", "emails", "workitems", "im-sessions", "facebooksessions", "twitter"];

/**
 * What `agent` still has, per collection listing (both forms of the GET); `{}` when nothing is
 * left. Collections the server does not serve (404) are skipped; any other failure is an
 * entry of its own.
 */
export async function listedInteractions(base, agent, { openmediaTypes = [] } = {}) {
  const left = {};
  for (const collection of [...COLLECTIONS, ...openmediaTypes.map((t) => `openmedia/${t}`)]) {
    for (const query of ["", "?fields=*"]) {
      const r = await gws(base, "GET", `/api/v2/me/${collection}${query}`, { agent });
      if (r.status === 404) continue;
      if (r.status !== 200 || r.body?.statusCode !== 0) {
        left[`${collection}${query}`] = `HTTP ${r.status}: ${r.text.slice(0, 200)}`;
        continue;
      }
      const lists = Object.entries(r.body).filter(([k, v]) => k !== "statusCode" && Array.isArray(v));
      const items = lists.flatMap(([, v]) => v);
      if (lists.length === 0) left[`${collection}${query}`] = `no list in ${r.text.slice(0, 200)}`;
      else if (items.length > 0) left[`${collection}${query}`] = items;
    }
  }
  return left;
}
