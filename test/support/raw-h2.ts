import { connect, type Socket } from "node:net";

/**
 * A minimal HTTP/2 client speaking raw frames over node:net, for tests that must do what a
 * well-behaved client library will not: open more streams than the server allows, or open and
 * reset thousands of streams in a burst (CVE-2023-44487, "rapid reset"). It writes frames
 * exactly as asked and records what the server answers; nothing is queued or coalesced.
 * HPACK: literal header fields without indexing and without Huffman coding (RFC 7541 §6.2.2),
 * which every decoder must accept.
 */
export class RawH2 {
  /** RST_STREAM error codes the server sent, by stream id. */
  readonly resets = new Map<number, number>();
  /** Streams that received a HEADERS frame from the server (a response began). */
  readonly answered = new Set<number>();
  /** The error code of the first GOAWAY the server sent. */
  goaway: number | undefined;
  /** The server's SETTINGS_MAX_CONCURRENT_STREAMS, once its SETTINGS arrived. */
  maxConcurrentStreams: number | undefined;
  closed = false;
  #buf = Buffer.alloc(0);
  #waiters: (() => void)[] = [];

  private constructor(
    private readonly socket: Socket,
    private readonly ackSettings: boolean,
  ) {
    socket.on("data", (d: Buffer) => this.#read(d));
    socket.on("close", () => {
      this.closed = true;
      this.#wake();
    });
    socket.on("error", () => {});
  }

  /**
   * `ackSettings: false` leaves the server's SETTINGS unacknowledged, so its limits stay
   * "pending" (RFC 9113 §6.5.3): a client racing ahead of them is what REFUSED_STREAM is for.
   */
  static async open(port: number, opts: { ackSettings?: boolean } = {}): Promise<RawH2> {
    const socket = connect(port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const c = new RawH2(socket, opts.ackSettings ?? true);
    socket.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    c.#frame(0x4, 0, 0, Buffer.alloc(0)); // SETTINGS, none changed
    return c;
  }

  /**
   * HEADERS for a POST to `path` on stream `id` (odd, increasing); `endStream` when no body
   * follows. Returns false when the socket's buffer is full (await `drained()`).
   */
  headers(id: number, path: string, headers: Record<string, string> = {}, endStream = false): boolean {
    const block = Buffer.concat([
      Buffer.from([0x83, 0x86]), // :method POST, :scheme http (static table 3 and 6)
      literal(":path", path),
      literal(":authority", "localhost"),
      ...Object.entries(headers).map(([k, v]) => literal(k, v)),
    ]);
    return this.#frame(0x1, 0x4 | (endStream ? 0x1 : 0), id, block);
  }

  /** RST_STREAM with `code` (default CANCEL, 0x8). */
  reset(id: number, code = 0x8): boolean {
    const payload = Buffer.alloc(4);
    payload.writeUInt32BE(code);
    return this.#frame(0x3, 0, id, payload);
  }

  drained(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.socket.writableNeedDrain || this.closed) return resolve();
      this.socket.once("drain", resolve);
      this.socket.once("close", resolve);
    });
  }

  /** Resolves when `cond()` holds (checked after every frame read and on close), or after `ms`. */
  async until(cond: () => boolean, ms = 10_000): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (this.closed || Date.now() > deadline) return cond();
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return true;
  }

  close(): void {
    this.socket.destroy();
  }

  #frame(type: number, flags: number, id: number, payload: Buffer): boolean {
    if (this.closed) return true;
    const head = Buffer.alloc(9);
    head.writeUIntBE(payload.length, 0, 3);
    head[3] = type;
    head[4] = flags;
    head.writeUInt32BE(id, 5);
    return this.socket.write(Buffer.concat([head, payload]));
  }

  #read(d: Buffer): void {
    this.#buf = Buffer.concat([this.#buf, d]);
    while (this.#buf.length >= 9) {
      const len = this.#buf.readUIntBE(0, 3);
      if (this.#buf.length < 9 + len) break;
      const type = this.#buf[3]!;
      const flags = this.#buf[4]!;
      const id = this.#buf.readUInt32BE(5) & 0x7fffffff;
      const payload = this.#buf.subarray(9, 9 + len);
      this.#buf = this.#buf.subarray(9 + len);
      if (type === 0x4 && !(flags & 0x1)) {
        for (let i = 0; i + 6 <= payload.length; i += 6) {
          if (payload.readUInt16BE(i) === 0x3) this.maxConcurrentStreams = payload.readUInt32BE(i + 2);
        }
        if (this.ackSettings) this.#frame(0x4, 0x1, 0, Buffer.alloc(0)); // SETTINGS ACK
      } else if (type === 0x6 && !(flags & 0x1)) {
        this.#frame(0x6, 0x1, 0, Buffer.from(payload)); // PING ACK
      } else if (type === 0x3) {
        this.resets.set(id, payload.readUInt32BE(0));
      } else if (type === 0x1) {
        this.answered.add(id);
      } else if (type === 0x7) {
        this.goaway ??= payload.readUInt32BE(4);
      }
    }
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }
}

/** HTTP/2 error codes (RFC 9113 §7). */
export const H2_CODE = { NO_ERROR: 0x0, REFUSED_STREAM: 0x7, CANCEL: 0x8, ENHANCE_YOUR_CALM: 0xb } as const;

function literal(name: string, value: string): Buffer {
  const n = Buffer.from(name);
  const v = Buffer.from(value);
  return Buffer.concat([Buffer.from([0x00]), hpackInt(n.length, 7), n, hpackInt(v.length, 7), v]);
}

/** RFC 7541 §5.1 integer with an N-bit prefix (the H bit, 0, is the prefix's top bit). */
function hpackInt(value: number, bits: number): Buffer {
  const max = (1 << bits) - 1;
  if (value < max) return Buffer.from([value]);
  const out = [max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return Buffer.from(out);
}
