/**
 * Content-aware policy end to end (issue 16), with the openai SDK against a recording
 * OpenAI-compatible upstream and a small real detector (test/support/test-detector.ts):
 * - `pii_requires_eu` (tenant acme-legal): a prompt with an e-mail address goes only to the EU
 *   endpoint; without personal data the cheaper US one serves;
 * - `secrets_deny`: a prompt with an API key is 403 with the rule's reason, nothing sent;
 * - the redact obligation (tenant acme-support, `pii_redact_outside_eu`): the US endpoint gets
 *   placeholders, the caller gets the original values back, streamed and not, with the
 *   upstream echoing placeholders split across chunks and inside tool-call arguments;
 * - PDF file parts are read and scanned: personal data in a PDF keeps `pii_requires_eu` to the
 *   EU, a PDF without it lets the US endpoint serve, and a redact obligation cannot mask inside
 *   a PDF, so it excludes the US endpoint when the PDF holds a category it names;
 * - no detector: the obligation cannot be applied, the US endpoint is excluded (fail closed);
 * - the record carries counts, the detector version and the obligation, never the text.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DsseEnvelope, envelopePayload } from "../../src/audit/dsse.js";
import { createApiKey } from "../../src/auth/api-keys.js";
import { RouterService } from "../../src/gen/sovereign/v1/router_pb.js";
import type { DecisionRecordV1 } from "../../src/routing/decision-record.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { makePdf } from "../support/pdf.js";
import { type RecordingUpstream, startRecordingUpstream } from "../support/recording-upstream.js";
import { testDetector } from "../support/test-detector.js";

const CATALOG = `
provider: pii-eu
name: EU
headquarters: FR
policy: { retention_days: 0, trains_on_data: false, caching: none, residency: { region: eu, country: FR } }
endpoints:
  - id: pii-eu/chat
    model: pii/chat
    api: openai
    base_url: \${REC_UPSTREAM_URL}/pii-eu/v1
    pricing: { prompt: 5, completion: 5 }
    context_length: 32768
    input_modalities: [text, file]
    supported_parameters: [max_tokens, tools, tool_choice]
---
provider: pii-us
name: US
headquarters: US
policy: { retention_days: 0, trains_on_data: false, caching: none, residency: { region: us, country: US } }
endpoints:
  - id: pii-us/chat
    model: pii/chat
    api: openai
    base_url: \${REC_UPSTREAM_URL}/pii-us/v1
    pricing: { prompt: 0.1, completion: 0.1 }
    context_length: 32768
    input_modalities: [text, file]
    supported_parameters: [max_tokens, tools, tool_choice]
`;

const EMAIL = "jane.doe@example.com";
const IBAN = "DE89 3704 0044 0532 0130 00";
const SECRET = "sk-test0123456789abcdefghij";

interface World {
  t: TestApp;
  upstream: RecordingUpstream;
  as: (tenant: string) => Promise<OpenAI>;
  close(): Promise<void>;
}

async function startWorld(detector: typeof testDetector | null): Promise<World> {
  const upstream = await startRecordingUpstream();
  const dir = await mkdtemp(join(tmpdir(), "sovr-content-catalog-"));
  await writeFile(join(dir, "pii.yaml"), CATALOG);
  const t = await startTestApp({
    catalogDir: dir,
    auth: true,
    detector,
    env: {
      REC_UPSTREAM_URL: upstream.url,
      SOVR_CATALOG_URL_VARS: "REC_UPSTREAM_URL",
      SOVR_CATALOG_WATCH: "off",
    },
  });
  return {
    t,
    upstream,
    async as(tenant) {
      const k = await createApiKey(t.app.db.db, { tenant, roles: ["client"] });
      await t.app.auth.refresh();
      return new OpenAI({ baseURL: `${t.app.httpUrl}/v1`, apiKey: k.token, maxRetries: 0 });
    },
    async close() {
      await t.close();
      await upstream.close();
    },
  };
}

async function decisionRecord(t: TestApp, id: string): Promise<DecisionRecordV1> {
  await t.app.audit.settled();
  const row = await t.app.db.db
    .selectFrom("audit_log")
    .select("envelope")
    .where("decision_id", "=", id)
    .where("kind", "=", "decision")
    .executeTakeFirstOrThrow();
  return JSON.parse(
    new TextDecoder().decode(envelopePayload(JSON.parse(row.envelope) as DsseEnvelope)),
  ) as DecisionRecordV1;
}

const ask = (content: string) => ({ model: "pii/chat", messages: [{ role: "user" as const, content }] });

/** A chat request with a text part and a PDF showing `lines`. */
const askWithPdf = (text: string, lines: string[]) => ({
  model: "pii/chat",
  messages: [
    {
      role: "user" as const,
      content: [
        { type: "text" as const, text },
        {
          type: "file" as const,
          file: {
            filename: "a.pdf",
            file_data: `data:application/pdf;base64,${makePdf([lines], { flate: true }).toString("base64")}`,
          },
        },
      ],
    },
  ],
});

