/**
 * Content labels (issue 16): the detector's findings over every text a request would send
 * upstream (content-walk.ts), as counts per category. One codec for the three places they go:
 * the policy input (`request.content_labels`), the decision record (`labels`, strings) and back
 * from the record for replay. Never the matched text, its position or a hash of it.
 */
import { mapRequestTexts, unscannableParts } from "./content-walk.js";
import type { ContentDetector, ContentLabels, RouteRequest } from "./types.js";

/** The record's key for the detector version; the other keys are categories and `unscannable`. */
export const DETECTOR_KEY = "detector";
export const UNSCANNABLE_KEY = "unscannable";

/**
 * Scans `req` with `detector`: counts per category found, and the parts that cannot be
 * scanned. A text the detector fails on counts as unscannable (the rules then assume anything:
 * fail closed); the failure itself is not reported, since its message could quote the text.
 */
export function scanContent(req: RouteRequest, detector: ContentDetector): ContentLabels {
  const counts: Record<string, number> = {};
  let failed = 0;
  mapRequestTexts(req, (text) => {
    if (text.length === 0) return text;
    let spans: ReturnType<ContentDetector["findSpans"]>;
    try {
      spans = detector.findSpans(text);
    } catch {
      failed++;
      return text;
    }
    for (const s of spans) counts[s.category] = (counts[s.category] ?? 0) + 1;
    return text;
  });
  return {
    version: detector.version,
    counts: sortedCounts(counts),
    unscannable: unscannableParts(req) + failed,
  };
}

/**
 * The record's `labels`: `{detector: version, <category>: "n"…, unscannable: "n"}` (only
 * categories found; `unscannable` only when non-zero); `{}` when no detector ran.
 */
export function labelsToRecord(labels: ContentLabels | undefined): Record<string, string> {
  if (!labels) return {};
  const out: Record<string, string> = { [DETECTOR_KEY]: labels.version };
  for (const c in labels.counts) out[c] = String(labels.counts[c]);
  if (labels.unscannable > 0) out[UNSCANNABLE_KEY] = String(labels.unscannable);
  return out;
}

/** The labels a record states (replay): undefined when no detector ran. */
export function labelsFromRecord(recorded: Readonly<Record<string, string>>): ContentLabels | undefined {
  const version = recorded[DETECTOR_KEY];
  if (version === undefined) return undefined;
  const counts: Record<string, number> = {};
  let unscannable = 0;
  for (const k of Object.keys(recorded)) {
    if (k === DETECTOR_KEY) continue;
    const n = Number(recorded[k]);
    if (k === UNSCANNABLE_KEY) unscannable = n;
    else counts[k] = n;
  }
  return { version, counts: sortedCounts(counts), unscannable };
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
