/**
 * Authentication cost per request (docs/security.md §8): `authorize()` — the one check both APIs
 * run before a body is read — timed in-process for an API key, a JWT (RS256, ES256) from a local
 * OIDC issuer (JWKS fetched once, then cached) and an mTLS certificate matched by a rule.
 *
 * What it measures is the per-call work only: for mTLS the TLS handshake (once per connection,
 * not per call) is not included; for a JWT the JWKS fetch happens once before measuring.
 *
 * Run: npx tsx bench/auth-cost.ts   (about 15 s; prints JSON: µs per call, p50/p99/mean)
 */
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CryptoKey, exportJWK, generateKeyPair, SignJWT } from "jose";
import { createApiKey } from "../src/auth/api-keys.js";
import {
  Authenticator,
  authorize,
  CallerAuth,
  JwtVerifier,
  type PeerCertificate,
} from "../src/auth/index.js";
import { loadConfig } from "../src/config/config.js";
import { openDatabase } from "../src/db/index.js";

const OPERATION = "sovereign.v1.RouterService/Chat";
const WARMUP = 500;
const SAMPLES = 20_000;

async function measure(name: string, call: () => Promise<unknown>) {
  for (let i = 0; i < WARMUP; i++) await call();
  const us = new Float64Array(SAMPLES);
  for (let i = 0; i < SAMPLES; i++) {
    const t0 = performance.now();
    await call();
    us[i] = (performance.now() - t0) * 1000;
  }
  us.sort();
  const pick = (q: number) => Math.round(us[Math.min(SAMPLES - 1, Math.floor(q * SAMPLES))]! * 10) / 10;
  const mean = Math.round((us.reduce((a, b) => a + b, 0) / SAMPLES) * 10) / 10;
  return { name, samples: SAMPLES, p50_us: pick(0.5), p99_us: pick(0.99), mean_us: mean };
}

const dataDir = await mkdtemp(join(tmpdir(), "sovr-bench-auth-"));
const db = await openDatabase({ databaseUrl: undefined, dataDir, storageTimeoutMs: 5000 });
const { token: apiKey } = await createApiKey(db.db, { tenant: "acme", roles: ["client"] });
const keys = new Authenticator(db.db, 60_000);
await keys.start();

// A local issuer: discovery + JWKS for one RSA and one EC key.
const rsa = await generateKeyPair("RS256");
const ec = await generateKeyPair("ES256");
const jwks = {
  keys: [
    { ...(await exportJWK(rsa.publicKey)), kid: "rsa", alg: "RS256", use: "sig" },
    { ...(await exportJWK(ec.publicKey)), kid: "ec", alg: "ES256", use: "sig" },
  ],
};
const server = createServer((req, res) => {
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify(req.url === "/jwks" ? jwks : { issuer, jwks_uri: `${issuer}/jwks` }));
});
server.listen(0, "127.0.0.1");
await once(server, "listening");
const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const config = loadConfig({
  SOVR_TLS_CERT: "/unused.crt",
  SOVR_TLS_KEY: "/unused.key",
  SOVR_TLS_CA: "/unused-ca.crt",
  SOVR_OIDC_ISSUERS: JSON.stringify([
    {
      issuer,
      audiences: ["sovr"],
      algorithms: ["RS256", "ES256"],
      tenant: { claim: "tenant" },
      roles: { claim: "groups", map: { "llm-users": ["client"] } },
      expose_claims: ["azp"],
    },
  ]),
  SOVR_MTLS_IDENTITIES: JSON.stringify([
    { uri_prefix: "spiffe://example.org/ns/other/", tenant: "other", roles: ["client"] },
    { uri_prefix: "spiffe://example.org/ns/acme/", tenant: "acme", roles: ["client"] },
  ]),
});
const callers = new CallerAuth(
  keys,
  new JwtVerifier(config.identity.issuers),
  config.identity.certificateRules,
);
const sign = (alg: "RS256" | "ES256", key: CryptoKey) =>
  new SignJWT({ tenant: "acme", groups: ["llm-users"], azp: "search-bot" })
    .setProtectedHeader({ alg, kid: alg === "RS256" ? "rsa" : "ec" })
    .setIssuer(issuer)
    .setAudience("sovr")
    .setSubject("search-bot")
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(key);
const rsaToken = await sign("RS256", rsa.privateKey);
const ecToken = await sign("ES256", ec.privateKey);
const cert: PeerCertificate = {
  authorized: true,
  cn: "workload",
  uris: ["spiffe://example.org/ns/acme/sa/search-bot"],
  fingerprint256: "AB:".repeat(31) + "AB",
};

const results = [
  await measure("api_key", () => authorize(callers, OPERATION, `Bearer ${apiKey}`, undefined)),
  await measure("jwt_rs256", () => authorize(callers, OPERATION, `Bearer ${rsaToken}`, undefined)),
  await measure("jwt_es256", () => authorize(callers, OPERATION, `Bearer ${ecToken}`, undefined)),
  await measure("mtls_rule", () => authorize(callers, OPERATION, undefined, undefined, cert)),
];
console.log(JSON.stringify({ node: process.version, results }, null, 2));

keys.stop();
server.close();
await db.close();
await rm(dataDir, { recursive: true, force: true });
