// Whether the official CometD JavaScript client can work with a Bayeux endpoint: the whole
// life cycle a GWS client goes through, each step with its own deadline. Resolves with
// {works, step, reason}: `step` is the first step that failed (null when all passed).

import { cometdClient } from "./clients.js";
import { AGENTS, createInteraction, interactionId, operate, withDeadline } from "./util.js";

/** Deadline of each step: far longer than the reference server takes, far shorter than a hang. */
export const STEP_DEADLINE_MS = 5_000;

/**
 * As agent1: handshake and subscribe to /v2/me/* (acknowledged), create a chat through the
 * fixture contract and update it, receive that notification, disconnect.
 */
export async function cometdWorks(base, { agent = "agent1" } = {}) {
  const client = cometdClient(base, agent, AGENTS[agent]);
  let step = "handshake and subscribe to /v2/me/*";
  try {
    await withDeadline(client.start(), STEP_DEADLINE_MS, step);
    step = "receive the UpdateUserData notification";
    const chat = await createInteraction(base, agent, "chat", { A: "1" });
    await operate(base, agent, chat.path, { operationName: "UpdateUserData", userData: { B: "2" } });
    await client.messages.waitFor((m) => interactionId(m.data) === chat.id, step, { ms: STEP_DEADLINE_MS });
    step = "disconnect";
    const bye = await withDeadline(client.disconnect(), STEP_DEADLINE_MS, step);
    if (bye?.successful !== true) throw new Error(`unsuccessful disconnect reply: ${JSON.stringify(bye)}`);
    return { works: true, step: null, reason: null };
  } catch (e) {
    return { works: false, step, reason: String(e.message ?? e).slice(0, 500) };
  } finally {
    client.abort();
  }
}
