/**
 * Cluster-wide limits (issue 17, SOVR_RATE_LIMIT_SCOPE=cluster): two app instances on one
 * Postgres share one request count and one token count per window, leased in slices from the
 * `rate_limit_windows` rows. Requests: admitted ≤ N (a unit is in the shared row before a
 * replica spends it) and ≥ N − replicas × (lease − 1) (the most the replicas can hold unspent).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../src/auth/api-keys.js";
import { RouterService } from "../../src/gen/sovereign/v1/router_pb.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { createFreshDatabase, dropDatabase } from "../support/databases.js";
import { GrpcJsClient } from "../support/grpc.js";

/** One window of a day: the test cannot straddle two (it would need to run across midnight UTC). */
const WINDOW_MS = 86_400_000;
const N = 40;
const LEASE_PERCENT = 10; // lease = 4 requests
const LEASE = Math.ceil((N * LEASE_PERCENT) / 100);
const REPLICAS = 2;
/** Tokens per minute → tokens per window: 10 × 1440 = 14 400. */
const TPM = 10;
const TOKENS_PER_WINDOW = (TPM * WINDOW_MS) / 60_000;

describe.skipIf(!process.env.DATABASE_URL)("cluster-wide limits: two replicas on one Postgres", () => {
  const apps: TestApp[] = [];
  let url: string;
  let keysDir: string;
  const cleanup: (() => Promise<unknown>)[] = [];

  const startReplicas = async (env: Record<string, string>) => {
    const base = process.env.DATABASE_URL!;
    url = await createFreshDatabase(base);
    keysDir = await mkdtemp(join(tmpdir(), "sovr-cluster-keys-"));
    cleanup.push(
      () => dropDatabase(base, url),
      () => rm(keysDir, { recursive: true, force: true }),
    );
    const shared = {
      DATABASE_URL: url,
      SOVR_KEYS_DIR: keysDir,
      SOVR_RATE_LIMIT_SCOPE: "cluster",
      SOVR_RATE_LIMIT_WINDOW_MS: String(WINDOW_MS),
      SOVR_RATE_LIMIT_LEASE_PERCENT: String(LEASE_PERCENT),
      ...env,
    };
    const a = await startTestApp({ auth: true, env: { ...shared, SOVR_INSTANCE: "replica-a" } });
    apps.push(a);
    const b = await startTestApp({ auth: true, env: { ...shared, SOVR_INSTANCE: "replica-b" } });
    apps.push(b);
    const key = await createApiKey(a.app.db.db, { tenant: "ta", roles: ["client"] });
    await a.app.auth.refresh();
    await b.app.auth.refresh();
    return [a, b].map((t) => new GrpcJsClient(`127.0.0.1:${t.app.servers.grpcPort}`, { key: key.token }));
  };

  afterAll(async () => {
    for (const t of apps.splice(0)) await t.close().catch(() => {});
    for (const c of cleanup.reverse()) await c().catch(() => {});
  });

  describe("requests", () => {
    let clients: GrpcJsClient[];
    beforeAll(async () => {
      // rps × window = N requests per window for the key.
      clients = await startReplicas({ SOVR_RATE_LIMIT_RPS: String(N / (WINDOW_MS / 1000)) });
    }, 60_000);
    afterAll(async () => {
      for (const c of clients) c.close();
      for (const t of apps.splice(0)) await t.close();
    });

    it(`admits between N − ${REPLICAS}×(lease − 1) and N of 3N requests fired at both replicas at once`, async () => {
      const codes: grpc.status[][] = [[], []];
      let fired = 0;
      const worker = async (i: number) => {
        while (fired < 3 * N) {
          fired++;
          const r = i % REPLICAS;
          codes[r]!.push(
            await clients[r]!.unary(RouterService, RouterService.method.chat, {
              model: "sim/chat-small",
              region: "eu",
              messages: [{ role: "user", content: "count me" }],
            }).then(
              () => grpc.status.OK,
              (e: grpc.ServiceError) => e.code,
            ),
          );
        }
      };
      await Promise.all(Array.from({ length: 8 }, (_, i) => worker(i)));
      const admitted = codes.map((c) => c.filter((x) => x === grpc.status.OK).length);
      const total = admitted[0]! + admitted[1]!;
      // Every other answer is the limit's refusal, never an error.
      expect(
        codes.flat().filter((x) => x !== grpc.status.OK && x !== grpc.status.RESOURCE_EXHAUSTED),
      ).toEqual([]);
      expect(total).toBeLessThanOrEqual(N);
      expect(total).toBeGreaterThanOrEqual(N - REPLICAS * (LEASE - 1));
      // Both replicas served: the count is shared, not one replica's.
      expect(admitted[0]).toBeGreaterThan(0);
      expect(admitted[1]).toBeGreaterThan(0);
      // The shared row holds what was leased: never more than N.
      const { rows } = await apps[0]!.app.db.db
        .selectFrom("rate_limit_windows")
        .select(["subject", "used"])
        .execute()
        .then((r) => ({ rows: r }));
      expect(rows.map((r) => Number(r.used))).toEqual([N]);
    }, 120_000);
  });

  describe("tokens", () => {
    let clients: GrpcJsClient[];
    beforeAll(async () => {
      clients = await startReplicas({ SOVR_TOKEN_LIMIT_TPM: String(TPM) });
    }, 60_000);
    afterAll(async () => {
      for (const c of clients) c.close();
    });

    it("a charge held on one replica is seen by the other: its call that does not fit is refused naming the limit", async () => {
      const [a, b] = apps;
      // Replica a's call answers one chunk and stalls, holding ~14 000 of the window's 14 400 tokens.
      a!.simulator.setBehaviour("sim-eu", { fault: { kind: "stall_after", chunks: 1 } });
      const held = clients[0]!.serverStream(RouterService, RouterService.method.chatStream, {
        model: "sim/chat-small",
        region: "eu",
        maxTokens: TOKENS_PER_WINDOW - 400,
        messages: [{ role: "user", content: "hold" }],
      });
      held.on("error", () => {});
      await new Promise((resolve) => held.once("data", resolve));
      try {
        const err = (await clients[1]!
          .unary(RouterService, RouterService.method.chat, {
            model: "sim/chat-small",
            region: "eu",
            maxTokens: 1000,
            messages: [{ role: "user", content: "does this fit?" }],
          })
          .catch((e: unknown) => e)) as grpc.ServiceError;
        expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
        expect(err.details).toContain(
          `token limit of this API key exceeded (${TPM} tokens per minute, cluster-wide)`,
        );
        expect(Number(err.metadata.get("retry-after")[0])).toBeGreaterThanOrEqual(1);
        expect(b!.simulator.stats("sim-eu").requests).toBe(0);
        // A call that fits in what is left passes on b.
        await clients[1]!.unary(RouterService, RouterService.method.chat, {
          model: "sim/chat-small",
          region: "eu",
          maxTokens: 100,
          messages: [{ role: "user", content: "small" }],
        });
      } finally {
        held.cancel();
      }
    }, 60_000);
  });
});
