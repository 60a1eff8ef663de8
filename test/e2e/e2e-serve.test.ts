import { type ChildProcess, spawn } from "node:child_process";
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ServerReflectionRequestSchema,
  ServerReflectionResponseSchema,
} from "../../src/gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../src/gen/grpc/reflection/v1alpha/reflection_pb.js";
import { RouterService } from "../../src/gen/sovereign/v1/router_pb.js";
import { REPO } from "../support/app.js";
import { collect, GrpcJsClient } from "../support/grpc.js";

/** Runs the real `sovr serve` binary as a user would, on free ports. */
async function serve(
  env: Record<string, string>,
): Promise<{ proc: ChildProcess; out: () => string; exited: Promise<number | null> }> {
  const proc = spawn(process.execPath, [join(REPO, "bin/sovr.js"), "serve"], {
    cwd: REPO,
    env: { ...process.env, DATABASE_URL: "", SOVR_LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((r) => proc.on("exit", (code) => r(code)));
  return { proc, out: () => out, exited };
}

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}

function reflect(address: string, service: "v1" | "v1alpha", request: object): Promise<unknown[]> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const reqSchema = service === "v1" ? ServerReflectionRequestSchema : v1alpha.ServerReflectionRequestSchema;
  const resSchema =
    service === "v1" ? ServerReflectionResponseSchema : v1alpha.ServerReflectionResponseSchema;
  const call = client.makeBidiStreamRequest(
    `/grpc.reflection.${service}.ServerReflection/ServerReflectionInfo`,
    (m: never) => Buffer.from(toBinary(reqSchema, m)),
    (b: Buffer) => fromBinary(resSchema, b),
  );
  const done = collect(call as unknown as grpc.ClientReadableStream<unknown>);
  call.write(create(reqSchema as typeof ServerReflectionRequestSchema, request as never) as never);
  call.end();
  return done.finally(() => client.close());
}

const ports = (base: number) => ({
  SOVR_GRPC_PORT: String(base),
  SOVR_HTTP_PORT: String(base + 1),
  SOVR_SIMULATOR_PORT: String(base + 2),
});

describe("sovr serve (the real process)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sovr-serve-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("serves the default configuration, reflection v1 + v1alpha, and drains on SIGTERM then exits 0", async () => {
    // A slow simulator (40 chunks at 20/s) so the stream is still in flight at SIGTERM.
    const env = {
      ...ports(25051),
      SOVR_DATA_DIR: join(dir, "data"),
      SOVR_DRAIN_MS: "8000",
      SOVR_SIMULATOR_TOKENS_PER_SECOND: "20",
      SOVR_SIMULATOR_TOKENS: "40",
    };
    const s = await serve(env);
    try {
      await waitFor(() => s.out().includes("sovr serving"), 30_000);
      const health = await fetch("http://127.0.0.1:25052/healthz");
      expect(health.status).toBe(200);
      const ready = (await (await fetch("http://127.0.0.1:25052/readyz")).json()) as { ready: boolean };
      expect(ready.ready).toBe(true);
      const metrics = await (await fetch("http://127.0.0.1:25052/metrics")).text();
      expect(metrics).toContain("sovr_requests_total");

      for (const version of ["v1", "v1alpha"] as const) {
        const [list] = (await reflect("127.0.0.1:25051", version, {
          messageRequest: { case: "listServices", value: "*" },
        })) as {
          messageResponse: { value: { service: { name: string }[] } };
        }[];
        expect(list!.messageResponse.value.service.map((x) => x.name)).toEqual(
          expect.arrayContaining([
            "sovereign.v1.RouterService",
            "sovereign.v1.CatalogService",
            "sovereign.v1.AuditService",
            "grpc.health.v1.Health",
          ]),
        );
        const [file] = (await reflect("127.0.0.1:25051", version, {
          messageRequest: { case: "fileContainingSymbol", value: "sovereign.v1.RouterService" },
        })) as { messageResponse: { case: string; value: { fileDescriptorProto: Uint8Array[] } } }[];
        expect(file!.messageResponse.case).toBe("fileDescriptorResponse");
        const names = file!.messageResponse.value.fileDescriptorProto.map(
          (b) => fromBinary(FileDescriptorProtoSchema, b).name,
        );
        expect(names[0]).toBe("sovereign/v1/router.proto");
      }

      // First start: a development key is created and printed once, clearly labelled.
      expect(s.out()).toContain("DEVELOPMENT API KEY");
      expect(s.out()).toContain("PLATFORM OPERATOR key for local use");
      const devKey = /export SOVR_KEY=(\S+)/.exec(s.out())?.[1];
      expect(devKey).toMatch(/^sovr_[0-9a-f]{12}_/);
      // A slow stream in flight when SIGTERM arrives still completes, then the process exits 0.
      const anonymous = new GrpcJsClient("127.0.0.1:25051");
      const refused = await anonymous
        .unary(RouterService, RouterService.method.chat, {
          model: "sim/chat-small",
          messages: [{ role: "user", content: "x" }],
        })
        .catch((e: grpc.ServiceError) => e);
      expect((refused as grpc.ServiceError).code).toBe(grpc.status.UNAUTHENTICATED);
      anonymous.close();
      const client = new GrpcJsClient("127.0.0.1:25051", { key: devKey });
      const stream = client.serverStream(RouterService, RouterService.method.chatStream, {
        model: "sim/chat-small",
        region: "eu",
        messages: [{ role: "user", content: "count slowly" }],
      });
      const events: unknown[] = [];
      const finished = new Promise<string>((resolve) => {
        stream.on("data", (e) => events.push(e));
        stream.on("end", () => resolve("end"));
        stream.on("error", (e: grpc.ServiceError) => resolve(`error ${e.code}`));
      });
      await waitFor(() => events.length > 0, 10_000);
      s.proc.kill("SIGTERM");
      expect(await finished).toBe("end");
      // Every chunk arrived: route, 40 deltas, finish.
      expect(events.length).toBe(42);
      expect(await s.exited).toBe(0);
      client.close();
      expect(s.out()).toContain("draining");
    } finally {
      s.proc.kill("SIGKILL");
    }
  });

  it("stops start-up on a malformed catalog file, naming file, path and reason", async () => {
    const catalogDir = join(dir, "bad-catalog");
    await cp(join(REPO, "catalog"), catalogDir, { recursive: true });
    await writeFile(
      join(catalogDir, "broken.yaml"),
      "provider: broken\nname: Broken\nheadquarters: XX\nendpoints: []\n",
    );
    const s = await serve({
      ...ports(25061),
      SOVR_DATA_DIR: join(dir, "data2"),
      SOVR_CATALOG_DIR: catalogDir,
    });
    const code = await s.exited;
    expect(code).toBe(1);
    expect(s.out()).toMatch(/broken\.yaml:3: headquarters: .*/);
  });
});
