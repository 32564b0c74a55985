// The two GWS stand-ins, by name.

import { createGwsStandIn } from "./gws.js";
import { cometdBayeux } from "./cometd.js";
import { fayeBayeux } from "./faye.js";

export const STANDINS = {
  cometd: { title: "cometd-nodejs-server stand-in", bayeux: cometdBayeux },
  faye: { title: "Faye NodeAdapter stand-in", bayeux: fayeBayeux },
};

/**
 * Creates and starts a stand-in; resolves with it once it listens (see `url`).
 * Options: `port` (0 = any), `csrf` (the documented CSRF protection), `offer` (media names).
 */
export async function startStandIn(kind, { port = 0, csrf = false, offer } = {}) {
  const spec = STANDINS[kind];
  if (!spec) throw new Error(`unknown stand-in ${kind}; one of ${Object.keys(STANDINS).join(", ")}`);
  const title = csrf ? `${spec.title} (CSRF on)` : spec.title;
  const standIn = createGwsStandIn({ name: title, bayeux: spec.bayeux, port, csrf, ...(offer ? { offer } : {}) });
  await standIn.start();
  return standIn;
}
