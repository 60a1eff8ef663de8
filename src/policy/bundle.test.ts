import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildVariant, ed25519Keys, POLICIES_DIR, tempDir } from "../../test/support/policy-bundles.js";
import { readBundle } from "./bundle.js";
import { checkBundleFresh, listPolicySources, sourceRevision } from "./bundle-build.js";
import { canonicalJson } from "./bundle-hash.js";
import type { BundleVerificationKey } from "./bundle-signature.js";
import { PolicyBundleError } from "./errors.js";

const run = promisify(execFile);

let dir: string;
let cleanup: () => Promise<void>;
let unsigned: Uint8Array;
let signed: Uint8Array;
let key: BundleVerificationKey;
let otherKey: BundleVerificationKey;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  const signer = await ed25519Keys(dir, "signer");
  const other = await ed25519Keys(dir, "other");
  key = { publicKeyPem: signer.publicPem, algorithm: "EdDSA" };
  otherKey = { publicKeyPem: other.publicPem, algorithm: "EdDSA" };
  unsigned = (await buildVariant(dir, "unsigned")).bytes;
  signed = (await buildVariant(dir, "signed", {}, { signingKeyFile: signer.privateFile })).bytes;
});

afterAll(() => cleanup?.());

/** Unpacks a bundle with the system tar, lets `edit` change the tree, repacks it. */
async function repack(
  bytes: Uint8Array,
  name: string,
  edit: (root: string) => Promise<void>,
): Promise<Uint8Array> {
  const root = join(dir, `repack-${name}`);
  await mkdir(root, { recursive: true });
  await writeFile(join(dir, `${name}.in.tar.gz`), bytes);
  await run("tar", ["-xzf", join(dir, `${name}.in.tar.gz`), "-C", root]);
  await edit(root);
  await run("tar", ["-czf", join(dir, `${name}.out.tar.gz`), "-C", root, "."]);
  return readFile(join(dir, `${name}.out.tar.gz`));
}

