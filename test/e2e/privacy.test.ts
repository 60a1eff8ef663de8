/**
 * Privacy (DESIGN §8, issue 6 acceptance): a prompt holding a unique canary goes through gRPC
 * and the OpenAI-compatible HTTP API, succeeding and failing (upstream 500, upstream 400, no
 * eligible endpoint). Afterwards the canary appears nowhere: not in any table (every column as
 * text, bytea and base64 forms included, record payloads decoded), the server's logs, the
 * metrics output, nor any error message the callers received. The tenant also brought its own
 * provider key (BYOK) holding the canary: it goes upstream, and is kept only encrypted.
 * Tracing is on: nor is it in any exported span (attributes, events, status), and the access
 * lines (one per request) are among the logs searched. On the embedded database with its audit
 * journal (SOVR_AUDIT_JOURNAL, on by default) and without: the journal file, read after every
 * request while it holds records not yet in the database, has no canary either.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../src/auth/api-keys.js";
import { RouterService } from "../../src/gen/sovereign/v1/router_pb.js";
import { appDatabases, startTestApp, type TestApp } from "../support/app.js";
import { exportLog } from "../support/audit-live.js";
import { expectNoCanaryOutside, leaks } from "../support/canary.js";
import { collect, GrpcJsClient } from "../support/grpc.js";
import { type OtlpReceiver, startOtlpReceiver } from "../support/otlp-receiver.js";
import { makePdf } from "../support/pdf.js";
import { ibanValid, testDetector } from "../support/test-detector.js";

describe("the canary matcher", () => {
  it("finds the canary in plain, hex and base64 forms (so a clean result means something)", () => {
    const c = `CANARY-${randomUUID()}`;
    expect(leaks(`x${c}y`, c)).toHaveLength(1);
    expect(leaks(`\\x${Buffer.from(c).toString("hex")}`, c).length).toBeGreaterThan(0);
    for (const prefix of ["", "a", "ab", "abc"])
      expect(leaks(Buffer.from(prefix + c + "zz").toString("base64"), c).length).toBeGreaterThan(0);
    expect(leaks("nothing here", c)).toEqual([]);
  });
});

describe.each([...appDatabases, "pglite-journal" as const])(
  "no prompt content is kept anywhere (%s)",
  (variant) => {
    const database = variant === "pglite-journal" ? "pglite" : variant;
    /** The audit journal as read after each request (journal mode: records not yet inserted). */
    const journalReads: string[] = [];
    const readJournal = async () => {
      if (variant === "pglite-journal")
        journalReads.push(await readFile(join(t.dataDir, "audit.journal"), "utf8").catch(() => ""));
    };
    let t: TestApp;
    let grpc: GrpcJsClient;
    let traces: OtlpReceiver;
    const canary = `CANARY-${randomUUID()}`;
    const errors: string[] = [];
    const decisionIds: string[] = [];

    const grpcChat = async (region: string) => {
      try {
        const events = await collect(
          grpc.serverStream(RouterService, RouterService.method.chatStream, {
            model: "sim/chat-small",
            region,
            messages: [
              { role: "system", content: `system ${canary}` },
              { role: "user", content: `Please repeat ${canary}` },
            ],
          }),
        );
        const route = events.find((e) => e.event.case === "route");
        decisionIds.push((route!.event.value as { decisionId: string }).decisionId);
        await readJournal();
        return "ok";
      } catch (err) {
        const e = err as { message: string; details?: string; metadata?: { getMap(): object } };
        errors.push(e.message, e.details ?? "", JSON.stringify(e.metadata?.getMap() ?? {}));
        await readJournal();
        return "error";
      }
    };

    const httpChat = async (region: string, stream: boolean) => {
      const res = await fetch(`${t.app.httpUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: "sim/chat-small",
          region,
          stream,
          messages: [{ role: "user", content: `Please repeat ${canary}` }],
        }),
      });
      const body = await res.text();
      const id = res.headers.get("x-sovr-decision-id");
      if (id) decisionIds.push(id);
      if (res.status !== 200) errors.push(body, JSON.stringify([...res.headers]));
      await readJournal();
      return res.status;
    };

    beforeAll(async () => {
      traces = await startOtlpReceiver();
      t = await startTestApp({
        database,
        env: {
          SOVR_MASTER_KEY: randomBytes(32).toString("hex"),
          OTEL_TRACES_EXPORTER: "otlp",
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: traces.url,
          SOVR_AUDIT_JOURNAL: variant === "pglite-journal" ? "on" : "off",
        },
      });
      grpc = new GrpcJsClient(`127.0.0.1:${t.app.servers.grpcPort}`);
      // The default tenant's own key for sim-eu, set as the local operator would.
      await t.app.byokAdmin.set(undefined, "default", "sim-eu", `BYOK-${canary}`, false);
      // Succeeding, over both APIs (HTTP streaming and not).
      expect(await grpcChat("eu")).toBe("ok");
      expect(await httpChat("eu", false)).toBe(200);
      expect(await httpChat("eu", true)).toBe(200);
      // Failing upstream: 500 (every attempt fails) and 400 (the upstream rejects the request).
      for (const status of [500, 400]) {
        t.simulator.setBehaviour("sim-eu", { fault: { kind: "status", status } });
        expect(await grpcChat("eu")).toBe("error");
        expect(await httpChat("eu", false)).not.toBe(200);
        expect(await httpChat("eu", true)).not.toBe(200);
      }
      t.simulator.resetBehaviour();
      // Refused before any upstream: no endpoint is eligible in this region.
      expect(await grpcChat("antarctica")).toBe("error");
      expect(await httpChat("antarctica", false)).not.toBe(200);
      await t.app.audit.drain();
    }, 60_000);
    afterAll(async () => {
      grpc?.close();
      await t?.close();
      await traces?.close();
    });

    it("the requests really happened: decisions recorded, errors returned, the upstream called", async () => {
      expect(decisionIds.length).toBeGreaterThanOrEqual(3);
      expect(errors.length).toBeGreaterThanOrEqual(6);
      const rows = await t.app.db.db.selectFrom("audit_decisions").select(["outcome"]).execute();
      const outcomes = new Set(rows.map((r) => r.outcome));
      expect(outcomes).toContain("success");
      expect(outcomes).toContain("failed");
      expect(outcomes).toContain("denied");
      expect(t.simulator.stats("sim-eu").requests).toBeGreaterThanOrEqual(9);
      // The BYOK key was used (so its absence below means something): kept, encrypted.
      expect((await t.app.byok.keysFor("default")).get("sim-eu")?.apiKey).toBe(`BYOK-${canary}`);
      expect(await t.app.db.db.selectFrom("byok_keys").select("tenant").execute()).toHaveLength(1);
    });

    it("no table holds the canary (every column as text; record payloads decoded)", async () => {
      const db = t.app.db.db;
      const tables = await sql<{ table_name: string }>`
      select table_name from information_schema.tables
      where table_schema = 'public' and table_type = 'BASE TABLE'`.execute(db);
      expect(tables.rows.map((r) => r.table_name)).toEqual(
        expect.arrayContaining(["audit_log", "audit_decisions"]),
      );
      let scanned = 0;
      for (const { table_name } of tables.rows) {
        const rows = await sql<{
          row: string;
        }>`select t::text as row from ${sql.table(table_name)} t`.execute(db);
        for (const { row } of rows.rows) {
          expect(leaks(row, canary), `${table_name}: ${row.slice(0, 200)}`).toEqual([]);
          scanned++;
        }
      }
      expect(scanned).toBeGreaterThan(20);
      const log = await db.selectFrom("audit_log").select("envelope").execute();
      for (const { envelope } of log) {
        const payload = Buffer.from(JSON.parse(envelope).payload, "base64").toString("utf8");
        expect(leaks(payload, canary)).toEqual([]);
      }
    });

    it.runIf(variant === "pglite-journal")(
      "nor does the audit journal (its lines, record payloads decoded)",
      () => {
        expect(journalReads.length).toBeGreaterThanOrEqual(10);
        const lines = journalReads.flatMap((text) => text.split("\n").filter((l) => l.endsWith("}")));
        // Records stay in the journal ~20 ms: read right after each request, some are still there.
        expect(lines.length).toBeGreaterThan(0);
        for (const line of lines) {
          expect(leaks(line, canary)).toEqual([]);
          const payload = Buffer.from(JSON.parse(JSON.parse(line).envelope).payload, "base64").toString(
            "utf8",
          );
          expect(leaks(payload, canary)).toEqual([]);
        }
        console.info(`privacy (journal): ${lines.length} journal lines read while not yet in the database`);
      },
    );

    it("nor do the server's logs, the metrics, the error messages, or an export", async () => {
      expect(t.logs.length).toBeGreaterThan(5);
      await expectNoCanaryOutside(t, canary, errors, 1000);
    });

    it("nor do the spans exported (every byte), and every request wrote an access line", async () => {
      const before = traces.spans.length;
      await t.app.stop(); // flushes the batched spans
      expect(traces.spans.length).toBeGreaterThan(before);
      expect(traces.spans.some((s) => s.status.code === 2)).toBe(true); // the failures are there too
      expect(leaks(Buffer.concat(traces.raw).toString("latin1"), canary)).toEqual([]);
      expect(leaks(JSON.stringify(traces.spans), canary)).toEqual([]);
      const access = t.logs.filter((l) => l.includes('"msg":"request"'));
      expect(access.length).toBeGreaterThanOrEqual(10);
      expect(leaks(access.join("\n"), canary)).toEqual([]);
    });
  },
);

/** A valid IBAN (mod-97 check digits computed) whose account number is `digits`, unique per run. */
function ibanWith(digits: string): string {
  const bban = `37040044${digits.padStart(10, "0").slice(0, 10)}`;
  const numeric = `${bban}131400`; // "DE" = 13 14, check digits 00
  let rem = 0;
  for (const d of numeric) rem = (rem * 10 + Number(d)) % 97;
  const iban = `DE${String(98 - rem).padStart(2, "0")}${bban}`;
  expect(ibanValid(iban)).toBe(true);
  return iban;
}

/**
 * The detector paths (issue 16): canaries that are also an e-mail address, an IBAN and an API
 * key go through the content rules — routed to the EU, denied by secrets_deny, masked by the
 * redact obligation (the upstream gets placeholders), an obligation that cannot be applied (a
 * malformed PDF; a PDF holding them), a key inside a PDF, and a detector that fails with the text in its error — and are found nowhere.
 */
describe.each(appDatabases)("detector paths keep no content either (%s)", (database) => {
  let t: TestApp;
  const id = randomUUID().replace(/-/g, "");
  const email = `canary.${id}@example.com`;
  const iban = ibanWith(String(Number.parseInt(id.slice(0, 12), 16)).slice(0, 10));
  const key = `sk-canary${id}`;
  const canaries = [email, iban, key, `DETECTOR-FAILS-${id}`];
  const errors: string[] = [];
  const statuses: number[] = [];
  let auditorKey = "";
  // The test detector, failing (with the text in its message) on texts that ask it to.
  const detector = {
    version: testDetector.version,
    findSpans(text: string) {
      if (text.includes("DETECTOR-FAILS")) throw new Error(`cannot scan ${text}`);
      return testDetector.findSpans(text);
    },
  };

  const chatAs = async (token: string, messages: unknown[], stream = false) => {
    const res = await fetch(`${t.app.httpUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ model: "sim/chat-small", stream, messages }),
    });
    const body = await res.text();
    statuses.push(res.status);
    if (res.status !== 200) errors.push(body, JSON.stringify([...res.headers]));
    return res.status;
  };
  const all = `Mail ${email}, pay ${iban}, key ${key}`;

  beforeAll(async () => {
    t = await startTestApp({ database, auth: true, detector });
    const db = t.app.db.db;
    const legal = (await createApiKey(db, { tenant: "acme-legal", roles: ["client"] })).token;
    const support = (await createApiKey(db, { tenant: "acme-support", roles: ["client"] })).token;
    auditorKey = (await createApiKey(db, { tenant: "acme-legal", roles: ["auditor"], allTenants: true }))
      .token;
    await t.app.auth.refresh();
    // pii_requires_eu: routed to the EU endpoint.
    expect(await chatAs(legal, [{ role: "user", content: `Mail ${email} about ${iban}` }])).toBe(200);
    // secrets_deny: denied.
    expect(await chatAs(legal, [{ role: "user", content: all }])).toBe(403);
    // The redact obligation (non-EU endpoints get placeholders), streamed and not.
    expect(
      await chatAs(support, [
        { role: "system", content: all },
        { role: "user", content: all },
      ]),
    ).toBe(200);
    expect(await chatAs(support, [{ role: "user", content: all }], true)).toBe(200);
    // An obligation that cannot be applied: a PDF beside the text.
    const pdf = Buffer.from(`%PDF-1.4 ${all}`).toString("base64");
    const withPdf = [
      {
        role: "user",
        content: [
          { type: "text", text: all },
          { type: "file", file: { filename: "a.pdf", file_data: `data:application/pdf;base64,${pdf}` } },
        ],
      },
    ];
    await chatAs(support, withPdf);
    // Real PDFs, read and scanned: a key inside one is refused by secrets_deny; personal data
    // inside one cannot be masked there, so the redact obligation cannot be applied.
    const realPdf = (lines: string[]) => [
      {
        role: "user",
        content: [
          { type: "text", text: "see attached" },
          {
            type: "file",
            file: {
              filename: "b.pdf",
              file_data: `data:application/pdf;base64,${makePdf([lines], { title: email }).toString("base64")}`,
            },
          },
        ],
      },
    ];
    expect(await chatAs(legal, realPdf([`key ${key}`]))).toBe(403);
    await chatAs(support, realPdf([`Mail ${email}`, `pay ${iban}`]));
    // The detector fails (its error quotes the text): unscannable, secrets_deny refuses.
    expect(await chatAs(legal, [{ role: "user", content: `DETECTOR-FAILS-${id} ${all}` }])).toBe(403);
    await t.app.audit.drain();
  }, 60_000);
  afterAll(() => t?.close());

  it("the rules acted on labels: routed, denied, masked, excluded", async () => {
    const payloads = (await t.app.db.db.selectFrom("audit_log").select("envelope").execute()).map((r) =>
      Buffer.from(JSON.parse(r.envelope).payload, "base64").toString("utf8"),
    );
    const text = payloads.join("\n");
    expect(text).toContain('"detector":"test-detect/1"');
    expect(text).toContain("secrets_deny: prompt holds a secret (");
    expect(text).toContain("secrets_deny: prompt may hold a secret: 1 part(s) could not be scanned");
    expect(text).toMatch(/redact:email,iban@sim-/);
    expect(text).toContain("cannot be applied: 1 part(s) cannot be scanned (fail closed)");
    expect(text).toContain("cannot be applied: a PDF holds email, iban, which cannot be masked inside it");
  });

  it("no canary in any table, record, log, metric, error or export", async () => {
    await t.app.audit.settled();
    const db = t.app.db.db;
    const tables = await sql<{ table_name: string }>`
      select table_name from information_schema.tables
      where table_schema = 'public' and table_type = 'BASE TABLE'`.execute(db);
    let rows = "";
    for (const { table_name } of tables.rows)
      for (const { row } of (
        await sql<{ row: string }>`select t::text as row from ${sql.table(table_name)} t`.execute(db)
      ).rows)
        rows += `${row}\n`;
    for (const { envelope } of await db.selectFrom("audit_log").select("envelope").execute())
      rows += Buffer.from(JSON.parse(envelope).payload, "base64").toString("utf8");
    const metrics = await (
      await fetch(`${t.app.httpUrl}/metrics`, { headers: { authorization: `Bearer ${auditorKey}` } })
    ).text();
    expect(metrics).toContain("sovr_");
    const dir = await exportLog(t, auditorKey);
    try {
      const records = await readFile(join(dir, "records.jsonl"), "utf8");
      expect(records.length).toBeGreaterThan(1000);
      for (const c of canaries) {
        expect(leaks(rows, c), `tables: ${c}`).toEqual([]);
        expect(leaks(t.logs.join("\n"), c), `logs: ${c}`).toEqual([]);
        expect(leaks(metrics, c), `metrics: ${c}`).toEqual([]);
        expect(leaks(errors.join("\n"), c), `errors: ${c}`).toEqual([]);
        expect(leaks(records, c), `export: ${c}`).toEqual([]);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(errors.length).toBeGreaterThanOrEqual(2);
  });
});
