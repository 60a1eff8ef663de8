// The public face of app/: other folders import only what is exported here.
export { byokGate } from "./admin-trail.js";
export type { App, StartOptions } from "./app.js";
export { runPrimary, WorkerLink } from "./cluster/index.js";
export { limitHeapGrowth } from "./heap-growth.js";
export { withLocalTrail } from "./local-trail.js";
export { stopPretenuring } from "./pretenuring.js";
export { FLUSH_FLOOR_MS } from "./shutdown.js";
export { startApp } from "./start-app.js";
