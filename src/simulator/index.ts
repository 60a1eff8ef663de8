// The public face of simulator/: other folders import only what is exported here.
export { type Simulator, startSimulator } from "./simulator.js";
