import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect as http2Connect } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadTlsOptions } from "../../src/api/transport/tls.js";
import { loadConfig } from "../../src/config/config.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../src/gen/grpc/health/v1/health_pb.js";
import { RouterService } from "../../src/gen/sovereign/v1/router_pb.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { GrpcJsClient } from "../support/grpc.js";

/**
 * Certificates made for this test with the `openssl` CLI in a temp dir: a CA that signs the
 * server and a client, and a second, foreign CA that signs another client. P-256 keys, valid
 * for one day; the server certificate names 127.0.0.1 and localhost.
 */
interface Pki {
  dir: string;
  file(name: string): string;
  pem(name: string): Buffer;
}

function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), "sovr-tls-"));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  /** `openssl req` options for a new unencrypted P-256 key written to `<name>.key`. */
  const newP256Key = (name: string) => [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    `${name}.key`,
  ];
  const ca = (name: string) =>
    openssl(
      "req",
      "-x509",
      ...newP256Key(name),
      "-out",
      `${name}.crt`,
      "-days",
      "1",
      "-subj",
      `/CN=${name}`,
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    );
  const leaf = (name: string, signer: string, ext: string) => {
    openssl("req", ...newP256Key(name), "-out", `${name}.csr`, "-subj", `/CN=${name}`);
    writeFileSync(file(`${name}.ext`), ext);
    openssl(
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      `${signer}.crt`,
      "-CAkey",
      `${signer}.key`,
      "-set_serial",
      String(Date.now()),
      "-days",
      "1",
      "-out",
      `${name}.crt`,
      "-extfile",
      `${name}.ext`,
    );
  };
  ca("ca");
  ca("foreign-ca");
  leaf("server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  leaf("client", "ca", "extendedKeyUsage=clientAuth\n");
  leaf("intruder", "foreign-ca", "extendedKeyUsage=clientAuth\n");
  return { dir, file, pem: (name) => readFileSync(file(name)) };
}

/** Health/Check over grpc-js: resolves with the gRPC status code (OK when SERVING). */
async function healthCode(address: string, credentials: grpc.ChannelCredentials): Promise<grpc.status> {
  const client = new GrpcJsClient(address, { credentials });
  try {
    const res = await client.unary(Health, Health.method.check, {}, new grpc.Metadata(), {
      deadline: Date.now() + 5000,
    });
    expect(res.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    return grpc.status.OK;
  } catch (err) {
    return (err as grpc.ServiceError).code;
  } finally {
    client.close();
  }
}

const chat = { model: "sim/chat-small", region: "eu", messages: [{ role: "user", content: "hi" }] };

describe("mTLS on the gRPC port", () => {
  let pki: Pki;
  let t: TestApp;
  let address: string;

  beforeAll(async () => {
    pki = makePki();
    t = await startTestApp({
      auth: true,
      env: {
        SOVR_TLS_CERT: pki.file("server.crt"),
        SOVR_TLS_KEY: pki.file("server.key"),
        SOVR_TLS_CA: pki.file("ca.crt"),
      },
    });
    address = `127.0.0.1:${t.app.servers.grpcPort}`;
  });
  afterAll(async () => {
    await t?.close();
    if (pki) rmSync(pki.dir, { recursive: true, force: true });
  });

  it("accepts a client certificate from the configured CA, and the API key still decides access", async () => {
    expect(t.app.grpcUrl).toMatch(/^https:/);
    const creds = grpc.credentials.createSsl(pki.pem("ca.crt"), pki.pem("client.key"), pki.pem("client.crt"));
    expect(await healthCode(address, creds)).toBe(grpc.status.OK);

    const withKey = new GrpcJsClient(address, { credentials: creds, key: t.devKey });
    const res = await withKey.unary(RouterService, RouterService.method.chat, chat);
    expect(res.route?.endpointId).toBe("sim-eu/chat-small");
    withKey.close();

    // mTLS authenticates the machine, not the caller: no API key is still Unauthenticated.
    const noKey = new GrpcJsClient(address, { credentials: creds });
    await expect(noKey.unary(RouterService, RouterService.method.chat, chat)).rejects.toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
    });
    noKey.close();
  });

  it("refuses a client without a certificate", async () => {
    expect(await healthCode(address, grpc.credentials.createSsl(pki.pem("ca.crt")))).toBe(
      grpc.status.UNAVAILABLE,
    );
  });

  it("refuses a certificate from another CA", async () => {
    const creds = grpc.credentials.createSsl(
      pki.pem("ca.crt"),
      pki.pem("intruder.key"),
      pki.pem("intruder.crt"),
    );
    expect(await healthCode(address, creds)).toBe(grpc.status.UNAVAILABLE);
  });

  it("refuses plaintext HTTP/2 (h2c)", async () => {
    expect(await healthCode(address, grpc.credentials.createInsecure())).toBe(grpc.status.UNAVAILABLE);
  });

  it("negotiates h2 by ALPN and refuses a client that offers only HTTP/1.1", async () => {
    const handshake = (protocols: string[]) =>
      new Promise<string | false>((resolve, reject) => {
        const s = tlsConnect({
          host: "127.0.0.1",
          port: t.app.servers.grpcPort,
          ca: pki.pem("ca.crt"),
          key: pki.pem("client.key"),
          cert: pki.pem("client.crt"),
          servername: "localhost",
          ALPNProtocols: protocols,
        });
        s.once("secureConnect", () => {
          const p = s.alpnProtocol;
          s.destroy();
          resolve(p ?? false);
        });
        s.once("error", reject);
      });
    expect(await handshake(["h2", "http/1.1"])).toBe("h2");
    await expect(handshake(["http/1.1"])).rejects.toThrow(/no application protocol|alert/i);
  });

  it("keeps serving after refused handshakes", async () => {
    // The failed handshakes above did not disturb the listener: a raw HTTP/2 client with the
    // right certificate still gets a SERVING answer.
    const session = http2Connect(`https://127.0.0.1:${t.app.servers.grpcPort}`, {
      servername: "localhost",
      ca: pki.pem("ca.crt"),
      key: pki.pem("client.key"),
      cert: pki.pem("client.crt"),
    });
    try {
      const status = await new Promise<string | undefined>((resolve, reject) => {
        const req = session.request({
          ":method": "POST",
          ":path": "/grpc.health.v1.Health/Check",
          "content-type": "application/grpc",
          te: "trailers",
        });
        req.on("trailers", (tr) => resolve(tr["grpc-status"] as string | undefined));
        req.on("error", reject);
        req.resume();
        req.end(Buffer.from([0, 0, 0, 0, 0]));
      });
      expect(status).toBe("0");
    } finally {
      session.close();
    }
  });
});

