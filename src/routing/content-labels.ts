/**
 * Content labels (issue 16): the detector's findings over every text a request would send
 * upstream (content-walk.ts), as counts per category. One codec for the three places they go:
 * the policy input (`request.content_labels`), the decision record (`labels`, strings) and back
 * from the record for replay. Never the matched text, its position or a hash of it.
 */
import { mapRequestTexts, opaqueFiles } from "./content-walk.js";
import { isPdf, PDF_LIMITS, type PdfLimits, pdfDeadline, pdfText } from "./pdf-text.js";
import type { ContentDetector, ContentLabels, RouteRequest } from "./types.js";

/** The record's key for the detector version; the other keys are categories and the two below. */
export const DETECTOR_KEY = "detector";
export const UNSCANNABLE_KEY = "unscannable";
/** The record's key for the categories found where the router cannot mask them (a PDF). */
export const UNMASKABLE_KEY = "unmaskable";

/**
 * Scans `req` with `detector`: counts per category found, the parts that cannot be scanned,
 * and the categories found in parts that were scanned but cannot be rewritten (a PDF's text:
 * a redact obligation cannot mask it, obligations.ts). A text the detector fails on, and a
 * PDF that cannot be read within `pdfLimits` (pdf-text.ts), count as unscannable (the rules
 * then assume anything: fail closed); the failure itself is not reported, since its message
 * could quote the text. Asynchronous for the PDFs only.
 */
export async function scanContent(
  req: RouteRequest,
  detector: ContentDetector,
  pdfLimits: PdfLimits = PDF_LIMITS,
): Promise<ContentLabels> {
  const counts: Record<string, number> = {};
  let unscannable = 0;
  /** The categories found in `text`, counted; undefined when the detector failed on it. */
  const scan = (text: string): Set<string> | undefined => {
    const found = new Set<string>();
    if (text.length === 0) return found;
    let spans: ReturnType<ContentDetector["findSpans"]>;
    try {
      spans = detector.findSpans(text);
    } catch {
      return undefined;
    }
    for (const s of spans) {
      counts[s.category] = (counts[s.category] ?? 0) + 1;
      found.add(s.category);
    }
    return found;
  };
  mapRequestTexts(req, (text) => {
    if (scan(text) === undefined) unscannable++;
    return text;
  });
  const unmaskable = new Set<string>();
  const deadline = pdfDeadline(pdfLimits);
  for (const file of opaqueFiles(req)) {
    const pdf = isPdf(file.source.mediaType)
      ? await pdfText(Buffer.from(file.source.data, "base64"), pdfLimits, deadline)
      : undefined;
    const found = pdf && "text" in pdf ? scan(pdf.text) : undefined;
    if (found === undefined) unscannable++;
    else for (const c of found) unmaskable.add(c);
  }
  return {
    version: detector.version,
    counts: sortedCounts(counts),
    unscannable,
    ...(unmaskable.size > 0 ? { unmaskable: [...unmaskable].sort() } : {}),
  };
}

/**
 * The record's `labels`: `{detector: version, <category>: "n"…, unscannable: "n",
 * unmaskable: "<category>,…"}` (only categories found; `unscannable` and `unmaskable` only when
 * there are any); `{}` when no detector ran.
 */
export function labelsToRecord(labels: ContentLabels | undefined): Record<string, string> {
  if (!labels) return {};
  const out: Record<string, string> = { [DETECTOR_KEY]: labels.version };
  for (const c in labels.counts) out[c] = String(labels.counts[c]);
  if (labels.unscannable > 0) out[UNSCANNABLE_KEY] = String(labels.unscannable);
  if (labels.unmaskable?.length) out[UNMASKABLE_KEY] = labels.unmaskable.join(",");
  return out;
}

/** The labels a record states (replay): undefined when no detector ran. */
export function labelsFromRecord(recorded: Readonly<Record<string, string>>): ContentLabels | undefined {
  const version = recorded[DETECTOR_KEY];
  if (version === undefined) return undefined;
  const counts: Record<string, number> = {};
  let unscannable = 0;
  let unmaskable: string[] | undefined;
  for (const k of Object.keys(recorded)) {
    if (k === DETECTOR_KEY) continue;
    if (k === UNMASKABLE_KEY) {
      unmaskable = recorded[k]!.split(",");
      continue;
    }
    const n = Number(recorded[k]);
    if (k === UNSCANNABLE_KEY) unscannable = n;
    else counts[k] = n;
  }
  return { version, counts: sortedCounts(counts), unscannable, ...(unmaskable ? { unmaskable } : {}) };
}

/** `request.content_labels` of the policy input; null when no detector ran (rules fail closed). */
export function labelsToPolicy(
  labels: ContentLabels | undefined,
): { version: string; counts: Record<string, number>; unscannable: number } | null {
  return labels
    ? { version: labels.version, counts: { ...labels.counts }, unscannable: labels.unscannable }
    : null;
}

function sortedCounts(counts: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(counts).sort()) out[k] = counts[k]!;
  return out;
}
