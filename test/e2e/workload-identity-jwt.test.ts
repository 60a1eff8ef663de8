import { createHmac, createPublicKey } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { generateKeyPair } from "jose";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditService } from "../../src/gen/sovereign/v1/audit_pb.js";
import { RouterService } from "../../src/gen/sovereign/v1/router_pb.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { leaks } from "../support/canary.js";
import { GrpcJsClient } from "../support/grpc.js";
import { TestIssuer, unsecuredToken } from "../support/oidc-issuer.js";
import { buildVariant, tempDir } from "../support/policy-bundles.js";

/**
 * JWT bearer tokens from a configured OIDC issuer (docs/security.md, "Workload identity"): a
 * local issuer on 127.0.0.1 (discovery + JWKS, keys and tokens made here), the real app, real
 * gRPC (@grpc/grpc-js) and HTTP (openai SDK, the token as its apiKey) clients.
 */

/** A rule reading the caller's identity from the policy input, to show it reaches Rego. */
const IDENTITY_RULE = `package sovereign.route

import data.sovereign.lib

deny[ep.id] contains msg if {
	some ep in lib.endpoints
	input.principal.identity.claims.team == "blocked"
	msg := sprintf("identity: %s caller %s of %s is blocked", [input.principal.identity.kind, input.principal.identity.subject, input.principal.identity.claims.iss])
}
`;

const chat = { model: "sim/chat-small", region: "eu", messages: [{ role: "user", content: "hi" }] };

describe("JWT bearer tokens (workload identity)", () => {
  let issuer: TestIssuer;
  let t: TestApp;
  let address: string;
  let cleanup: () => Promise<void>;
  const good = (claims: Record<string, unknown> = {}) =>
    issuer.sign({ sub: "spiffe-bot", tenant: "acme", roles: ["client"], team: "search", ...claims });

  beforeAll(async () => {
    issuer = await TestIssuer.start();
    const tmp = await tempDir();
    cleanup = tmp.cleanup;
    const bundle = await buildVariant(tmp.dir, "identity", { "identity.rego": IDENTITY_RULE });
    t = await startTestApp({
      auth: true,
      bundlePath: bundle.outFile,
      env: {
        SOVR_OIDC_ISSUERS: JSON.stringify([
          {
            issuer: issuer.issuer,
            audiences: ["sovr"],
            algorithms: ["RS256"],
            jwks_cooldown_s: 0,
            max_clock_skew_s: 30,
            tenant: { claim: "tenant" },
            roles: { claim: "roles" },
            expose_claims: ["team"],
          },
        ]),
      },
    });
    address = `127.0.0.1:${t.app.servers.grpcPort}`;
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await issuer?.close();
    await cleanup?.();
  });

  const grpcChat = async (token: string) => {
    const client = new GrpcJsClient(address, { key: token });
    try {
      return await client.unary(RouterService, RouterService.method.chat, chat);
    } finally {
      client.close();
    }
  };
  const httpChat = (token: string) =>
    new OpenAI({ baseURL: `${t.app.httpUrl}/v1`, apiKey: token, maxRetries: 0 }).chat.completions.create({
      model: "sim/chat-small",
      messages: [{ role: "user", content: "hi" }],
      // @ts-expect-error: OpenRouter's provider preferences, passed through by the SDK.
      provider: { only: ["sim-eu"] },
    });

  it("accepts a valid token over gRPC and HTTP; the record names kind, subject and claims, never the token", async () => {
    const token = await good();
    const res = await grpcChat(token);
    expect(res.route?.endpointId).toBe("sim-eu/chat-small");
    const answer = await httpChat(token);
    expect(answer.object).toBe("chat.completion");

    const records = await decisionRecords(t);
    const mine = records.filter((r) => r.caller?.kind === "jwt");
    expect(mine.length).toBe(2);
    for (const r of mine) {
      expect(r.principal).toMatchObject({ tenant: "acme", roles: ["client"] });
      expect(r.caller).toEqual({
        kind: "jwt",
        subject: "spiffe-bot",
        key_id: "",
        claims: { iss: issuer.issuer, team: "search" },
      });
    }
    // The token (and its signature alone) is nowhere in the database, nor in the logs.
    const signature = token.split(".")[2]!;
    const dump = await tablesAsText(t);
    expect(leaks(dump, signature)).toEqual([]);
    expect(dump.includes(token)).toBe(false);
    expect(leaks(t.logs.join("\n"), signature)).toEqual([]);
  });

  it("gives the policy the caller's identity (input.principal.identity)", async () => {
    const token = await good({ team: "blocked" });
    const err = await grpcChat(token).catch((e: grpc.ServiceError) => e);
    expect(err).toMatchObject({ code: grpc.status.FAILED_PRECONDITION });
    const records = await decisionRecords(t);
    const denied = records.find((r) => r.caller?.claims?.team === "blocked");
    expect(JSON.stringify(denied?.checks)).toContain(
      `identity: jwt caller spiffe-bot of ${issuer.issuer} is blocked`,
    );
    // Replay rebuilds the identity from the record's caller: the same policy input, the same verdict.
    const auditor = new GrpcJsClient(address, { key: t.devKey });
    const replay = await auditor.unary(AuditService, AuditService.method.replayDecision, {
      decisionId: denied!.decision_id,
    });
    auditor.close();
    expect(replay.differences).toEqual([]);
    expect(replay.match).toBe(true);
  });

  it("refuses expired, not-yet-valid, wrong-audience, wrong-issuer, alg none, key-confusion, unknown-kid and operator tokens", async () => {
    const now = Math.floor(Date.now() / 1000);
    const stranger = await generateKeyPair("RS256");
    const pem = createPublicKey({ key: issuer.publicJwk as never, format: "jwk" }).export({
      type: "spki",
      format: "pem",
    });
    const cases: Record<string, [string, RegExp]> = {
      expired: [await good({ iat: now - 600, exp: now - 120 }), /expired/],
      "not yet valid": [await good({ nbf: now + 600 }), /nbf/],
      "issued in the future": [await good({ iat: now + 600, exp: now + 900 }), /iat/],
      "wrong audience": [await good({ aud: "someone-else" }), /aud/],
      "wrong issuer": [await good({ iss: "https://evil.example" }), /issuer that is not accepted/],
      "alg none": [
        unsecuredToken({
          iss: issuer.issuer,
          aud: "sovr",
          sub: "x",
          tenant: "acme",
          roles: ["client"],
          exp: now + 60,
        }),
        /algorithm/,
      ],
      "key confusion (HS256 with the RSA public key)": [
        hs256(
          { alg: "HS256", kid: issuer.kid },
          { iss: issuer.issuer, aud: "sovr", sub: "x", tenant: "acme", roles: ["client"], exp: now + 60 },
          pem,
        ),
        /algorithm/,
      ],
      "unknown kid": [
        await issuer.sign(
          { sub: "x", tenant: "acme", roles: ["client"] },
          { kid: "ghost", key: stranger.privateKey },
        ),
        /key the issuer does not publish/,
      ],
      "signed by another key under the known kid": [
        await issuer.sign({ sub: "x", tenant: "acme", roles: ["client"] }, { key: stranger.privateKey }),
        /signature/,
      ],
      "operator role": [await good({ roles: ["client", "operator"] }), /operator/],
      "no exp": [await good({ exp: undefined }), /exp/],
    };
    for (const [name, [token, message]] of Object.entries(cases)) {
      const g = await grpcChat(token).catch((e: grpc.ServiceError) => e);
      expect(g, name).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
      expect((g as grpc.ServiceError).details, name).toMatch(message);
      const h = await httpChat(token).catch((e: unknown) => e);
      expect(h, name).toBeInstanceOf(OpenAI.AuthenticationError);
      expect((h as InstanceType<typeof OpenAI.AuthenticationError>).message, name).toMatch(message);
    }
  });

  it("picks up a rotated key: a new kid refetches the JWKS, then the new tokens pass", async () => {
    const before = issuer.jwksFetches;
    await issuer.rotate();
    const res = await grpcChat(await good());
    expect(res.route?.endpointId).toBe("sim-eu/chat-small");
    expect(issuer.jwksFetches).toBe(before + 1);
  });

  it("sends a bearer that is not a JWT to the API keys, and a JWT-shaped one never there", async () => {
    expect((await grpcChat(t.devKey!)).route?.endpointId).toBe("sim-eu/chat-small");
    const notKey = await grpcChat("sovr_000000000000_xxx").catch((e: grpc.ServiceError) => e);
    expect((notKey as grpc.ServiceError).details).toMatch(/invalid or revoked API key/);
    const shaped = await grpcChat("aaa.bbb.ccc").catch((e: grpc.ServiceError) => e);
    expect((shaped as grpc.ServiceError).details).toMatch(/malformed JWT/);
  });
});

