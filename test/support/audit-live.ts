/** Helpers for the audit tests against a live server: traffic, an auditor's client, exports. */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KeyRing } from "../../src/audit/keys.js";
import { auditClient, exportCommand } from "../../src/cli/audit-commands.js";
import { RouterService } from "../../src/gen/sovereign/v1/router_pb.js";
import type { TestApp } from "./app.js";
import { collect, type GrpcJsClient } from "./grpc.js";

/**
 * The admin records a router writes at its first start on a new log, before any decision
 * (docs/audit.md §1.2): its signing key published (`signing_key.rotate`), the catalog loaded
 * (`catalog.apply`) and the policy bundle activated (`policy.activate`), all in `_platform`.
 * Seq `FIRST_START_RECORDS` is the first decision's.
 */
export const FIRST_START_RECORDS = 3;

/**
 * The admin records of a later start on the same log and keys: the catalog loaded and the
 * bundle activated again (the signing key is already published, so no rotation).
 */
export const RESTART_RECORDS = 2;

/** One streamed chat over gRPC; returns its decision id (from the route event). */
export async function chat(client: GrpcJsClient, content = "hello", region = "eu"): Promise<string> {
  const events = await collect(
    client.serverStream(RouterService, RouterService.method.chatStream, {
      model: "sim/chat-small",
      region,
      messages: [{ role: "user", content }],
    }),
  );
  const route = events.find((e) => e.event.case === "route");
  if (!route) throw new Error("no route event");
  return (route.event.value as { decisionId: string }).decisionId;
}

export function auditor(t: TestApp) {
  return auditClient({ url: t.app.httpUrl });
}

/** The published keys as a verifier's key ring, and the checkpoint origin. */
export async function trustedKeys(t: TestApp): Promise<{ ring: KeyRing; origin: string }> {
  const res = await auditor(t).listSigningKeys({});
  const ring = new KeyRing(
    res.keys.map((k) => ({ keyId: k.keyId, publicKeyRaw: k.publicKey, validFromUs: 0, validUntilUs: null })),
  );
  return { ring, origin: res.checkpointOrigin };
}

/** `sovr audit export` against the live server into a fresh directory. */
export async function exportLog(t: TestApp, key?: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "sovr-export-"));
  const r = await exportCommand({ url: t.app.httpUrl, key, out: dir, progress: () => {} });
  if (r.exitCode !== 0) throw new Error(r.stderr.join("\n"));
  return dir;
}
