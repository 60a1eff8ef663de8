/**
 * WatchCatalog over plain gRPC (HTTP/2, grpc framing, trailers) with `@grpc/grpc-js`: a client
 * that is not Connect sees a change applied while it watches, and its cancel ends the call.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CatalogService, type WatchCatalogResponse } from "../../src/gen/sovereign/v1/catalog_pb.js";
import { appDatabases, REPO, startTestApp, type TestApp } from "../support/app.js";
import { GrpcJsClient } from "../support/grpc.js";

/** Messages of a grpc-js server stream, awaited one at a time. */
function reader(stream: grpc.ClientReadableStream<WatchCatalogResponse>) {
  const buffered: WatchCatalogResponse[] = [];
  const waiting: ((m: WatchCatalogResponse) => void)[] = [];
  stream.on("data", (m: WatchCatalogResponse) => {
    const w = waiting.shift();
    if (w) w(m);
    else buffered.push(m);
  });
  const ended = new Promise<grpc.ServiceError | undefined>((resolve) => {
    stream.on("error", (err: grpc.ServiceError) => resolve(err));
    stream.on("end", () => resolve(undefined));
  });
  return {
    ended,
    next(): Promise<WatchCatalogResponse> {
      const m = buffered.shift();
      if (m) return Promise.resolve(m);
      return new Promise((resolve, reject) => {
        waiting.push(resolve);
        void ended.then((err) => reject(err ?? new Error("stream ended")));
      });
    },
  };
}

describe.each(appDatabases)("WatchCatalog over @grpc/grpc-js (%s)", (database) => {
  let t: TestApp;
  let client: GrpcJsClient;
  let yaml: string;
  beforeAll(async () => {
    // No file watching here: the change comes only from ApplyCatalog.
    t = await startTestApp({ database, env: { SOVR_CATALOG_WATCH: "false" } });
    client = new GrpcJsClient(`127.0.0.1:${t.app.servers.grpcPort}`);
    yaml = await readFile(join(REPO, "test/fixtures/catalog/simulator.yaml"), "utf8");
  });
  afterAll(async () => {
    client?.close();
    await t?.close();
  });

  it("sees the current revision, then a change applied while it watches, and ends on cancel", async () => {
    const call = client.serverStream(CatalogService, CatalogService.method.watchCatalog, {});
    const watch = reader(call);
    const first = await watch.next();
    const r1 = t.app.catalog.current().revision;
    expect(first.revision?.revision).toBe(r1);
    expect(first.addedEndpointIds).toHaveLength(5);

    // Applied through the API (gRPC too), while the watch is open.
    const changed = yaml.replace(
      "pricing: { prompt: 1.5, completion: 4.5 }",
      "pricing: { prompt: 1.2, completion: 4.5 }",
    );
    expect(changed).not.toBe(yaml);
    const applied = await client.unary(CatalogService, CatalogService.method.applyCatalog, {
      files: [{ name: "simulator.yaml", content: changed }],
    });
    expect(applied.changed).toBe(true);
    const r2 = applied.revision?.revision;
    expect(r2).not.toBe(r1);

    const update = await watch.next();
    expect(update.revision?.revision).toBe(r2);
    expect(update.revision?.createdAt).toBeDefined();
    expect(update.changedEndpointIds).toEqual(["sim-us/chat-large"]);
    expect(update.addedEndpointIds).toEqual([]);
    expect(update.removedEndpointIds).toEqual([]);

    // An unchanged apply sends nothing: the next message is the following real change.
    await client.unary(CatalogService, CatalogService.method.applyCatalog, {
      files: [{ name: "simulator.yaml", content: changed }],
    });
    await client.unary(CatalogService, CatalogService.method.applyCatalog, {
      files: [{ name: "simulator.yaml", content: yaml }],
    });
    const back = await watch.next();
    expect(back.revision?.revision).toBe(r1);
    expect(back.changedEndpointIds).toEqual(["sim-us/chat-large"]);

    call.cancel();
    const err = await watch.ended;
    expect(err?.code).toBe(grpc.status.CANCELLED);
    await expect.poll(() => t.app.servers.inflight, { timeout: 5000 }).toBe(0);
  });

  // Last: stops the server (afterAll's close is idempotent).
  it("ends open watches cleanly when the server stops, so the drain is not held", async () => {
    const call = client.serverStream(CatalogService, CatalogService.method.watchCatalog, {});
    const watch = reader(call);
    await watch.next();
    const started = Date.now();
    const stopped = await t.app.stop();
    expect(await watch.ended).toBeUndefined(); // a clean end (status OK), not an error
    expect(stopped).toEqual({ drained: true, cut: 0, unflushed: [] });
    expect(Date.now() - started).toBeLessThan(2000); // SOVR_DRAIN_MS of the test app
  });
});
