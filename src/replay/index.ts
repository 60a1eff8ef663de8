// The public face of replay/: other folders import only what is exported here.
export { Replayer } from "./replay.js";
