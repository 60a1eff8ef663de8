import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { get as httpGet } from "node:http";
import { connect as tlsConnect } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import OpenAI from "openai";
import { Agent, fetch as undiciFetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TlsReloader } from "../../src/api/index.js";
import { loadConfig } from "../../src/config/config.js";
import { Health } from "../../src/gen/grpc/health/v1/health_pb.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { GrpcJsClient } from "../support/grpc.js";
import { SERVER_EXT, TestPki } from "../support/test-pki.js";

/** The serial number (upper-case hex) of the certificate a new connection to `port` is shown. */
function servedSerial(port: number, ca: Buffer, alpn: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: "127.0.0.1", port, ca, ALPNProtocols: [alpn] }, () => {
      expect(socket.alpnProtocol).toBe(alpn);
      const serial = socket.getPeerCertificate().serialNumber;
      socket.end();
      resolve(serial);
    });
    socket.on("error", reject);
  });
}

/** The next `n` events of `kind`, from whichever port. */
async function next<K extends "reloaded" | "failed">(r: TlsReloader, kind: K, n: number) {
  const seen: { port: string; serial?: string; message?: string }[] = [];
  while (seen.length < n) seen.push(...((await once(r, kind)) as (typeof seen)[number][]));
  return seen.sort((a, b) => a.port.localeCompare(b.port));
}

describe("HTTPS on the HTTP port and certificate renewal on both ports", () => {
  let ca: TestPki;
  let t: TestApp;
  let caPem: Buffer;
  const openaiFor = (baseURL: string) =>
    new OpenAI({
      baseURL,
      apiKey: "unused-auth-off",
      maxRetries: 0,
      fetch: undiciFetch as unknown as typeof fetch,
      // undici's own fetch and Agent: a dispatcher is not in the DOM RequestInit type.
      fetchOptions: { dispatcher: new Agent({ connect: { ca: caPem } }) } as never,
    });

  beforeAll(async () => {
    ca = new TestPki().ca("ca");
    ca.leaf("server", "ca", "server", SERVER_EXT, "5E1A0001");
    caPem = ca.pem("ca.crt");
    t = await startTestApp({
      env: {
        SOVR_TLS_CERT: ca.file("server.crt"),
        SOVR_TLS_KEY: ca.file("server.key"),
        SOVR_HTTP_TLS: "on",
        // Only file-change events: the renewal below is seen by the watch, not by a timer.
        SOVR_TLS_RELOAD_MS: "0",
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    ca?.remove();
  });

  it("serves the OpenAI API over HTTPS (the openai SDK trusting the test CA) and refuses cleartext", async () => {
    expect(t.app.httpUrl).toMatch(/^https:/);
    const openai = openaiFor(`${t.app.httpUrl}/v1`);
    const res = await openai.chat.completions.create({
      model: "sim/chat-small",
      messages: [{ role: "user", content: "hi" }],
      // @ts-expect-error OpenRouter's region is not in the SDK's types
      region: "eu",
    });
    expect(res.choices[0]?.message.content).toBeTruthy();
    // Plain HTTP on the TLS port: the handshake fails, nothing is served.
    const plain = await new Promise<unknown>((resolve) => {
      const req = httpGet(`http://127.0.0.1:${t.app.servers.httpPort}/healthz`, (r) => resolve(r.statusCode));
      req.on("error", (e) => resolve(e));
    });
    expect(plain).toBeInstanceOf(Error);
    // Without the CA the certificate is not trusted.
    const untrusted = await new OpenAI({ baseURL: `${t.app.httpUrl}/v1`, apiKey: "x", maxRetries: 0 }).models
      .list()
      .catch((e: unknown) => e);
    expect(untrusted).toBeInstanceOf(OpenAI.APIConnectionError);
  });

  it("a renewed certificate serves new connections on both ports without restart; a broken renewal keeps the old one", async () => {
    const reloader = t.app.tlsReload!;
    const { grpcPort, httpPort } = t.app.servers;
    expect(await servedSerial(httpPort, caPem, "http/1.1")).toBe("5E1A0001");
    expect(await servedSerial(grpcPort, caPem, "h2")).toBe("5E1A0001");

    // Renewal: a new key and certificate renamed over the old files, as cert-manager does.
    ca.leaf("renewed", "ca", "renewed", SERVER_EXT, "5E1A0002");
    const renewed = next(reloader, "reloaded", 2);
    ca.install("renewed", "server");
    expect((await renewed).map((e) => [e.port, e.serial])).toEqual([
      ["grpc", "5E1A0002"],
      ["http", "5E1A0002"],
    ]);
    expect(await servedSerial(httpPort, caPem, "http/1.1")).toBe("5E1A0002");
    expect(await servedSerial(grpcPort, caPem, "h2")).toBe("5E1A0002");

    // A broken renewal: a certificate whose key is not the one on disk. Logged, old pair kept.
    ca.leaf("mismatch", "ca", "mismatch", SERVER_EXT, "5E1A0003");
    const failed = next(reloader, "failed", 2);
    writeFileSync(ca.file("server.crt"), ca.pem("mismatch.crt"));
    const refusals = await failed;
    expect(refusals.map((e) => e.port)).toEqual(["grpc", "http"]);
    for (const e of refusals) {
      expect(e.message).toContain(ca.file("server.crt"));
      expect(e.message).not.toContain("PRIVATE KEY");
    }
    expect(await servedSerial(httpPort, caPem, "http/1.1")).toBe("5E1A0002");
    expect(await servedSerial(grpcPort, caPem, "h2")).toBe("5E1A0002");
    const openai = openaiFor(`${t.app.httpUrl}/v1`);
    expect((await openai.models.list()).data.length).toBeGreaterThan(0);
    const grpcClient = new GrpcJsClient(`127.0.0.1:${grpcPort}`, {
      credentials: grpc.credentials.createSsl(caPem),
    });
    await expect(grpcClient.unary(Health, Health.method.check, {})).resolves.toBeDefined();
    grpcClient.close();
    // The log names the refusal, never key material.
    const logged = t.logs.filter((l) => l.includes("TLS certificate renewal refused"));
    expect(logged.length).toBeGreaterThanOrEqual(2);
    expect(logged.join("\n")).not.toContain("PRIVATE KEY");
    // A key that is not PEM at all: refused too.
    const garbage = next(reloader, "failed", 2);
    writeFileSync(ca.file("server.key"), "not a key");
    expect((await garbage).every((e) => /not PEM/.test(e.message ?? ""))).toBe(true);
    expect(await servedSerial(httpPort, caPem, "http/1.1")).toBe("5E1A0002");
  });

  it("config: HTTPS needs the certificate; the HTTP client CA needs HTTPS", () => {
    expect(() => loadConfig({ SOVR_HTTP_TLS: "on" })).toThrow(/SOVR_TLS_CERT/);
    expect(() => loadConfig({ SOVR_TLS_CERT: "a", SOVR_TLS_KEY: "b", SOVR_HTTP_TLS_CA: "c" })).toThrow(
      /SOVR_HTTP_TLS/,
    );
    const c = loadConfig({ SOVR_TLS_CERT: "a", SOVR_TLS_KEY: "b" });
    expect(c.httpTls).toBeUndefined();
    expect(c.tlsReloadMs).toBe(30_000);
  });
});
