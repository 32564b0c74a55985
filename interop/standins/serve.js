#!/usr/bin/env node
// Runs one stand-in in the foreground, for trying the harness by hand:
//   node interop/standins/serve.js cometd|faye [--port N]
// then `gws-conformance run --target FILE` with a target file naming the printed URL.

import { startStandIn } from "./index.js";

const [kind = "cometd", ...rest] = process.argv.slice(2);
const portAt = rest.indexOf("--port");
const port = portAt >= 0 ? Number(rest[portAt + 1]) : 0;
const standIn = await startStandIn(kind, { port });
console.log(`${standIn.name} listening on ${standIn.url} (agents agent1/agent1-pass, agent2/agent2-pass)`);
const stop = async () => {
  await standIn.stop();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
