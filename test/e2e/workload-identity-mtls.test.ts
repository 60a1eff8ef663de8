import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { RouterService } from "../../src/gen/sovereign/v1/router_pb.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { GrpcJsClient } from "../support/grpc.js";
import { TestPki } from "../support/test-pki.js";

/**
 * mTLS client certificates as workload identities (docs/security.md, "Workload identity"), in
 * the optional-certificate mode where they share the gRPC port with API keys: certificates made
 * here with openssl (a SPIFFE ID as SAN URI, a plain CN, one matching no rule, one from a
 * foreign CA), the real app and @grpc/grpc-js.
 */

const SPIFFE = "spiffe://example.org/ns/acme/sa/search-bot";
const chat = { model: "sim/chat-small", region: "eu", messages: [{ role: "user", content: "hi" }] };

describe("mTLS identities, optional client certificates", () => {
  let pki: TestPki;
  let t: TestApp;
  let address: string;

  beforeAll(async () => {
    pki = new TestPki()
      .ca("ca")
      .ca("foreign-ca")
      .leaf(
        "server",
        "ca",
        "server",
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
      )
      .leaf("spiffe", "ca", "workload", `subjectAltName=URI:${SPIFFE}\nextendedKeyUsage=clientAuth\n`)
      .leaf("batch", "ca", "legacy-batch", "extendedKeyUsage=clientAuth\n")
      .leaf(
        "nobody",
        "ca",
        "nobody",
        "subjectAltName=URI:spiffe://example.org/ns/other/sa/x\nextendedKeyUsage=clientAuth\n",
      )
      .leaf("intruder", "foreign-ca", "legacy-batch", "extendedKeyUsage=clientAuth\n");
    t = await startTestApp({
      auth: true,
      env: {
        SOVR_TLS_CERT: pki.file("server.crt"),
        SOVR_TLS_KEY: pki.file("server.key"),
        SOVR_TLS_CA: pki.file("ca.crt"),
        SOVR_TLS_CLIENT_CERT: "optional",
        SOVR_MTLS_IDENTITIES: JSON.stringify([
          { uri_prefix: "spiffe://example.org/ns/acme/", tenant: "acme", roles: ["client"] },
          { cn: "legacy-batch", tenant: "beta", roles: ["client", "auditor"] },
        ]),
      },
    });
    address = `127.0.0.1:${t.app.servers.grpcPort}`;
  });
  afterAll(async () => {
    await t?.close();
    pki?.remove();
  });

  const call = async (cert: string | undefined, key?: string) => {
    const creds = cert
      ? grpc.credentials.createSsl(pki.pem("ca.crt"), pki.pem(`${cert}.key`), pki.pem(`${cert}.crt`))
      : grpc.credentials.createSsl(pki.pem("ca.crt"));
    const client = new GrpcJsClient(address, { credentials: creds, key });
    try {
      return await client.unary(RouterService, RouterService.method.chat, chat);
    } finally {
      client.close();
    }
  };
  const refusal = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );

  it("maps a SPIFFE ID (SAN URI) and a CN to tenant and roles; the record names the certificate, not a key", async () => {
    expect((await call("spiffe")).route?.endpointId).toBe("sim-eu/chat-small");
    expect((await call("batch")).route?.endpointId).toBe("sim-eu/chat-small");
    const callers = (await decisionRecords(t)).filter((r) => r.caller?.kind === "mtls");
    expect(callers.map((r) => [r.principal?.tenant, r.caller?.subject])).toEqual([
      ["acme", SPIFFE],
      ["beta", "legacy-batch"],
    ]);
    expect(callers[0]!.caller).toMatchObject({
      key_id: "",
      claims: { cert_sha256: expect.stringMatching(/^[0-9A-F:]{95}$/) },
    });
  });

  it("lets API keys share the port: no certificate and a key passes, neither is Unauthenticated", async () => {
    expect((await call(undefined, t.devKey)).route?.endpointId).toBe("sim-eu/chat-small");
    expect(await refusal(call(undefined))).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
  });

  it("a bearer on the call wins over the connection's certificate", async () => {
    await call("spiffe", t.devKey);
    const last = (await decisionRecords(t)).at(-1)!;
    expect(last.caller).toMatchObject({ kind: "api_key" });
    expect(last.principal?.tenant).toBe("default");
  });

  it("refuses a certificate matching no rule, and an untrusted one even with a valid key", async () => {
    const unmatched = await refusal(call("nobody"));
    expect(unmatched).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    expect(unmatched?.details).toMatch(/matches no identity rule/);
    const intruder = await refusal(call("intruder", t.devKey));
    expect(intruder).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    expect(intruder?.details).toMatch(/not signed by the configured CA/);
  });

  it("the tenant header cannot move a certificate's caller to another tenant", async () => {
    const creds = grpc.credentials.createSsl(pki.pem("ca.crt"), pki.pem("spiffe.key"), pki.pem("spiffe.crt"));
    const client = new GrpcJsClient(address, { credentials: creds });
    const md = new grpc.Metadata();
    md.set("x-sovr-tenant", "beta");
    const err = await refusal(client.unary(RouterService, RouterService.method.chat, chat, md));
    client.close();
    expect(err).toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    expect(err?.details).toMatch(/this certificate belongs to tenant acme, not beta/);
  });
});

