import { sql } from "kysely";
import { countApiKeys, createApiKey } from "../auth/index.js";
import type { DatabaseHandle } from "../db/index.js";

/** Advisory lock taken while deciding whether this start creates the development key ("sovk"). */
const DEV_KEY_LOCK = 0x736f766b;

/**
 * On the very first start with auth on, one development key — a platform operator with every
 * role and every tenant, for local use — created and shown once (never logged). Replicas
 * starting together on one fresh database decide under a lock: exactly one creates it, and
 * the others, past the lock, find it (and so hold it when they read the key table).
 */
export async function createDevKeyOnFirstStart(
  db: DatabaseHandle,
  announce: (token: string) => void = printDevKey,
): Promise<void> {
  const token = await db.db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${DEV_KEY_LOCK})`.execute(trx);
    if ((await countApiKeys(trx)) > 0) return undefined;
    const created = await createApiKey(trx, {
      tenant: "default",
      roles: ["client", "auditor", "admin", "operator"],
      allTenants: true,
      description: "development operator key (created on first start; local use)",
    });
    return created.token;
  });
  if (token) announce(token);
}

function printDevKey(token: string): void {
  process.stderr.write(
    [
      "",
      "  DEVELOPMENT API KEY — created on first start, shown only this once.",
      "  It is a PLATFORM OPERATOR key for local use: every role (client, auditor, admin,",
      '  operator) for tenant "default", and it reads every tenant\'s decision records.',
      "  It can change the catalog and create any key, including operator keys. For real",
      "  use, create scoped keys with `sovr keys create` and revoke this one.",
      "",
      `    export SOVR_KEY=${token}`,
      "",
      "",
    ].join("\n"),
  );
}
