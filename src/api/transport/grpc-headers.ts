import type { IncomingHttpHeaders } from "node:http2";

/**
 * The `Headers` of one gRPC call on the stream path (./grpc-stream.ts): its request headers,
 * response headers and trailers, as the interceptors and implementations see them
 * (`req.header`, `ctx.responseHeader`, `ctx.responseTrailer`). The WHATWG `Headers` of Node
 * (undici's) checks every argument through its WebIDL layer and keeps a sorted list; three per
 * call were most of the stream path's own CPU. This one is a Map with the same rules: names
 * are lower-cased and must be tokens, values are trimmed of HTTP whitespace and may hold no
 * NUL, CR or LF (a TypeError otherwise, as `Headers` throws), `append` joins with ", " except
 * `set-cookie`, which stays a list (`getSetCookie`), and iteration is in name order.
 */
export class CallHeaders implements Headers {
  readonly #map = new Map<string, string>();
  #cookies: string[] | undefined;

  constructor(init?: Record<string, string>) {
    if (init) for (const k in init) this.append(k, init[k]!);
  }

  /**
   * A request's headers from Node's (already checked by its HTTP/2 parser): pseudo-headers
   * left out, repeated headers joined.
   */
  static fromIncoming(headers: IncomingHttpHeaders): CallHeaders {
    const h = new CallHeaders();
    for (const k in headers) {
      if (k[0] === ":") continue;
      const v = headers[k];
      if (v === undefined) continue;
      if (typeof v === "string") h.#add(k, trim(v));
      else for (const x of v) h.#add(k, trim(x));
    }
    return h;
  }

  /** One header whose name and value are known good (a constant of ours): not checked again. */
  static of(name: string, value: string): CallHeaders {
    const h = new CallHeaders();
    h.#map.set(name, value);
    return h;
  }

  /**
   * The headers into `out` (a response's header or trailer object for `stream.respond` or
   * `sendTrailers`): no sorted list made; set-cookie stays a list. Returns `out`.
   */
  into<T extends Record<string, string | string[]>>(out: T): T {
    for (const [k, v] of this.#map) (out as Record<string, string>)[k] = v;
    if (this.#cookies) (out as Record<string, string[]>)["set-cookie"] = [...this.#cookies];
    return out;
  }

  /** How many names (set-cookie counted once). */
  get size(): number {
    return this.#map.size + (this.#cookies ? 1 : 0);
  }

  append(name: string, value: string): void {
    this.#add(checkName(name), checkValue(value));
  }

  set(name: string, value: string): void {
    const k = checkName(name);
    const v = checkValue(value);
    if (k === "set-cookie") this.#cookies = [v];
    else this.#map.set(k, v);
  }

  get(name: string): string | null {
    const k = checkName(name);
    if (k === "set-cookie") return this.#cookies ? this.#cookies.join(", ") : null;
    return this.#map.get(k) ?? null;
  }

  has(name: string): boolean {
    const k = checkName(name);
    return k === "set-cookie" ? this.#cookies !== undefined : this.#map.has(k);
  }

  delete(name: string): void {
    const k = checkName(name);
    if (k === "set-cookie") this.#cookies = undefined;
    else this.#map.delete(k);
  }

  getSetCookie(): string[] {
    return this.#cookies ? [...this.#cookies] : [];
  }

  forEach(cb: (value: string, key: string, parent: Headers) => void, thisArg?: unknown): void {
    for (const [k, v] of this.#list()) cb.call(thisArg, v, k, this);
  }

  entries(): ReturnType<Headers["entries"]> {
    return this.#list()[Symbol.iterator]() as ReturnType<Headers["entries"]>;
  }

  keys(): ReturnType<Headers["keys"]> {
    return this.#list()
      .map((e) => e[0])
      [Symbol.iterator]() as ReturnType<Headers["keys"]>;
  }

  values(): ReturnType<Headers["keys"]> {
    return this.#list()
      .map((e) => e[1])
      [Symbol.iterator]() as ReturnType<Headers["keys"]>;
  }

  [Symbol.iterator](): ReturnType<Headers["entries"]> {
    return this.entries();
  }

  get [Symbol.toStringTag](): string {
    return "Headers";
  }

  #add(k: string, v: string): void {
    if (k === "set-cookie") {
      if (this.#cookies) this.#cookies.push(v);
      else this.#cookies = [v];
      return;
    }
    const had = this.#map.get(k);
    this.#map.set(k, had === undefined ? v : `${had}, ${v}`);
  }

  /** Name order, each set-cookie on its own, as `Headers` iterates. */
  #list(): [string, string][] {
    const out: [string, string][] = [...this.#map];
    if (this.#cookies) for (const c of this.#cookies) out.push(["set-cookie", c]);
    if (out.length > 1) out.sort(byName);
    return out;
  }
}

function byName(a: [string, string], b: [string, string]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[\0\r\n]/;

function checkName(name: string): string {
  const s = String(name);
  if (!TOKEN.test(s)) throw new TypeError(`Headers: invalid header name "${s}"`);
  return s.toLowerCase();
}

function checkValue(value: string): string {
  const v = trim(String(value));
  if (BAD_VALUE.test(v)) throw new TypeError("Headers: invalid header value");
  return v;
}

/** HTTP whitespace (tab, LF, CR, space) off both ends, as `Headers` normalises a value. */
function trim(v: string): string {
  let a = 0;
  let b = v.length;
  while (a < b && isSpace(v.charCodeAt(a))) a++;
  while (b > a && isSpace(v.charCodeAt(b - 1))) b--;
  return a === 0 && b === v.length ? v : v.slice(a, b);
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}