describe("workload identity configuration", () => {
  const base = { SOVR_TLS_CERT: "/s.crt", SOVR_TLS_KEY: "/s.key", SOVR_TLS_CA: "/ca.crt" };
  it("refuses any mapping to operator, unsigned or HMAC algorithms, and optional mode without a CA", () => {
    expect(() =>
      loadConfig({
        ...base,
        SOVR_MTLS_IDENTITIES: JSON.stringify([{ cn: "x", tenant: "a", roles: ["operator"] }]),
      }),
    ).toThrow(/SOVR_MTLS_IDENTITIES: \[0\]\.roles\[0\]: operator cannot be granted/);
    const issuer = {
      issuer: "https://idp.example",
      audiences: ["sovr"],
      tenant: { value: "acme" },
      roles: { claim: "groups", map: { admins: ["admin", "operator"] } },
    };
    expect(() => loadConfig({ SOVR_OIDC_ISSUERS: JSON.stringify([issuer]) })).toThrow(
      /SOVR_OIDC_ISSUERS: \[0\]\.roles\.map\.admins\[1\]: operator cannot be granted/,
    );
    expect(() =>
      loadConfig({ SOVR_OIDC_ISSUERS: JSON.stringify([{ ...issuer, roles: { value: ["operator"] } }]) }),
    ).toThrow(/operator cannot be granted/);
    for (const alg of ["none", "HS256"])
      expect(() =>
        loadConfig({
          SOVR_OIDC_ISSUERS: JSON.stringify([{ ...issuer, roles: { value: ["client"] }, algorithms: [alg] }]),
        }),
      ).toThrow(/unsigned \(none\) and symmetric \(HS\*\) algorithms are refused/);
    expect(() =>
      loadConfig({
        SOVR_OIDC_ISSUERS: JSON.stringify([
          { ...issuer, issuer: "http://idp.example", roles: { value: ["client"] } },
        ]),
      }),
    ).toThrow(/must be https/);
    expect(() =>
      loadConfig({ SOVR_TLS_CLIENT_CERT: "optional", SOVR_TLS_CERT: "/s", SOVR_TLS_KEY: "/k" }),
    ).toThrow(/SOVR_TLS_CA/);
    const ok = loadConfig({
      SOVR_OIDC_ISSUERS: JSON.stringify([{ ...issuer, roles: { value: ["client"] } }]),
    });
    expect(ok.identity.issuers[0]).toMatchObject({
      algorithms: ["RS256"],
      max_clock_skew_s: 60,
      jwks_cooldown_s: 30,
    });
  });
});

interface RecordView {
  kind: string;
  principal?: { tenant: string };
  caller?: { kind: string; subject: string; key_id: string; claims?: Record<string, string> };
}

async function decisionRecords(t: TestApp): Promise<RecordView[]> {
  await t.app.audit.settled();
  const rows = await t.app.db.db.selectFrom("audit_log").select("envelope").orderBy("seq").execute();
  return rows
    .map(
      ({ envelope }) =>
        JSON.parse(Buffer.from(JSON.parse(envelope).payload, "base64").toString("utf8")) as RecordView,
    )
    .filter((r) => r.kind === "decision");
}
