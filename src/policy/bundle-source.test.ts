import { writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  BLOCK_PROVIDER_RULE,
  buildVariant,
  ed25519Keys,
  endpoint,
  policyInput,
  tempDir,
} from "../../test/support/policy-bundles.js";
import { BundleSource, type PolicyLogger } from "./bundle-source.js";
import { PolicyEngine } from "./engine.js";
import type { BundleRef } from "./types.js";

let dir: string;
let cleanup: () => Promise<void>;
let base: Awaited<ReturnType<typeof buildVariant>>;
let blocklist: Awaited<ReturnType<typeof buildVariant>>;
const sources: BundleSource[] = [];

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  base = await buildVariant(dir, "base");
  blocklist = await buildVariant(dir, "blocklist", { "blocklist.rego": BLOCK_PROVIDER_RULE });
});
afterEach(() => {
  for (const s of sources.splice(0)) s.stop();
});
afterAll(() => cleanup?.());

function recordingLogger() {
  const warnings: Array<Record<string, unknown>> = [];
  const logger: PolicyLogger = { info() {}, error() {}, warn: (fields) => void warnings.push(fields) };
  return { logger, warnings };
}

function track(source: BundleSource): BundleSource {
  sources.push(source);
  return source;
}

async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const blockedInput = policyInput([endpoint("b", { provider: "blocked-ai" })]);

describe("BundleSource watching a directory", () => {
  it("loads the bundle, picks up a new rule without a restart, rejects a corrupted one and keeps the last good", async () => {
    const watched = join(dir, "watched");
    const bundleFile = join(watched, "bundle.tar.gz");
    await buildVariant(dir, "w1", {}, { outFile: bundleFile });
    const engine = new PolicyEngine();
    const loaded: BundleRef[] = [];
    const rejected: string[] = [];
    const { logger, warnings } = recordingLogger();
    const source = track(
      new BundleSource({
        engine,
        path: watched,
        debounceMs: 50,
        logger,
        onLoaded: (bytes, ref) => {
          expect(bytes.length).toBeGreaterThan(0);
          loaded.push(ref);
        },
        onRejected: (_origin, reason) => rejected.push(reason),
      }),
    );
    await source.start();
    expect(engine.current?.revision).toBe(base.revision);
    expect((await engine.evaluate(blockedInput)).decision.allow).toEqual(["b"]);

    // A new rule, built and dropped into the watched place, applies to the next request.
    await buildVariant(dir, "w2", { "blocklist.rego": BLOCK_PROVIDER_RULE }, { outFile: bundleFile });
    await until(() => engine.current?.revision === blocklist.revision, "the new bundle");
    const denied = await engine.evaluate(blockedInput);
    expect(denied.decision.deny.b).toEqual(["blocklist: provider blocked-ai is blocked (source: provider)"]);
    expect(loaded.map((r) => r.revision)).toEqual([base.revision, blocklist.revision]);

    // A corrupted bundle is rejected with a logged reason; the last good one stays.
    await writeFile(bundleFile, base.bytes.subarray(0, 100));
    await until(() => rejected.length === 1, "the rejection");
    expect(engine.current?.revision).toBe(blocklist.revision);
    expect(warnings[0]).toMatchObject({ origin: bundleFile, keeping: blocklist.revision });
    expect(String(warnings[0]?.reason)).toMatch(/gzip|truncated/);
    expect(source.stats).toMatchObject({ loaded: 2, rejected: 1 });
  });

  it("starts without a policy when the first bundle is bad, and refuses unsigned bundles when a key is set", async () => {
    const signer = await ed25519Keys(dir, "watch-signer");
    const file = join(dir, "signed-only.tar.gz");
    await writeFile(file, base.bytes); // unsigned
    const engine = new PolicyEngine();
    const onRejected = vi.fn();
    const source = track(
      new BundleSource({
        engine,
        path: file,
        debounceMs: 50,
        verificationKey: { publicKeyPem: signer.publicPem, algorithm: "EdDSA" },
        onRejected,
      }),
    );
    await source.start();
    expect(engine.current).toBeUndefined();
    expect(onRejected).toHaveBeenCalledWith(file, expect.stringMatching(/not signed/));
    await expect(engine.evaluate(blockedInput)).rejects.toMatchObject({ name: "PolicyUnavailableError" });

    await buildVariant(dir, "signed-w", {}, { outFile: file, signingKeyFile: signer.privateFile });
    await until(() => engine.current !== undefined, "the signed bundle");
    expect(engine.current?.revision).toBe(base.revision);
  });

  it("rejects a bundle the database hook could not store", async () => {
    const engine = new PolicyEngine();
    const source = track(
      new BundleSource({
        engine,
        path: base.outFile,
        onLoaded: () => {
          throw new Error("database unavailable");
        },
      }),
    );
    await source.start();
    expect(engine.current).toBeUndefined();
    expect(source.stats).toMatchObject({ loaded: 0, rejected: 1, lastError: "database unavailable" });
  });
});

describe("BundleSource polling an OPA bundle server", () => {
  let server: Server;
  let served: { bytes: Uint8Array; etag: string };
  const requests: Array<{ ifNoneMatch: string | undefined; status: number }> = [];

  beforeAll(async () => {
    served = { bytes: base.bytes, etag: `"${base.sha256}"` };
    server = createServer((req, res) => {
      const ifNoneMatch = req.headers["if-none-match"];
      const status = ifNoneMatch === served.etag ? 304 : 200;
      requests.push({ ifNoneMatch, status });
      res.writeHead(status, { etag: served.etag, "content-type": "application/gzip" });
      res.end(status === 200 ? Buffer.from(served.bytes) : undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("downloads with If-None-Match, skips 304s, takes new bundles, keeps the last good on a bad one", async () => {
    const { port } = server.address() as AddressInfo;
    const engine = new PolicyEngine();
    const loaded: string[] = [];
    const rejected: string[] = [];
    const source = track(
      new BundleSource({
        engine,
        url: `http://127.0.0.1:${port}/bundles/sovereign.tar.gz`,
        minDelayMs: 60_000,
        maxDelayMs: 60_000,
        onLoaded: (_bytes, ref) => void loaded.push(ref.sha256),
        onRejected: (_origin, reason) => rejected.push(reason),
      }),
    );
    await source.start(); // first poll
    expect(engine.current?.sha256).toBe(base.sha256);
    expect(requests.at(-1)).toEqual({ ifNoneMatch: undefined, status: 200 });

    expect(await source.pollNow()).toBe(false);
    expect(requests.at(-1)).toEqual({ ifNoneMatch: `"${base.sha256}"`, status: 304 });

    served = { bytes: blocklist.bytes, etag: `"${blocklist.sha256}"` };
    expect(await source.pollNow()).toBe(true);
    expect(engine.current?.revision).toBe(blocklist.revision);
    expect((await engine.evaluate(blockedInput)).decision.allow).toEqual([]);

    served = { bytes: new TextEncoder().encode("garbage"), etag: '"garbage"' };
    expect(await source.pollNow()).toBe(false);
    expect(engine.current?.revision).toBe(blocklist.revision);
    // A rejected bundle's ETag is not remembered, so it is fetched (not 304'd) next time.
    await source.pollNow();
    expect(requests.at(-1)).toEqual({ ifNoneMatch: `"${blocklist.sha256}"`, status: 200 });
    expect(rejected).toHaveLength(2);
    expect(loaded).toEqual([base.sha256, blocklist.sha256]);
  });
});
