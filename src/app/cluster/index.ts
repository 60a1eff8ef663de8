// The public face of app/cluster/: several `sovr serve` workers on one host (SOVR_WORKERS).
export { isRelayedBy, joinCluster, type RelayedBy } from "./join.js";
export { runPrimary } from "./primary.js";
export { WorkerLink } from "./worker-link.js";
