// Part A (1): the official CometD JavaScript client (npm cometd + cometd-nodejs-client),
// long-polling only, against the reference server.
import { clientSuite } from "../lib/client-suite.js";

clientSuite("CometD");
