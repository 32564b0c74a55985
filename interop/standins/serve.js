#!/usr/bin/env node
// Runs one stand-in in the foreground, for trying the harness by hand:
//   node interop/standins/serve.js cometd|faye [--port N] [--csrf] [--offer voice,chat] [--no-fixtures]
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
  },
});
const kind = positionals[0] ?? "cometd";
const standIn = await startStandIn(kind, {
  port: Number(values.port),
  csrf: values.csrf,
  offer: values.offer?.split(",").map((s) => s.trim()).filter(Boolean),
  fixtures: !values["no-fixtures"],
});
console.log(
  `${standIn.name} listening on ${standIn.url} (agents agent1/agent1-pass, agent2/agent2-pass; ` +
    `media ${standIn.offered.join(", ")}; CSRF ${standIn.csrf ? "on" : "off"}; ` +
    `fixture contract ${standIn.fixtures ? "at /conformance/v1" : "off"})`,
);
const stop = async () => {
  await standIn.stop();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
