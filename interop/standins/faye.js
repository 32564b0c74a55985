// Bayeux adapter on Faye's server (npm `faye`, NodeAdapter).
//
// Faye has no per-client delivery API, so per-agent delivery is done with its documented
// server extensions, which see the HTTP request of every message:
//   - incoming: a message that names a client id bound to another agent is refused as an
//     unknown client; clients cannot publish (GWS channels are server-to-client only);
//   - outgoing: a successful /meta/handshake reply binds its clientId to the agent whose Basic
//     credentials carried the handshake; a notification travelling in a /meta/connect response
//     is delivered only when that connect's client belongs to the notification's agent, and it
//     is unwrapped from the envelope the server-side publisher put around it.
// Notifications are published by Faye's in-process server client, on the real channel.

import faye from "faye";

const ENVELOPE = "__gwsStandInEnvelope";

export function fayeBayeux({ timeoutSeconds = 20 } = {}) {
  const adapter = new faye.NodeAdapter({ mount: "/api/v2/notifications", timeout: timeoutSeconds });
  /** client id -> agent */
  const owners = new Map();
  const stats = { handshakes: {}, delivered: {}, withheld: 0, refusedForeignSession: 0 };
  adapter.on("disconnect", (clientId) => owners.delete(clientId));

  adapter.addExtension({
    incoming(message, request, callback) {
      if (!request) return callback(message); // the in-process publisher
      const agent = request.gwsAgent;
      if (!message.channel?.startsWith("/meta/")) {
        message.error = "403::Publish denied";
        return callback(message);
      }
      const owner = message.clientId === undefined ? undefined : owners.get(message.clientId);
      if (owner !== undefined && owner !== agent) {
        stats.refusedForeignSession += 1;
        message.error = `401:${message.clientId}:Unknown client`;
      }
      if (message.channel === "/meta/connect") request.gwsConnectClientId = message.clientId;
      callback(message);
    },
    outgoing(message, request, callback) {
      if (!request) return callback(message);
      if (message.channel === "/meta/handshake" && message.successful) {
        owners.set(message.clientId, request.gwsAgent);
        stats.handshakes[request.gwsAgent] = (stats.handshakes[request.gwsAgent] ?? 0) + 1;
      }
      const envelope = message.data?.[ENVELOPE];
      if (envelope) {
        const recipient = owners.get(request.gwsConnectClientId);
        if (recipient !== envelope.agent) {
          stats.withheld += 1;
          return callback(null);
        }
        stats.delivered[recipient] = (stats.delivered[recipient] ?? 0) + 1;
        // The same message object is queued for every subscriber: copy, never mutate.
        return callback({ ...message, data: envelope.data });
      }
      callback(message);
    },
  });

  const publisher = adapter.getClient();

  return {
    name: "faye",
    stats,
    handle(req, res, agent) {
      req.gwsAgent = agent;
      adapter.handle(req, res);
    },
    publish(agent, channel, data) {
      // Resolves when the server acknowledged the publication, i.e. it is queued for delivery.
      return new Promise((resolve, reject) => {
        publisher.publish(channel, { [ENVELOPE]: { agent, data } }).then(resolve, reject);
      });
    },
    close() {
      publisher.disconnect();
      adapter.close();
    },
  };
}
