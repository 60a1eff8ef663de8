/**
 * AuditService.WatchDecisions, the live decision feed (docs/audit.md, "Live feed"), through a
 * real gRPC client against a real server: order, resumption, tenant walls and a slow reader.
 */

import type { MessageInitShape } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../src/auth/api-keys.js";
import type { WatchDecisionsRequestSchema } from "../../src/gen/sovereign/v1/audit_pb.js";
import {
  AuditService,
  type WatchDecisionsRequest,
  type WatchDecisionsResponse,
} from "../../src/gen/sovereign/v1/audit_pb.js";
import { appDatabases, startTestApp, type TestApp } from "../support/app.js";
import { chat, FIRST_START_RECORDS } from "../support/audit-live.js";
import { collect, GrpcJsClient } from "../support/grpc.js";

type Req = MessageInitShape<typeof WatchDecisionsRequestSchema>;

/** Reads a stream until `done` says so (or it ends); the stream is cancelled after. */
function readUntil(
  stream: grpc.ClientReadableStream<WatchDecisionsResponse>,
  done: (got: WatchDecisionsResponse[]) => boolean,
): Promise<WatchDecisionsResponse[]> {
  return new Promise((resolve, reject) => {
    const got: WatchDecisionsResponse[] = [];
    stream.on("data", (m: WatchDecisionsResponse) => {
      got.push(m);
      if (done(got)) {
        resolve(got);
        stream.cancel();
      }
    });
    stream.on("error", (e: grpc.ServiceError) => (e.code === grpc.status.CANCELLED ? undefined : reject(e)));
    stream.on("end", () => resolve(got));
  });
}

const entries = (ms: WatchDecisionsResponse[]) => ms.filter((m) => m.entry !== undefined);
const seqs = (ms: WatchDecisionsResponse[]) => entries(ms).map((m) => Number(m.entry!.seq));

