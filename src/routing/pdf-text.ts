/**
 * The text of a PDF file part, for the content detectors (issue 16): what a reader of the
 * document sees as text — each page's text, the document information (title, author, …), the
 * outline's titles, and the strings of annotations (comments, form field values, link
 * targets). Extracted with pdf.js (the `unpdf` package's serverless build: pure JavaScript, no
 * dependencies), imported lazily on the first PDF so a gateway that never sees one never loads
 * it. pdf.js is given the bytes only: no URL, no worker, no font or CMap files, no `eval`, so it
 * fetches nothing.
 *
 * Bounded: bytes, pages, extracted characters and a time budget. Whatever cannot be read whole
 * within them — encrypted with a password, malformed, an XFA form, a document with attachments,
 * over a limit — gives a reason instead of text, and the part stays unscannable (fail closed:
 * partial text would under-count). Text drawn as images (a scan) is not read: like an image
 * part, it is labelled by modality only. The reason is one of a fixed set of words; no error
 * message of pdf.js is kept, since it could quote the document.
 */

/** Limits on one request's PDFs (the time budget is shared by all PDFs of the request). */
export interface PdfLimits {
  /** Decoded bytes of one PDF. */
  bytes: number;
  /** Pages of one PDF. */
  pages: number;
  /** Characters of text extracted from one PDF. */
  chars: number;
  /** Milliseconds for every PDF of one request together. */
  budgetMs: number;
}

/**
 * The defaults: a PDF of up to 8 MiB and 200 pages, up to 1 M characters of text (the detectors
 * cost ~50 µs/KB), and 2 s per request.
 */
export const PDF_LIMITS: Readonly<PdfLimits> = Object.freeze({
  bytes: 8 << 20,
  pages: 200,
  chars: 1 << 20,
  budgetMs: 2_000,
});

/** Why a PDF was not read; never anything of its content. */
export type PdfUnreadable =
  | "too_large"
  | "too_many_pages"
  | "too_much_text"
  | "over_time"
  | "encrypted"
  | "malformed"
  | "attachments"
  | "xfa";

export type PdfText = { text: string } | { unreadable: PdfUnreadable };

/** The media type of a PDF file part. */
export function isPdf(mediaType: string): boolean {
  return /^application\/(x-)?pdf$/i.test(mediaType);
}

/** A time budget shared by the PDFs of one request. */
export function pdfDeadline(
  limits: PdfLimits = PDF_LIMITS,
  now: () => number = performance.now.bind(performance),
) {
  const end = now() + limits.budgetMs;
  return { left: () => end - now() };
}

/**
 * The text of the PDF `bytes`, or why it cannot be read. Never throws, never rejects.
 */
export async function pdfText(
  bytes: Uint8Array,
  limits: PdfLimits = PDF_LIMITS,
  deadline = pdfDeadline(limits),
): Promise<PdfText> {
  if (bytes.length > limits.bytes) return { unreadable: "too_large" };
  if (deadline.left() <= 0) return { unreadable: "over_time" };
  let task: { destroy(): Promise<void> } | undefined;
  let timer: NodeJS.Timeout | undefined;
  const overTime = new Promise<PdfText>((resolve) => {
    timer = setTimeout(() => resolve({ unreadable: "over_time" }), Math.max(0, deadline.left()));
  });
  const read = (async (): Promise<PdfText> => {
    const pdfjs = await loadPdfjs();
    // A copy: pdf.js takes ownership of (detaches) the buffer it is given.
    const loading = pdfjs.getDocument({
      data: new Uint8Array(bytes),
      isEvalSupported: false,
      useSystemFonts: false,
      disableFontFace: true,
      useWorkerFetch: false,
      isOffscreenCanvasSupported: false,
      stopAtErrors: true,
      enableXfa: false,
      verbosity: 0,
    });
    task = loading;
    const doc = await loading.promise;
    return collect(doc, limits, deadline);
  })();
  try {
    return await Promise.race([read.catch(unreadableOf), overTime]);
  } finally {
    clearTimeout(timer);
    // The loser of the race, or the finished document: released either way, its errors dropped.
    read.catch(() => undefined);
    void task?.destroy().catch(() => undefined);
  }
}

/** The pieces of pdf.js this file uses (its documented `getDocument` API). */
interface PdfDocument {
  numPages: number;
  getMetadata(): Promise<{ info: unknown; metadata: unknown }>;
  getAttachments(): Promise<unknown>;
  getOutline(): Promise<unknown>;
  getPage(n: number): Promise<{
    getTextContent(): Promise<{ items: readonly unknown[] }>;
    getAnnotations(): Promise<unknown>;
  }>;
}

async function collect(doc: PdfDocument, limits: PdfLimits, deadline: { left(): number }): Promise<PdfText> {
  if (doc.numPages > limits.pages) return { unreadable: "too_many_pages" };
  const { info } = await doc.getMetadata();
  if (isRecord(info) && info.IsXFAPresent === true) return { unreadable: "xfa" };
  if ((await doc.getAttachments()) != null) return { unreadable: "attachments" };
  const out: string[] = [];
  let chars = 0;
  const add = (s: string) => {
    out.push(s);
    chars += s.length + 1;
  };
  strings(info, add, 2);
  strings(await doc.getOutline(), add, 32);
  for (let n = 1; n <= doc.numPages; n++) {
    if (deadline.left() <= 0) return { unreadable: "over_time" };
    if (chars > limits.chars) return { unreadable: "too_much_text" };
    const page = await doc.getPage(n);
    const { items } = await page.getTextContent();
    // As pdf.js lays a page out: items in reading order, a line break where a line ends.
    let text = "";
    for (const item of items)
      if (isRecord(item) && typeof item.str === "string") text += item.str + (item.hasEOL ? "\n" : "");
    add(text);
    strings(await page.getAnnotations(), add, 4);
  }
  if (chars > limits.chars) return { unreadable: "too_much_text" };
  if (deadline.left() <= 0) return { unreadable: "over_time" };
  return { text: out.join("\n") };
}

/** Every string in `v` (objects and arrays to `depth` levels), to `add`. */
function strings(v: unknown, add: (s: string) => void, depth: number): void {
  if (typeof v === "string") {
    if (v.length > 0) add(v);
  } else if (depth > 0 && Array.isArray(v)) {
    for (const x of v) strings(x, add, depth - 1);
  } else if (depth > 0 && isRecord(v) && !ArrayBuffer.isView(v)) {
    for (const k of Object.keys(v)) strings(v[k], add, depth - 1);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null;
}

/** pdf.js's exception names → our reasons; anything else is malformed. */
function unreadableOf(err: unknown): PdfText {
  const name = isRecord(err) ? err.name : undefined;
  return { unreadable: name === "PasswordException" ? "encrypted" : "malformed" };
}

interface Pdfjs {
  getDocument(params: Record<string, unknown>): {
    promise: Promise<PdfDocument>;
    destroy(): Promise<void>;
  };
}

let pdfjs: Promise<Pdfjs> | undefined;

/** pdf.js, imported on first use (≈2 MB of JavaScript a gateway without PDFs never loads). */
function loadPdfjs(): Promise<Pdfjs> {
  pdfjs ??= import("unpdf").then(async (m) => (await m.getResolvedPDFJS()) as unknown as Pdfjs);
  // A failed import is retried on the next PDF rather than cached.
  pdfjs.catch(() => {
    pdfjs = undefined;
  });
  return pdfjs;
}
