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
 * only come from the documented operations and routing), `inbound` (waiting customers per
 * media, e.g. `{sms: 2, "facebook-pm": 2}`), `contactCenterId` (the Customer Chat API's),
 * `acceptAsDocumented` (an Accept announced by the ChatAccept page's two notifications).
 */
export async function startStandIn(kind, { port = 0, csrf = false, offer, fixtures = true, inbound = {}, contactCenterId, acceptAsDocumented = false } = {}) {
  const spec = STANDINS[kind];
  if (!spec) throw new Error(`unknown stand-in ${kind}; one of ${Object.keys(STANDINS).join(", ")}`);
  const waitingNote = Object.entries(inbound).map(([m, n]) => `${m}=${n}`).join(",");
  const notes = [csrf && "CSRF on", !fixtures && "no fixtures", waitingNote && `inbound ${waitingNote}`].filter(Boolean);
  const title = notes.length ? `${spec.title} (${notes.join(", ")})` : spec.title;
  const standIn = createGwsStandIn({
    name: title,
    bayeux: spec.bayeux,
    port,
    csrf,
    fixtures,
    inbound,
    acceptAsDocumented,
    ...(offer ? { offer } : {}),
    ...(contactCenterId ? { contactCenterId } : {}),
  });
  await standIn.start();
  return standIn;
}
