import { countApiKeys, createApiKey } from "../auth/index.js";
import type { DatabaseHandle } from "../db/index.js";

/**
 * On the very first start with auth on, one development key — a platform operator with every
 * role and every tenant, for local use — created and shown once (never logged).
 */
export async function createDevKeyOnFirstStart(
  db: DatabaseHandle,
  announce: (token: string) => void = printDevKey,
): Promise<void> {
  if ((await countApiKeys(db.db)) > 0) return;
  const { token } = await createApiKey(db.db, {
    tenant: "default",
    roles: ["client", "auditor", "admin", "operator"],
    allTenants: true,
    description: "development operator key (created on first start; local use)",
  });
  announce(token);
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