function hs256(header: object, payload: object, secret: string | Buffer): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
}

interface RecordView {
  kind: string;
  decision_id: string;
  principal?: { tenant: string; roles: string[] };
  caller?: { kind: string; subject: string; key_id: string; claims?: Record<string, string> };
  checks?: unknown;
}

async function decisionRecords(t: TestApp): Promise<RecordView[]> {
  await t.app.audit.settled();
  const rows = await t.app.db.db.selectFrom("audit_log").select("envelope").execute();
  return rows
    .map(
      ({ envelope }) =>
        JSON.parse(Buffer.from(JSON.parse(envelope).payload, "base64").toString("utf8")) as RecordView,
    )
    .filter((r) => r.kind === "decision");
}

async function tablesAsText(t: TestApp): Promise<string> {
  const { sql } = await import("kysely");
  const db = t.app.db.db;
  const tables = await sql<{ table_name: string }>`
    select table_name from information_schema.tables
    where table_schema = 'public' and table_type = 'BASE TABLE'`.execute(db);
  const out: string[] = [];
  for (const { table_name } of tables.rows) {
    const rows = await sql<{ row: string }>`select t::text as row from ${sql.table(table_name)} t`.execute(
      db,
    );
    out.push(...rows.rows.map((r) => r.row));
  }
  await t.app.audit.settled();
  for (const { envelope } of await db.selectFrom("audit_log").select("envelope").execute())
    out.push(Buffer.from(JSON.parse(envelope).payload, "base64").toString("utf8"));
  return out.join("\n");
}
