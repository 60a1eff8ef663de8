import { compactVerify, importSPKI, importX509 } from "jose";
import { z } from "zod";
import { hashBundleFile, nodeHashName } from "./bundle-hash.js";
import { PolicyBundleError } from "./errors.js";

/**
 * Verification of OPA's bundle signature format (`.signatures.json`): exactly one JWT whose
 * payload lists every file of the bundle with its digest (see the OPA docs, "Bundle
 * Signing"). OPA's Wasm SDK does not verify bundles, so the router does it here, more
 * strictly than "every listed file matches": the signed file set must equal the bundle's
 * file set exactly, so nothing can be added to or removed from a signed bundle.
 */

/** The public key bundles must be signed with. */
export interface BundleVerificationKey {
  /** PEM: an SPKI public key (`-----BEGIN PUBLIC KEY-----`) or an X.509 certificate. */
  publicKeyPem: string;
  /** JWS algorithm the key is used with; `EdDSA` (Ed25519) is what `docs/policies.md` recommends. */
  algorithm:
    | "EdDSA"
    | "ES256"
    | "ES384"
    | "ES512"
    | "RS256"
    | "RS384"
    | "RS512"
    | "PS256"
    | "PS384"
    | "PS512";
  /** When set, the JWT's `kid` header (or payload `keyid`) must equal it. */
  keyId?: string;
  /** When set, the payload `scope` must equal it; when unset, the payload must carry no scope (as OPA). */
  scope?: string;
}

export const SIGNATURES_FILE = ".signatures.json";

const signaturesSchema = z.object({ signatures: z.array(z.string()) });
const payloadSchema = z.object({
  files: z.array(z.object({ name: z.string(), hash: z.string(), algorithm: z.string() })),
  keyid: z.string().optional(),
  scope: z.string().optional(),
});

/**
 * Verifies `files` (path → bytes, including `.signatures.json`) against `key`. Returns the
 * key id that signed. Throws {@link PolicyBundleError} naming the first problem.
 */
export async function verifyBundleSignature(
  files: ReadonlyMap<string, Uint8Array>,
  key: BundleVerificationKey,
): Promise<{ keyId: string | undefined }> {
  const raw = files.get(SIGNATURES_FILE);
  if (!raw)
    throw new PolicyBundleError("bundle is not signed (no .signatures.json) but a verification key is set");
  const signatures = parseJson(raw, signaturesSchema, ".signatures.json");
  if (signatures.signatures.length !== 1) {
    throw new PolicyBundleError(
      `.signatures.json must hold exactly one JWT, found ${signatures.signatures.length}`,
    );
  }
  const token = signatures.signatures[0]!;

  let verified: Awaited<ReturnType<typeof compactVerify>>;
  try {
    verified = await compactVerify(token, await importKey(key), { algorithms: [key.algorithm] });
  } catch (cause) {
    throw new PolicyBundleError(`bundle signature is invalid: ${(cause as Error).message}`, { cause });
  }
  const payload = parseJson(verified.payload, payloadSchema, "signature payload");

  const keyId = verified.protectedHeader.kid ?? payload.keyid;
  if (key.keyId !== undefined && keyId !== key.keyId) {
    throw new PolicyBundleError(`bundle signed with key id ${JSON.stringify(keyId)}, expected ${key.keyId}`);
  }
  if ((payload.scope ?? "") !== (key.scope ?? "")) {
    throw new PolicyBundleError(
      `bundle signature scope ${JSON.stringify(payload.scope ?? "")} does not match`,
    );
  }

  const signed = new Map<string, { hash: string; algorithm: string }>();
  for (const f of payload.files) {
    const name = f.name.replace(/^\/+/, "");
    if (signed.has(name)) throw new PolicyBundleError(`signature lists ${name} twice`);
    signed.set(name, f);
  }
  for (const name of files.keys()) {
    if (name !== SIGNATURES_FILE && !signed.has(name)) {
      throw new PolicyBundleError(`file ${name} is not covered by the bundle signature`);
    }
  }
  for (const [name, { hash, algorithm }] of signed) {
    const bytes = files.get(name);
    if (!bytes) throw new PolicyBundleError(`signed file ${name} is missing from the bundle`);
    if (!nodeHashName(algorithm)) {
      throw new PolicyBundleError(`signed file ${name} uses unsupported hash algorithm ${algorithm}`);
    }
    let actual: string;
    try {
      actual = hashBundleFile(name, bytes, algorithm);
    } catch (cause) {
      throw new PolicyBundleError(`cannot hash ${name}: ${(cause as Error).message}`, { cause });
    }
    if (actual !== hash.toLowerCase()) {
      throw new PolicyBundleError(`file ${name} does not match its signed digest (altered bundle)`);
    }
  }
  return { keyId };
}

async function importKey(key: BundleVerificationKey) {
  try {
    return key.publicKeyPem.includes("BEGIN CERTIFICATE")
      ? await importX509(key.publicKeyPem, key.algorithm)
      : await importSPKI(key.publicKeyPem, key.algorithm);
  } catch (cause) {
    throw new PolicyBundleError(`bundle verification key is unusable: ${(cause as Error).message}`, {
      cause,
    });
  }
}

function parseJson<T>(bytes: Uint8Array, schema: z.ZodType<T>, what: string): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (cause) {
    throw new PolicyBundleError(`${what} is not valid JSON`, { cause });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new PolicyBundleError(`${what} is malformed: ${parsed.error.message}`);
  return parsed.data;
}
