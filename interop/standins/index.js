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
 * Options: `port` (0 = any), `csrf` (the documented CSRF protection), `offer` (media names),
 * `fixtures` (false: no fixture contract, `/conformance/v1/*` answers 404; interactions then
 * only come from the documented Dial and Create operations).
 */
export async function startStandIn(kind, { port = 0, csrf = false, offer, fixtures = true } = {}) {
  const spec = STANDINS[kind];
  if (!spec) throw new Error(`unknown stand-in ${kind}; one of ${Object.keys(STANDINS).join(", ")}`);
  const notes = [csrf && "CSRF on", !fixtures && "no fixtures"].filter(Boolean);
  const title = notes.length ? `${spec.title} (${notes.join(", ")})` : spec.title;
  const standIn = createGwsStandIn({ name: title, bayeux: spec.bayeux, port, csrf, fixtures, ...(offer ? { offer } : {}) });
  await standIn.start();
  return standIn;
}
