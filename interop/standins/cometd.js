// Bayeux adapter on the official CometD server for Node (npm `cometd-nodejs-server`).
//
// Each Bayeux session is bound at handshake to the agent whose Basic credentials carried the
// handshake; notifications are delivered with ServerSession.deliver() to that agent's sessions
// only, and only to those subscribed to a channel pattern matching the notification channel.
// Messages that name a session of another agent are refused as an unknown session.
// Clients cannot publish: GWS channels are server-to-client only.

import cometdServer from "cometd-nodejs-server";
import { Buffer } from "node:buffer";
import { channelMatches } from "./gws.js";

const AGENT = Symbol("gws-agent");

export function cometdBayeux({ timeoutMs = 20_000 } = {}) {
  const server = cometdServer.createCometDServer({ timeout: timeoutMs });
  /** session id -> agent */
  const owners = new Map();
  const stats = { handshakes: {}, delivered: {}, refusedForeignSession: 0 };

  server.policy = {
    canHandshake(session, message, callback) {
      const agent = message[AGENT];
      if (!agent) return callback(undefined, false);
      owners.set(session.id, agent);
      stats.handshakes[agent] = (stats.handshakes[agent] ?? 0) + 1;
      session.addListener("removed", () => owners.delete(session.id));
      callback(undefined, true);
    },
    canPublish(session, message, channel, callback) {
      callback(undefined, false);
    },
  };

  function refuse(res, messages, error) {
    const replies = messages.map((m) => ({
      id: m.id,
      channel: m.channel,
      successful: false,
      error,
      advice: { reconnect: "handshake", interval: 0 },
    }));
    const body = JSON.stringify(replies);
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  }

  return {
    name: "cometd-nodejs-server",
    stats,
    handle(req, res, agent) {
      const chunks = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => {
        let parsed;
        try {
          parsed = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        } catch {
          res.writeHead(400).end();
          return;
        }
        const messages = Array.isArray(parsed) ? parsed : [parsed];
        if (messages.length === 0 || !messages.every((m) => m && typeof m === "object" && !Array.isArray(m))) {
          res.writeHead(400).end();
          return;
        }
        for (const m of messages) {
          const owner = m.clientId === undefined ? undefined : owners.get(m.clientId);
          if (owner !== undefined && owner !== agent) {
            stats.refusedForeignSession += 1;
            refuse(res, messages, "402::session_unknown");
            return;
          }
          Object.defineProperty(m, AGENT, { value: agent, enumerable: false });
        }
        // cometd-nodejs-server finds sessions through its BAYEUX_BROWSER cookie, while Bayeux
        // identifies a client by its clientId alone; clients without a cookie store (the Node
        // CometD client among them) would get 402 on every message after the handshake. The
        // cookie is supplied from the session the clientId names (already checked to be the
        // caller's).
        const known = messages.map((m) => m.clientId !== undefined && owners.has(m.clientId) && server.getServerSession(m.clientId)).find(Boolean);
        if (known?._browserId && !/(^|;\s*)BAYEUX_BROWSER=/.test(req.headers.cookie ?? "")) {
          req.headers.cookie = [req.headers.cookie, `BAYEUX_BROWSER=${known._browserId}`].filter(Boolean).join("; ");
        }
        // The CometD transport takes pre-parsed messages from request.body.
        req.body = messages;
        server.handle(req, res);
      });
    },
    async publish(agent, channel, data) {
      const deliveries = [];
      for (const [id, owner] of owners) {
        if (owner !== agent) continue;
        const session = server.getServerSession(id);
        if (!session || !session.subscriptions.some((c) => channelMatches(c.name, channel))) continue;
        deliveries.push(
          new Promise((resolve, reject) =>
            session.deliver(null, channel, data, (failure) => (failure ? reject(failure) : resolve())),
          ),
        );
        stats.delivered[agent] = (stats.delivered[agent] ?? 0) + 1;
      }
      await Promise.all(deliveries);
    },
    close() {
      server.close();
    },
  };
}
