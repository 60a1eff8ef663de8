/**
 * PDF file parts are read and scanned (issue 16), with real PDFs written in the test
 * (test/support/pdf.ts) and the real pdf.js: their text is counted, a PDF that cannot be read
 * whole stays unscannable, and a redact obligation naming a category found in one cannot be
 * applied.
 */
import { describe, expect, it } from "vitest";
import { makePdf } from "../../test/support/pdf.js";
import { testDetector } from "../../test/support/test-detector.js";
import { labelsFromRecord, labelsToRecord, scanContent } from "./content-labels.js";
import { obligationExclusion } from "./obligations.js";
import { PDF_LIMITS, type PdfLimits, pdfText } from "./pdf-text.js";
import type { RouteRequest } from "./types.js";

const EMAIL = "jane.doe@example.com";
const IBAN = "DE89 3704 0044 0532 0130 00";
const PERSONAL = [`Contact: ${EMAIL}`, `IBAN ${IBAN}`];

const withPdf = (pdf: Buffer, text = "see attached"): RouteRequest => ({
  model: "m",
  models: [],
  provider: { allowFallbacks: true },
  region: null,
  labels: {},
  workload: "",
  messages: [
    {
      role: "user",
      content: [
        { type: "text", text },
        {
          type: "file",
          filename: "a.pdf",
          source: { kind: "base64", mediaType: "application/pdf", data: pdf.toString("base64") },
        },
      ],
    },
  ],
});

const limits = (over: Partial<PdfLimits>): PdfLimits => ({ ...PDF_LIMITS, ...over });

describe("pdfText", () => {
  it("reads the text of an uncompressed and of a Flate-compressed content stream", async () => {
    for (const flate of [false, true]) {
      const r = await pdfText(makePdf([PERSONAL], { flate }));
      expect(r, `flate ${flate}`).toHaveProperty("text");
      const text = (r as { text: string }).text;
      expect(text).toContain(EMAIL);
      expect(text).toContain(IBAN);
    }
  });

  it("reads every page, the document information and the annotations", async () => {
    const r = await pdfText(
      makePdf([["page one"], [`page two ${EMAIL}`]], {
        title: "Report for ops@example.org",
        note: "ask bob@example.net",
      }),
    );
    const text = (r as { text: string }).text;
    expect(text).toContain("page one");
    expect(text).toContain(EMAIL);
    expect(text).toContain("ops@example.org");
    expect(text).toContain("bob@example.net");
  });

  it("a malformed, truncated or encrypted PDF is unreadable, with a reason that quotes nothing", async () => {
    expect(await pdfText(Buffer.from("%PDF-1.4\nnot a pdf ann@example.com"))).toEqual({
      unreadable: "malformed",
    });
    expect(await pdfText(Buffer.from("ann@example.com"))).toEqual({ unreadable: "malformed" });
    expect(await pdfText(makePdf([PERSONAL], { encrypted: true }))).toEqual({ unreadable: "encrypted" });
  });

  it("a PDF with an attachment is unreadable: a file inside a file is not scanned", async () => {
    expect(await pdfText(makePdf([["hello"]], { attachment: EMAIL }))).toEqual({ unreadable: "attachments" });
  });

  it("over a limit is unreadable, never partly read", async () => {
    const two = makePdf([["one"], [EMAIL]]);
    expect(await pdfText(two, limits({ pages: 1 }))).toEqual({ unreadable: "too_many_pages" });
    expect(await pdfText(two, limits({ bytes: two.length - 1 }))).toEqual({ unreadable: "too_large" });
    expect(await pdfText(two, limits({ chars: 4 }))).toEqual({ unreadable: "too_much_text" });
    expect(await pdfText(two, limits({ budgetMs: 0 }))).toEqual({ unreadable: "over_time" });
    expect(await pdfText(two, limits({ pages: 2, bytes: two.length }))).toHaveProperty("text");
  });
});

describe("content labels of PDF parts", () => {
  it("counts what a PDF holds, names it as unmaskable, and the record round-trips", async () => {
    const labels = await scanContent(
      withPdf(makePdf([PERSONAL], { flate: true }), `cc ops@example.org`),
      testDetector,
    );
    expect(labels).toEqual({
      version: "test-detect/1",
      counts: { email: 2, iban: 1 },
      unscannable: 0,
      unmaskable: ["email", "iban"],
    });
    const record = labelsToRecord(labels);
    expect(record).toEqual({ detector: "test-detect/1", email: "2", iban: "1", unmaskable: "email,iban" });
    expect(JSON.stringify(record)).not.toContain("example");
    expect(labelsFromRecord(record)).toEqual(labels);
  });

  it("a PDF without findings is scanned and clean; an unreadable one is unscannable", async () => {
    expect(await scanContent(withPdf(makePdf([["The capital of France is Paris."]])), testDetector)).toEqual({
      version: "test-detect/1",
      counts: {},
      unscannable: 0,
    });
    const bad = await scanContent(withPdf(makePdf([PERSONAL], { encrypted: true })), testDetector);
    expect(bad).toEqual({ version: "test-detect/1", counts: {}, unscannable: 1 });
    const long = await scanContent(withPdf(makePdf([["a"], ["b"]])), testDetector, limits({ pages: 1 }));
    expect(long.unscannable).toBe(1);
  });

  it("a redact obligation cannot be applied when a PDF holds a category it names", async () => {
    const req = withPdf(makePdf([[`Contact: ${EMAIL}`]]), `IBAN ${IBAN}`);
    const labels = await scanContent(req, testDetector);
    expect(obligationExclusion({ redact: ["email"] }, req, labels)?.reason).toBe(
      "redact: obligation to redact email cannot be applied: a PDF holds email, which cannot be masked inside it (fail closed)",
    );
    // The IBAN is in the text part, which is masked; the PDF holds no IBAN.
    expect(obligationExclusion({ redact: ["iban"] }, req, labels)).toBeUndefined();
    // Replay sees the same from the record.
    expect(
      obligationExclusion({ redact: ["email"] }, req, labelsFromRecord(labelsToRecord(labels))),
    ).toBeDefined();
  });
});