describe("readBundle", () => {
  it("reads the files, manifest, Wasm and data of a real bundle", async () => {
    const bundle = await readBundle(unsigned);
    expect([...bundle.files.keys()].sort()).toEqual(
      [
        ".manifest",
        "data.json",
        "data_collection.rego",
        "lib/attributes.rego",
        "lib/content.rego",
        "lib/request.rego",
        "local.rego",
        "media_region.rego",
        "pii_requires_eu.rego",
        "policy.wasm",
        "residency.rego",
        "route.rego",
        "secrets_deny.rego",
        "tenant.rego",
        "zdr.rego",
      ].sort(),
    );
    expect(bundle.ref.revision).toBe(await sourceRevision(POLICIES_DIR));
    expect(bundle.ref.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(Buffer.from(bundle.wasm.subarray(0, 4)).toString("latin1")).toBe("\0asm");
    expect(bundle.data).toMatchObject({ regions: { eu: { countries: { FR: "France" } } } });
    expect(bundle.verified).toBe(false);
  });

  it("reads a bundle repacked by GNU tar (./ prefixes, directory entries)", async () => {
    const bytes = await repack(unsigned, "gnu", async () => {});
    const bundle = await readBundle(bytes);
    expect(bundle.ref.revision).toBe((await readBundle(unsigned)).ref.revision);
  });

  it("rejects corrupted tarballs", async () => {
    const truncated = unsigned.subarray(0, unsigned.length / 2);
    await expect(readBundle(truncated)).rejects.toBeInstanceOf(PolicyBundleError);
    const flipped = new Uint8Array(unsigned);
    flipped[flipped.length >> 1] = (flipped[flipped.length >> 1] ?? 0) ^ 0xff;
    await expect(readBundle(flipped)).rejects.toBeInstanceOf(PolicyBundleError);
    await expect(readBundle(new TextEncoder().encode("not a bundle"))).rejects.toThrow(/gzip/);
  });

  it("rejects a bundle without a manifest", async () => {
    const bytes = await repack(unsigned, "nomanifest", async (root) => {
      await writeFile(join(root, ".manifest"), "{not json");
    });
    await expect(readBundle(bytes)).rejects.toThrow(/\.manifest is not valid JSON/);
  });
});

describe("bundle signatures", () => {
  it("accepts a bundle signed by opa build with the configured key", async () => {
    const bundle = await readBundle(signed, { verificationKey: key });
    expect(bundle.verified).toBe(true);
    expect(bundle.files.has(".signatures.json")).toBe(true);
  });

  it("accepts an ES256-signed bundle", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const keyFile = join(dir, "es256.pem");
    await writeFile(keyFile, privateKey.export({ format: "pem", type: "pkcs8" }));
    const { bytes } = await buildVariant(dir, "es256", {}, { signingKeyFile: keyFile, signingAlg: "ES256" });
    const es256: BundleVerificationKey = {
      publicKeyPem: publicKey.export({ format: "pem", type: "spki" }).toString(),
      algorithm: "ES256",
    };
    expect((await readBundle(bytes, { verificationKey: es256 })).verified).toBe(true);
  });

  it("refuses an unsigned bundle when a key is configured", async () => {
    await expect(readBundle(unsigned, { verificationKey: key })).rejects.toThrow(/not signed/);
  });

  it("refuses a bundle signed by another key", async () => {
    await expect(readBundle(signed, { verificationKey: otherKey })).rejects.toThrow(/signature is invalid/);
  });

  it("checks the key id when one is configured", async () => {
    await expect(readBundle(signed, { verificationKey: { ...key, keyId: "prod-2026" } })).rejects.toThrow(
      /key id/,
    );
    expect((await readBundle(signed, { verificationKey: { ...key, keyId: "default" } })).verified).toBe(true);
  });

  it("refuses a signed bundle whose data was altered", async () => {
    const bytes = await repack(signed, "altered", async (root) => {
      const data = JSON.parse(await readFile(join(root, "data.json"), "utf8"));
      data.tenants["acme-health"].require_zdr = false;
      await writeFile(join(root, "data.json"), JSON.stringify(data));
    });
    await expect(readBundle(bytes, { verificationKey: key })).rejects.toThrow(
      /data\.json does not match its signed digest/,
    );
  });

  it("accepts a signed bundle whose JSON was only reformatted (OPA hashes structured files)", async () => {
    const bytes = await repack(signed, "reformatted", async (root) => {
      const data = JSON.parse(await readFile(join(root, "data.json"), "utf8"));
      await writeFile(join(root, "data.json"), JSON.stringify(data, null, 4));
    });
    expect((await readBundle(bytes, { verificationKey: key })).verified).toBe(true);
  });

  it("refuses a signed bundle with an added or a removed file", async () => {
    const added = await repack(signed, "added", async (root) => {
      await writeFile(join(root, "extra.rego"), "package sovereign.route\n");
    });
    await expect(readBundle(added, { verificationKey: key })).rejects.toThrow(/extra\.rego is not covered/);
    const removed = await repack(signed, "removed", async (root) => {
      const { rm } = await import("node:fs/promises");
      await rm(join(root, "tenant.rego"));
    });
    await expect(readBundle(removed, { verificationKey: key })).rejects.toThrow(/tenant\.rego is missing/);
  });
});

describe("canonicalJson (OPA's structured-file hash form)", () => {
  it("sorts keys, drops whitespace and keeps number literals and escapes as Go writes them", () => {
    expect(canonicalJson('{ "b": 1.0, "a": [1e3, "x\u2028<"], "c": {"z": null, "y": true} }')).toBe(
      '{"a":[1e3,"x\\u2028<"],"b":1.0,"c":{"y":true,"z":null}}',
    );
    expect(() => canonicalJson('{"a": 1,}')).toThrow(/invalid JSON/);
  });
});

describe("sources, revision and freshness", () => {
  it("lists Rego and data.json, without tests and dist", async () => {
    const sources = await listPolicySources(POLICIES_DIR);
    expect(sources).toContain("zdr.rego");
    expect(sources).toContain("data.json");
    expect(sources.some((s) => s.endsWith("_test.rego") || s.startsWith("dist/"))).toBe(false);
  });

  it("the committed default bundle is fresh", async () => {
    const result = await checkBundleFresh();
    expect(result).toEqual({
      fresh: true,
      expected: result.actual,
      actual: await sourceRevision(POLICIES_DIR),
    });
  });

  it("detects a stale bundle after a source changes", async () => {
    const { outFile } = await buildVariant(dir, "fresh-check");
    const sourceDir = join(dir, "src-fresh-check");
    expect((await checkBundleFresh({ sourceDir, bundleFile: outFile })).fresh).toBe(true);
    await writeFile(
      join(sourceDir, "zdr.rego"),
      `${await readFile(join(sourceDir, "zdr.rego"), "utf8")}\n# edit\n`,
    );
    const stale = await checkBundleFresh({ sourceDir, bundleFile: outFile });
    expect(stale.fresh).toBe(false);
    expect(stale.actual).not.toBe(stale.expected);
  });
});
