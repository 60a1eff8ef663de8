import type { Pool } from "undici";
import type { Call } from "./clients.js";

/** One thing the load generator calls, and which process it charges CPU and memory to. */
export interface Target {
  id: string;
  label: string;
  kind: "unary" | "stream";
  /** The target the overhead is computed against (`direct` / `direct-stream`); none for baselines. */
  baseline: string | null;
  /** Reference rows (e.g. the bare gRPC round trip) are reported but not charted or searched. */
  reference?: boolean;
  /**
   * A variant row of a sovr target (a feature switched on, another prompt size), measured beside
   * the default rows at `rates` only; not charted, not saturation-searched.
   */
  variant?: string;
  /**
   * Searched for its maximum rate on its own, before the others' searches run side by side
   * (bench/lib/matrix.ts): the baseline and the floor climb to thousands of req/s, and the work
   * such a step leaves the shared simulator (a collection of what it allocated) would land on
   * whichever target stepped next.
   */
  searchedAlone?: boolean;
  /** The fixed rates this target runs at (all when absent). */
  rates?: number[];
  /** System (process) name whose CPU and RSS this target is charged. */
  system: string;
  /** How the client reaches it, for the report. */
  client: string;
  call: Call;
  close(): Promise<void> | void;
}

export interface TargetSkipped {
  id: string;
  label: string;
  reason: string;
}

export const closePool = (p: Pool) => () => p.close();
