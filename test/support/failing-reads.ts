import type { KyselyPlugin } from "kysely";

/**
 * A kysely plugin that fails every select while `failing` is set ("connection lost"), as a
 * database that stopped answering reads would; writes go through. For the stores that hold a
 * table in memory and read it again (the key table, the budgets).
 */
export function failingReads(): { plugin: KyselyPlugin; failing: boolean } {
  const state = {
    failing: false,
    plugin: {
      transformQuery({ node }) {
        if (state.failing && node.kind === "SelectQueryNode") throw new Error("connection lost");
        return node;
      },
      async transformResult({ result }) {
        return result;
      },
    } as KyselyPlugin,
  };
  return state;
}
