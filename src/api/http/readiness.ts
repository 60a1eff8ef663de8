/** What /readyz asks; each answer is "ok…" or a reason, never content. */
export interface ReadinessChecks {
  /** Pings the database within its bound; throws when it cannot. */
  pingDatabase(): Promise<void>;
  /** The storage probe's verdict, when there is one (PGlite on a local disk). */
  storage?: { check(): Promise<string> } | undefined;
  /** The serving policy bundle's revision, if one loaded. */
  policyRevision(): string | undefined;
  /** The live catalog's revision, if it loaded. */
  catalogRevision(): string | undefined;
  serving(): boolean;
  /** Why the audit log can no longer be vouched for, if it cannot. */
  auditFault(): Error | undefined;
  /** How long the audit log's commit in flight has waited, and the bound past which it is stuck (ms). */
  auditCommit?: { stalledMs(): number; boundMs: number };
}

/** Ready only when every check is ok: then a balancer may send traffic here. */
export async function readiness(
  c: ReadinessChecks,
): Promise<{ ready: boolean; checks: Record<string, string> }> {
  const checks: Record<string, string> = {};
  try {
    await c.pingDatabase();
    checks.database = "ok";
  } catch (err) {
    checks.database = `unavailable: ${(err as Error).message}`;
  }
  if (c.storage) checks.storage = await c.storage.check();
  const policy = c.policyRevision();
  checks.policy = policy !== undefined ? `ok (${policy})` : "no valid bundle";
  const catalog = c.catalogRevision();
  checks.catalog = catalog !== undefined ? `ok (${catalog})` : "not loaded";
  checks.serving = c.serving() ? "ok" : "draining";
  const stalled = c.auditCommit ? Math.round(c.auditCommit.stalledMs()) : 0;
  checks.audit_log = c.auditFault()
    ? "integrity fault (see the server log)"
    : c.auditCommit && stalled > c.auditCommit.boundMs
      ? `commit stalled: no answer from the database for ${stalled} ms`
      : "ok";
  return { ready: Object.values(checks).every((v) => v.startsWith("ok")), checks };
}
