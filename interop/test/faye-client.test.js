// Part A (2): the Faye client (npm faye), long-polling only, against the reference server.
import { clientSuite } from "../lib/client-suite.js";

clientSuite("Faye");
