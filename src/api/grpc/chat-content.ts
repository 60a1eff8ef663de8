/**
 * Validation of a message's content parts (text, image, audio, file), shared by every API that
 * builds a RouteRequest (through `validateRouteRequest`). Media are bounded per part by the
 * configurable {@link RequestLimits}; errors name the part and never echo its data or URL.
 */
import { LIMITS, type RequestLimits } from "../../config/index.js";
import { check } from "../../encoding/index.js";
import type { ContentPart, UpstreamMessage } from "../../upstream/index.js";

/** Standard base64 (padding optional): what data URLs and `input_audio.data` carry. */
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const IMAGE_TYPE = /^image\/[a-z0-9.+-]{1,64}$/;
const MEDIA_TYPE = /^[a-z]{1,32}\/[a-z0-9.+-]{1,64}$/;
const DETAILS = new Set(["auto", "low", "high"]);
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Decoded size of base64 text. */
function decodedBytes(b64: string): number {
  const pad = b64.endsWith("==") ? 2 : b64.endsWith("=") ? 1 : 0;
  return Math.floor((b64.length * 3) / 4) - pad;
}

function checkBase64(data: string, field: string, limit: number): void {
  check(data.length > 0 && data.length % 4 !== 1 && BASE64.test(data), field, "must be base64");
  check(decodedBytes(data) <= limit, field, `at most ${limit} bytes`);
}

function checkPart(p: ContentPart, f: string, limits: RequestLimits): void {
  switch (p.type) {
    case "text":
      return;
    case "image":
      if (p.source.kind === "url") {
        const url = p.source.url;
        // The upstream fetches the URL (the router never does): only over TLS.
        check(url.length <= LIMITS.urlLength, `${f}.image_url.url`, `at most ${LIMITS.urlLength} characters`);
        let https = false;
        try {
          https = new URL(url).protocol === "https:";
        } catch {}
        check(https, `${f}.image_url.url`, "must be an https:// URL or a data:image/…;base64 URL");
      } else {
        check(IMAGE_TYPE.test(p.source.mediaType), `${f}.image_url.url`, "must be an image media type");
        checkBase64(p.source.data, `${f}.image_url.url`, limits.imageBytes);
      }
      if (p.detail !== undefined)
        check(DETAILS.has(p.detail), `${f}.image_url.detail`, "must be auto, low or high");
      return;
    case "audio":
      check(p.format === "wav" || p.format === "mp3", `${f}.input_audio.format`, "must be wav or mp3");
      checkBase64(p.data, `${f}.input_audio.data`, limits.audioBytes);
      return;
    case "file":
      check(MEDIA_TYPE.test(p.source.mediaType), `${f}.file.file_data`, "must carry a media type");
      checkBase64(p.source.data, `${f}.file.file_data`, limits.fileBytes);
      if (p.filename !== undefined) {
        check(p.filename.length <= LIMITS.nameLength, `${f}.file.filename`, "too long");
        check(!LONE_SURROGATE.test(p.filename), `${f}.file.filename`, "must be valid Unicode text");
      }
      return;
    default:
      check(false, `${f}.type`, "must be text, image_url, input_audio or file");
  }
}

/**
 * Checks `m`'s content (messages[`i`]) and returns its text size in bytes. Only user messages
 * carry media, as in OpenAI's API; the other roles take text parts.
 */
export function checkContent(m: UpstreamMessage, i: number, limits: RequestLimits): number {
  const field = `messages[${i}].content`;
  if (typeof m.content === "string") return Buffer.byteLength(m.content, "utf8");
  check(Array.isArray(m.content), field, "must be text or an array of content parts");
  check(m.content.length <= LIMITS.messages, field, `at most ${LIMITS.messages} parts`);
  let bytes = 0;
  m.content.forEach((p, j) => {
    const f = `${field}[${j}]`;
    if (p.type === "text") bytes += Buffer.byteLength(p.text, "utf8");
    else check(m.role === "user", `${f}.type`, `a ${m.role} message takes text parts only`);
    checkPart(p, f, limits);
  });
  return bytes;
}