describe.each(appDatabases)("WatchDecisions (%s)", (database) => {
  let t: TestApp;
  const clients = {} as Record<"a" | "b", GrpcJsClient>;
  const auditors = {} as Record<"a" | "all", GrpcJsClient>;
  const watch = (who: "a" | "all", req: Req) =>
    auditors[who].serverStream(
      AuditService,
      AuditService.method.watchDecisions,
      req as WatchDecisionsRequest,
    );

  beforeAll(async () => {
    t = await startTestApp({ database, auth: true });
    const db = t.app.db.db;
    const addr = `127.0.0.1:${t.app.servers.grpcPort}`;
    const key = async (tenant: string, roles: ("client" | "auditor")[], allTenants = false) =>
      (await createApiKey(db, { tenant, roles, allTenants })).token;
    clients.a = new GrpcJsClient(addr, { key: await key("tenant-a", ["client"]) });
    clients.b = new GrpcJsClient(addr, { key: await key("tenant-b", ["client"]) });
    auditors.a = new GrpcJsClient(addr, { key: await key("tenant-a", ["auditor"]) });
    auditors.all = new GrpcJsClient(addr, { key: await key("tenant-a", ["auditor"], true) });
    await t.app.auth.refresh();
    for (let i = 0; i < 3; i++) {
      await chat(clients.a, `a ${i}`);
      await chat(clients.b, `b ${i}`);
    }
    await t.app.audit.drain();
  });
  afterAll(async () => {
    for (const c of [...Object.values(clients), ...Object.values(auditors)]) c.close();
    await t?.close();
  });

  it("delivers entries committed after subscription as they commit, in order, the tenant's only, tenant_seq dense", async () => {
    const stream = watch("a", { follow: true });
    let subscribed: () => void = () => {};
    const caughtUp = new Promise<void>((r) => {
      subscribed = r;
    });
    const got = readUntil(stream, (ms) => {
      if (ms.some((m) => m.caughtUp)) subscribed();
      // 4 requests of tenant-a: a decision and an outcome entry each.
      return entries(ms).length >= 8;
    });
    await caughtUp;
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      ids.push(await chat(clients.a, `live a ${i}`));
      await chat(clients.b, `live b ${i}`);
    }
    const ms = await got;
    expect(ms[0]!.caughtUp).toBe(true);
    const live = entries(ms);
    expect(live.every((m) => m.decision!.tenant === "tenant-a")).toBe(true);
    const s = seqs(ms);
    expect(s).toEqual([...s].sort((x, y) => x - y));
    expect(new Set(s).size).toBe(s.length);
    expect([...new Set(live.map((m) => m.entry!.decisionId))].sort()).toEqual([...ids].sort());
    const tenantSeqs = live.map((m) => Number(m.tenantSeq));
    expect(tenantSeqs).toEqual(tenantSeqs.map((_, i) => tenantSeqs[0]! + i));
  });

  it("resumes from any next_seq with no gap and no duplicate; without follow it ends once caught up", async () => {
    await t.app.audit.drain();
    const all = entries(await collect(watch("all", { fromSeq: 0n })));
    // Every decision and outcome entry of the log, once: after the router's own admin records at
    // start, which are not decisions.
    expect(seqs(all)).toEqual(all.map((_, i) => FIRST_START_RECORDS + i));
    for (const k of [0, 3, all.length - 2]) {
      const rest = entries(await collect(watch("all", { fromSeq: all[k]!.nextSeq })));
      expect(seqs(rest)).toEqual(seqs(all.slice(k + 1)));
    }
    // The tenant-scoped feed resumes the same way: its entries are a subsequence of the log.
    const own = entries(await collect(watch("a", { fromSeq: 0n })));
    const rest = entries(await collect(watch("a", { fromSeq: own[2]!.nextSeq })));
    expect(seqs(rest)).toEqual(seqs(own.slice(3)));
  });

  it("never shows another tenant's entries; naming one is PermissionDenied on `tenant`; an all-tenants auditor filters like QueryDecisions", async () => {
    const own = entries(await collect(watch("a", { fromSeq: 0n })));
    expect(own.length).toBeGreaterThan(0);
    expect(own.every((m) => m.decision!.tenant === "tenant-a")).toBe(true);
    const err = await collect(watch("a", { fromSeq: 0n, tenant: "tenant-b" })).catch((e) => e);
    expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(err.details).toMatch(/^tenant: /);
    const b = entries(await collect(watch("all", { fromSeq: 0n, tenant: "tenant-b" })));
    expect(b.length).toBeGreaterThan(0);
    expect(b.every((m) => m.decision!.tenant === "tenant-b")).toBe(true);
    const none = entries(await collect(watch("all", { fromSeq: 0n, model: "no/such-model" })));
    expect(none).toEqual([]);
  });

  it("a slow reader (paused while many pages commit) gets every entry, in order", async () => {
    const stream = watch("a", { follow: true });
    let subscribed: () => void = () => {};
    const caughtUp = new Promise<void>((r) => {
      subscribed = r;
    });
    const first: WatchDecisionsResponse[] = [];
    stream.on("data", function onFirst(m: WatchDecisionsResponse) {
      first.push(m);
      if (m.caughtUp) {
        stream.pause();
        stream.off("data", onFirst);
        subscribed();
      }
    });
    await caughtUp;
    const from = first[0]!.nextSeq;
    // More entries than a feed page (100) and than HTTP/2's flow-control window holds.
    const n = 70;
    for (let i = 0; i < n; i++) await chat(clients.a, `slow ${i}`);
    await t.app.audit.drain();
    const got = readUntil(stream, (ms) => entries(ms).length >= 2 * n);
    stream.resume();
    const ms = await got;
    const expected = entries(await collect(watch("a", { fromSeq: from })));
    expect(expected.length).toBe(2 * n);
    expect(seqs(ms)).toEqual(seqs(expected));
  }, 120_000);
});