describe("content labels and the shipped content rules", () => {
  let w: World;
  let legal: OpenAI;
  let support: OpenAI;
  beforeAll(async () => {
    w = await startWorld(testDetector);
    legal = await w.as("acme-legal");
    support = await w.as("acme-support");
  }, 60_000);
  afterAll(() => w?.close());

  it("pii_requires_eu: personal data only to the EU endpoint, counted in the record, never the text", async () => {
    w.upstream.reset();
    const { data, response } = await legal.chat.completions
      .create(ask(`Mail ${EMAIL} about ${IBAN}`))
      .withResponse();
    expect(data.choices[0]!.message.content).toBe("ok");
    expect(w.upstream.requests.map((r) => r.endpoint)).toEqual(["pii-eu"]);
    const record = await decisionRecord(w.t, response.headers.get("x-sovr-decision-id")!);
    expect(record.labels).toEqual({ detector: "test-detect/1", email: "1", iban: "1" });
    expect(record.obligations).toEqual([]);
    expect(JSON.stringify(record)).toContain("pii_requires_eu: personal data (email 1, iban 1)");
    expect(JSON.stringify(record)).not.toContain("jane");
    expect(JSON.stringify(record)).not.toContain("3704");
  });

  it("without personal data the cheaper US endpoint serves", async () => {
    w.upstream.reset();
    await legal.chat.completions.create(ask("What is the capital of France?"));
    expect(w.upstream.requests.map((r) => r.endpoint)).toEqual(["pii-us"]);
  });

  it("secrets_deny: a key in a tool result is 403 naming the rule, nothing sent", async () => {
    w.upstream.reset();
    const err = await legal.chat.completions
      .create({
        model: "pii/chat",
        messages: [
          { role: "user", content: "deploy" },
          {
            role: "assistant",
            content: null,
            tool_calls: [{ id: "c1", type: "function", function: { name: "env", arguments: "{}" } }],
          },
          { role: "tool", tool_call_id: "c1", content: `KEY=${SECRET}` },
        ],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const message = (err as Error).message;
    expect(message).toContain("tenant acme-legal: secrets_deny: prompt holds a secret (1)");
    expect(message).not.toContain(SECRET);
    expect(w.upstream.requests).toEqual([]);
  });

  it("redact obligation: the US endpoint gets placeholders, the caller the original values", async () => {
    w.upstream.reset();
    w.upstream.reply({ choices: [{ content: "Sent to [EMAIL_1] for [IBAN_1], cc [EMAIL_2]." }] });
    const { data, response } = await support.chat.completions
      .create(ask(`Write to ${EMAIL} and ops@example.org about ${IBAN}; again ${EMAIL}`))
      .withResponse();
    expect(w.upstream.requests.map((r) => r.endpoint)).toEqual(["pii-us"]);
    const sent = JSON.stringify(w.upstream.requests[0]!.body);
    expect(sent).toContain("Write to [EMAIL_1] and [EMAIL_2] about [IBAN_1]; again [EMAIL_1]");
    expect(sent).not.toContain("example");
    expect(sent).not.toContain("3704");
    expect(data.choices[0]!.message.content).toBe(`Sent to ${EMAIL} for ${IBAN}, cc ops@example.org.`);
    const record = await decisionRecord(w.t, response.headers.get("x-sovr-decision-id")!);
    expect(record.labels).toEqual({ detector: "test-detect/1", email: "3", iban: "1" });
    expect(record.obligations).toEqual(["redact:email,iban@pii-us/chat"]);
    expect(JSON.stringify(record)).not.toContain("example");
  });

  it("redact obligation, streamed: placeholders split over chunks and in tool-call arguments come back whole", async () => {
    w.upstream.reset();
    // The recording upstream sends content in two halves when logprobs are given: here the
    // first ends inside a placeholder ("…[EMAIL" + "_1] / …").
    const content = "Hi there [EMAIL_1] / [IBAN_1]";
    expect(content.slice(0, Math.ceil(content.length / 2))).toBe("Hi there [EMAIL");
    const lp = { logprob: 0, bytes: null, top_logprobs: [] };
    w.upstream.reply({
      choices: [
        {
          content,
          logprobs: [
            { token: "a", ...lp },
            { token: "b", ...lp },
          ],
          toolCalls: [{ id: "t1", name: "send", arguments: '{"to":"[EMAIL_1]","iban":"[IBAN_1]"}' }],
        },
      ],
    });
    const stream = await support.chat.completions.create({
      ...ask(`Send ${IBAN} details to ${EMAIL}`),
      tools: [{ type: "function", function: { name: "send", parameters: { type: "object" } } }],
      stream: true,
    });
    let text = "";
    let args = "";
    for await (const chunk of stream) {
      const d = chunk.choices[0]?.delta;
      text += d?.content ?? "";
      args += d?.tool_calls?.map((c) => c.function?.arguments ?? "").join("") ?? "";
    }
    const sent = JSON.stringify(w.upstream.requests[0]!.body);
    expect(w.upstream.requests[0]!.endpoint).toBe("pii-us");
    expect(sent).toContain("Send [IBAN_1] details to [EMAIL_1]");
    expect(sent).not.toContain("example");
    expect(text).toBe(`Hi there ${EMAIL} / ${IBAN}`);
    expect(JSON.parse(args)).toEqual({ to: EMAIL, iban: IBAN });
  });

  it("Explain shows the labels, the obligation and the rule that acted; nothing sent, nothing recorded", async () => {
    w.upstream.reset();
    const explainAs = async (tenant: string) => {
      const k = await createApiKey(w.t.app.db.db, { tenant, roles: ["client"] });
      await w.t.app.auth.refresh();
      const transport = createConnectTransport({
        baseUrl: w.t.app.httpUrl,
        httpVersion: "1.1",
        interceptors: [
          (next) => (req) => {
            req.header.set("authorization", `Bearer ${k.token}`);
            return next(req);
          },
        ],
      });
      return createClient(RouterService, transport);
    };
    const request = {
      model: "pii/chat",
      messages: [{ role: "user", content: `Mail ${EMAIL} and ${EMAIL}` }],
    };
    const { decision: redacted } = await (await explainAs("acme-support")).explain({ request });
    expect(redacted!.contentLabels).toEqual({ detector: "test-detect/1", email: "2" });
    expect(redacted!.obligations).toEqual(["redact:email@pii-us/chat"]);
    expect(redacted!.plan).toEqual(["pii-us/chat", "pii-eu/chat"]);
    const { decision: kept } = await (await explainAs("acme-legal")).explain({ request });
    expect(kept!.plan).toEqual(["pii-eu/chat"]);
    const us = kept!.candidates.find((c) => c.endpointId === "pii-us/chat")!;
    expect(us.exclusions.map((e) => e.reason)).toEqual([
      "tenant acme-legal: pii_requires_eu: personal data (email 2): endpoint processed in region us (country US), eu required (source: provider)",
    ]);
    expect(w.upstream.requests).toEqual([]);
  });

  it("pii_requires_eu: personal data inside a PDF keeps the request in the EU, counted in the record", async () => {
    w.upstream.reset();
    const { response } = await legal.chat.completions
      .create(askWithPdf("Summarise the attachment", ["Invoice", `Contact: ${EMAIL}`]))
      .withResponse();
    expect(w.upstream.requests.map((r) => r.endpoint)).toEqual(["pii-eu"]);
    const record = await decisionRecord(w.t, response.headers.get("x-sovr-decision-id")!);
    expect(record.labels).toEqual({ detector: "test-detect/1", email: "1", unmaskable: "email" });
    expect(JSON.stringify(record)).toContain("pii_requires_eu: personal data (email 1)");
    expect(JSON.stringify(record)).not.toContain("jane");
  });

  it("a PDF without personal data is scanned clean: the cheaper US endpoint serves it", async () => {
    w.upstream.reset();
    const { response } = await legal.chat.completions
      .create(askWithPdf("Summarise the attachment", ["The capital of France is Paris."]))
      .withResponse();
    expect(w.upstream.requests.map((r) => r.endpoint)).toEqual(["pii-us"]);
    const record = await decisionRecord(w.t, response.headers.get("x-sovr-decision-id")!);
    expect(record.labels).toEqual({ detector: "test-detect/1" });
  });

  it("redact obligation: personal data in a PDF cannot be masked there, so only the EU endpoint may serve", async () => {
    w.upstream.reset();
    const { response } = await support.chat.completions
      .create(askWithPdf("Summarise the attachment", [`IBAN ${IBAN}`]))
      .withResponse();
    expect(w.upstream.requests.map((r) => r.endpoint)).toEqual(["pii-eu"]);
    const record = await decisionRecord(w.t, response.headers.get("x-sovr-decision-id")!);
    expect(record.labels).toEqual({ detector: "test-detect/1", iban: "1", unmaskable: "iban" });
    expect(JSON.stringify(record.checks)).toContain(
      "cannot be applied: a PDF holds iban, which cannot be masked inside it (fail closed)",
    );
  });

  it("redact obligation: beside a clean PDF, the text is masked and the US endpoint serves", async () => {
    w.upstream.reset();
    const pdf = askWithPdf(`Send it to ${EMAIL}`, ["The capital of France is Paris."]);
    await support.chat.completions.create(pdf);
    expect(w.upstream.requests.map((r) => r.endpoint)).toEqual(["pii-us"]);
    const sent = JSON.stringify(w.upstream.requests[0]!.body);
    expect(sent).toContain("Send it to [EMAIL_1]");
    expect(sent).not.toContain("example");
    // The PDF leaves as it came.
    expect(sent).toContain(pdf.messages[0]!.content[1]!.file!.file_data);
  });

  it("redact obligation: a PDF cannot be scanned, so only the EU endpoint may serve", async () => {
    w.upstream.reset();
    const { response } = await support.chat.completions
      .create({
        model: "pii/chat",
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: `From ${EMAIL}` },
              {
                type: "file",
                file: { filename: "a.pdf", file_data: "data:application/pdf;base64,JVBERi0xLjQK" },
              },
            ],
          },
        ],
      })
      .withResponse();
    expect(w.upstream.requests.map((r) => r.endpoint)).toEqual(["pii-eu"]);
    const record = await decisionRecord(w.t, response.headers.get("x-sovr-decision-id")!);
    expect(record.labels).toEqual({ detector: "test-detect/1", email: "1", unscannable: "1" });
    expect(JSON.stringify(record.checks)).toContain(
      "redact: obligation to redact email, iban, ip_address, national_id, payment_card, phone cannot be applied: 1 part(s) cannot be scanned (fail closed)",
    );
  });
});

