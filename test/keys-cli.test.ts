import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { afterAll, describe, expect, it } from "vitest";
import { RouterService } from "../src/gen/sovereign/v1/router_pb.js";
import { REPO, startTestApp, type TestApp } from "./support/app.js";
import { GrpcJsClient } from "./support/grpc.js";

const run = promisify(execFile);
const sovr = (args: string[], env: Record<string, string>) =>
  run(process.execPath, [join(REPO, "bin/sovr.js"), ...args], {
    cwd: REPO,
    env: { ...process.env, DATABASE_URL: "", ...env },
  });

describe("sovr keys (CLI)", () => {
  let dir: string;
  let t: TestApp | undefined;
  afterAll(async () => {
    await t?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("bootstraps a key with the server stopped, then manages keys through the running server", async () => {
    dir = await mkdtemp(join(tmpdir(), "sovr-keys-"));
    const env = { SOVR_DATA_DIR: dir };
    // First key, no server: written straight into the (PGlite) database.
    const admin = (
      await sovr(["keys", "create", "--tenant", "ops", "--role", "admin", "--role", "client"], env)
    ).stdout.trim();
    expect(admin).toMatch(/^sovr_[0-9a-f]{12}_/);

    // The server on that data dir: keys exist, so no development key is created.
    t = await startTestApp({ auth: true, env: { SOVR_DATA_DIR: dir } });
    expect(t.devKey).toBeUndefined();
    const url = t.app.httpUrl;

    // Through the server's KeyService with the admin key.
    const client = (
      await sovr(["keys", "create", "--tenant", "acme", "--role", "client"], {
        SOVR_URL: url,
        SOVR_KEY: admin,
      })
    ).stdout.trim();
    const grpcClient = new GrpcJsClient(`127.0.0.1:${t.app.servers.grpcPort}`, { key: client });
    const req = { model: "sim/chat-small", region: "eu", messages: [{ role: "user", content: "hi" }] };
    const ok = await grpcClient.unary(RouterService, RouterService.method.chat, req);
    expect(ok.route?.endpointId).toBe("sim-eu/chat-small");

    const list = (await sovr(["keys", "list"], { SOVR_URL: url, SOVR_KEY: admin })).stdout;
    const clientId = client.split("_")[1]!;
    expect(list).toMatch(new RegExp(`${clientId}\\s+acme\\s+client\\s+active`));
    expect(list).not.toContain(client.split("_")[2]);

    await sovr(["keys", "revoke", clientId], { SOVR_URL: url, SOVR_KEY: admin });
    const refused = await grpcClient
      .unary(RouterService, RouterService.method.chat, req)
      .catch((e: grpc.ServiceError) => e);
    expect((refused as grpc.ServiceError).code).toBe(grpc.status.UNAUTHENTICATED);
    grpcClient.close();

    // A client key cannot manage keys.
    const denied = await sovr(["keys", "list"], { SOVR_URL: url, SOVR_KEY: client }).catch(
      (e: { stderr: string }) => e,
    );
    expect((denied as { stderr: string }).stderr).toMatch(/invalid or revoked|requires role/);
  }, 60_000);
});
