import type { Kysely } from "kysely";
import type { Database } from "../db/index.js";
import type { BundleRef } from "./types.js";

/** Keeps every bundle that served (by sha256), so a decision that names it can be replayed. */
export async function saveBundle(db: Kysely<Database>, bytes: Uint8Array, ref: BundleRef): Promise<void> {
  await db
    .insertInto("policy_bundles")
    .values({ sha256: ref.sha256, revision: ref.revision, bundle: bytes })
    .onConflict((oc) => oc.column("sha256").doNothing())
    .execute();
}