describe("without a detector, content rules fail closed", () => {
  let w: World;
  let support: OpenAI;
  let legal: OpenAI;
  beforeAll(async () => {
    w = await startWorld(null);
    support = await w.as("acme-support");
    legal = await w.as("acme-legal");
  }, 60_000);
  afterAll(() => w?.close());

  it("the redact obligation cannot be applied: the US endpoint is excluded, the EU one serves", async () => {
    w.upstream.reset();
    const { response } = await support.chat.completions.create(ask("anything")).withResponse();
    expect(w.upstream.requests.map((r) => r.endpoint)).toEqual(["pii-eu"]);
    const record = await decisionRecord(w.t, response.headers.get("x-sovr-decision-id")!);
    expect(record.labels).toEqual({});
    expect(JSON.stringify(record.checks)).toContain(
      "cannot be applied: no content detector is configured (fail closed)",
    );
  });

  it("secrets_deny denies everything; pii_requires_eu keeps to the EU", async () => {
    w.upstream.reset();
    const err = await legal.chat.completions.create(ask("anything")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const message = (err as Error).message;
    expect(message).toContain("secrets_deny: prompt may hold a secret: no content detector");
    expect(message).toContain("pii_requires_eu: may hold personal data: no content detector");
    expect(w.upstream.requests).toEqual([]);
  });
});