describe("server-only TLS (no CA)", () => {
  let pki: Pki;
  let t: TestApp;

  beforeAll(async () => {
    pki = makePki();
    t = await startTestApp({
      env: { SOVR_TLS_CERT: pki.file("server.crt"), SOVR_TLS_KEY: pki.file("server.key") },
    });
  });
  afterAll(async () => {
    await t?.close();
    if (pki) rmSync(pki.dir, { recursive: true, force: true });
  });

  it("encrypts without asking for a client certificate, and still refuses plaintext", async () => {
    const address = `127.0.0.1:${t.app.servers.grpcPort}`;
    expect(await healthCode(address, grpc.credentials.createSsl(pki.pem("ca.crt")))).toBe(grpc.status.OK);
    expect(await healthCode(address, grpc.credentials.createInsecure())).toBe(grpc.status.UNAVAILABLE);
    // A client that does not trust the server's CA refuses the server.
    expect(await healthCode(address, grpc.credentials.createSsl(pki.pem("foreign-ca.crt")))).toBe(
      grpc.status.UNAVAILABLE,
    );
  });
});

describe("TLS configuration", () => {
  it("names the variable at fault when the files do not pair up", () => {
    expect(() => loadConfig({ SOVR_TLS_CERT: "/x.crt" })).toThrow(/SOVR_TLS_KEY/);
    expect(() => loadConfig({ SOVR_TLS_KEY: "/x.key" })).toThrow(/SOVR_TLS_CERT/);
    expect(() => loadConfig({ SOVR_TLS_CA: "/ca.crt" })).toThrow(/SOVR_TLS_CERT/);
  });

  it("stops start-up naming a missing or non-PEM file", async () => {
    await expect(
      loadTlsOptions({
        certFile: "/nonexistent/server.crt",
        keyFile: "/nonexistent/server.key",
        caFile: undefined,
      }),
    ).rejects.toThrow(/\/nonexistent\/server\.(crt|key)/);
    const dir = mkdtempSync(join(tmpdir(), "sovr-tls-"));
    try {
      writeFileSync(join(dir, "junk.pem"), "not a certificate");
      await expect(
        loadTlsOptions({
          certFile: join(dir, "junk.pem"),
          keyFile: join(dir, "junk.pem"),
          caFile: undefined,
        }),
      ).rejects.toThrow(/junk\.pem: the (certificate|private key) is not PEM/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
