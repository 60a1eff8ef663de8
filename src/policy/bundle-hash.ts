import { createHash } from "node:crypto";
import { posix } from "node:path";

/**
 * File digests as OPA computes them for `.signatures.json` (open-policy-agent/opa,
 * v1/bundle/hash.go and verify.go): plain bytes for most files; for structured files
 * (`data.json`, `data.yaml`, `.manifest`, `.signatures.json`) a digest of the parsed JSON
 * written back with object keys in byte order and no whitespace, numbers exactly as written
 * (OPA decodes with json.Number), strings as Go's encoder writes them without HTML escaping.
 */

const HASHES: Record<string, string> = { "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512" };

/** The node:crypto name for an OPA hashing algorithm we accept (weak ones are refused). */
export function nodeHashName(algorithm: string): string | undefined {
  return HASHES[algorithm];
}

/** Whether OPA hashes this bundle path as structured JSON rather than bytes. */
export function isStructuredDoc(path: string): boolean {
  const base = posix.basename(path);
  return base === "data.json" || base === "data.yaml" || base === ".manifest" || base === ".signatures.json";
}

/** Hex digest of one bundle file, OPA-compatible. Throws on malformed JSON in a structured file. */
export function hashBundleFile(path: string, bytes: Uint8Array, algorithm = "SHA-256"): string {
  const name = nodeHashName(algorithm);
  if (!name) throw new Error(`unsupported hashing algorithm ${algorithm}`);
  const hash = createHash(name);
  if (isStructuredDoc(path)) {
    hash.update(canonicalJson(Buffer.from(bytes).toString("utf8")));
  } else {
    hash.update(bytes);
  }
  return hash.digest("hex");
}

/** Re-encodes JSON text the way OPA's hash walk does. Exported for tests. */
export function canonicalJson(text: string): string {
  const parser = new JsonReader(text);
  const out = parser.value();
  parser.end();
  return out;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON forbids raw control characters in strings
const STRING = /"(?:[^"\\\u0000-\u001f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/y;

/** A minimal JSON reader that emits the canonical form directly, keeping number literals. */
class JsonReader {
  private i = 0;
  constructor(private readonly s: string) {}

  value(): string {
    this.ws();
    const c = this.s[this.i];
    if (c === "{") return this.object();
    if (c === "[") return this.array();
    if (c === '"') return encodeString(this.string());
    for (const lit of ["true", "false", "null"]) {
      if (this.s.startsWith(lit, this.i)) {
        this.i += lit.length;
        return lit;
      }
    }
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(this.s);
    if (!m) throw this.error("value expected");
    this.i += m[0].length;
    return m[0];
  }

  end(): void {
    this.ws();
    if (this.i !== this.s.length) throw this.error("trailing characters");
  }

  private object(): string {
    this.i++;
    const entries = new Map<string, string>();
    this.ws();
    if (this.s[this.i] === "}") {
      this.i++;
      return "{}";
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') throw this.error("key expected");
      const key = this.string();
      this.ws();
      if (this.s[this.i++] !== ":") throw this.error("':' expected");
      entries.set(key, this.value()); // like Go's map decoding: the last duplicate wins
      this.ws();
      const c = this.s[this.i++];
      if (c === "}") break;
      if (c !== ",") throw this.error("',' or '}' expected");
    }
    const keys = [...entries.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    return `{${keys.map((k) => `${encodeString(k)}:${entries.get(k)}`).join(",")}}`;
  }

  private array(): string {
    this.i++;
    const items: string[] = [];
    this.ws();
    if (this.s[this.i] === "]") {
      this.i++;
      return "[]";
    }
    for (;;) {
      items.push(this.value());
      this.ws();
      const c = this.s[this.i++];
      if (c === "]") break;
      if (c !== ",") throw this.error("',' or ']' expected");
    }
    return `[${items.join(",")}]`;
  }

  private string(): string {
    STRING.lastIndex = this.i;
    const m = STRING.exec(this.s);
    if (!m) throw this.error("bad string");
    this.i += m[0].length;
    return JSON.parse(m[0]) as string;
  }

  private ws(): void {
    while (this.i < this.s.length && " \t\n\r".includes(this.s[this.i]!)) this.i++;
  }

  private error(what: string): Error {
    return new Error(`invalid JSON at offset ${this.i}: ${what}`);
  }
}

/** Go's encoding/json string encoding with SetEscapeHTML(false). */
function encodeString(s: string): string {
  return JSON.stringify(s)
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}
