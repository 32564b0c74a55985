#!/usr/bin/env node
// Runs one stand-in in the foreground, for trying the harness by hand:
//   node interop/standins/serve.js cometd|faye [--port N] [--csrf] [--offer voice,chat] [--no-fixtures]
//        [--inbound sms=2,facebook-pm=2] [--contact-center-id ID]
// then `gws-conformance run --target FILE` with a target file naming the printed URL.

import { parseArgs } from "node:util";
import { startStandIn } from "./index.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    port: { type: "string", default: "0" },
    csrf: { type: "boolean", default: false },
    offer: { type: "string" },
    // Without the fixture contract: a stock GWS, interactions only from Dial and Create.
    "no-fixtures": { type: "boolean", default: false },
    // Waiting customers per media, offered to an agent Ready on the channel: sms=2,facebook-pm=2.
    inbound: { type: "string", default: "" },
    "contact-center-id": { type: "string" },
  },
});
const inbound = {};
for (const part of values.inbound.split(",").map((s) => s.trim()).filter(Boolean)) {
  const m = /^([a-z-]+)=(\d+)$/.exec(part);
  if (!m) {
    console.error(`--inbound: '${part}' is not MEDIA=COUNT (e.g. sms=2,facebook-pm=2)`);
    process.exit(2);
  }
  inbound[m[1]] = Number(m[2]);
}
const kind = positionals[0] ?? "cometd";
const standIn = await startStandIn(kind, {
  port: Number(values.port),
  csrf: values.csrf,
  offer: values.offer?.split(",").map((s) => s.trim()).filter(Boolean),
  fixtures: !values["no-fixtures"],
  inbound,
  contactCenterId: values["contact-center-id"],
});
console.log(
  `${standIn.name} listening on ${standIn.url} (agents agent1/agent1-pass, agent2/agent2-pass; ` +
    `media ${standIn.offered.join(", ")}; CSRF ${standIn.csrf ? "on" : "off"}; ` +
    `fixture contract ${standIn.fixtures ? "at /conformance/v1" : "off"}; ` +
    `Customer Chat API at ${standIn.url}/api/v2/chats with ContactCenterId ${standIn.contactCenterId}; ` +
    `waiting ${JSON.stringify(standIn.routing().waiting)})`,
);
const stop = async () => {
  await standIn.stop();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
