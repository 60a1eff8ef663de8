import type { ServerHttp2Stream } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";

/** One length-prefixed gRPC message: its flags byte and its (possibly compressed) bytes. */
export interface Envelope {
  flags: number;
  data: Uint8Array;
}

/**
 * A gRPC request body read off an HTTP/2 stream and split into its messages. A message's
 * declared length is checked against `readMaxBytes` as soon as its 5-byte prefix arrives, so
 * an oversized message is refused (ResourceExhausted, connect's own wording) before it is
 * buffered; the rest of the body is then left unread.
 */
export class GrpcBody {
  readonly messages: Envelope[] = [];
  #chunks: Buffer[] = [];
  #size = 0;
  /** The length (prefix included) of the message being read, once its prefix is in. */
  #need: number | undefined;

  private constructor(private readonly readMaxBytes: number) {}

  static read(stream: ServerHttp2Stream, readMaxBytes: number): Promise<GrpcBody> {
    const body = new GrpcBody(readMaxBytes);
    // A request without a body (END_STREAM on its HEADERS) has ended before anyone listened.
    if (stream.readableEnded) return Promise.resolve(body);
    // Listeners are inline, not named closures: under tsx every named closure made per call is
    // also given its name by defineProperty (esbuild's keepNames), which costs more than the read.
    return new Promise((resolve, reject) => {
      body.#resolve = resolve;
      body.#reject = reject;
      // Once settled, further data is taken and dropped (the stream keeps flowing).
      // 'end' and 'close' come once: `on`, not `once` (which wraps and later removes them).
      stream.on("data", (chunk: Buffer) => body.#data(chunk));
      stream.on("end", () => body.#end());
      // Every stream closes, most long after their body was read: the error (and its stack) is
      // made only for a body still being read. A stream's 'error' is always followed by its
      // 'close' in the same turn, so 'close' alone is listened to.
      stream.on("close", () => body.#cut());
    });
  }

  #resolve: ((body: GrpcBody) => void) | undefined;
  #reject: ((err: unknown) => void) | undefined;

  #data(chunk: Buffer): void {
    if (!this.#resolve) return;
    try {
      this.#push(chunk);
    } catch (err) {
      this.#fail(err);
    }
  }

  #end(): void {
    if (this.pending > 0)
      this.#fail(new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument));
    else {
      const resolve = this.#resolve;
      this.#resolve = this.#reject = undefined;
      resolve?.(this);
    }
  }

  #cut(): void {
    if (this.#reject)
      this.#fail(new ConnectError("stream closed before the request was read", Code.Canceled));
  }

  #fail(err: unknown): void {
    const reject = this.#reject;
    this.#resolve = this.#reject = undefined;
    reject?.(err);
  }

  #push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    // A large message arrives in many chunks: joined once it is whole, not on every chunk.
    while (this.#size >= 5) {
      if (this.#need === undefined) {
        const head = this.#chunks[0]!.length >= 5 ? this.#chunks[0]! : this.#join();
        const len = head.readUInt32BE(1);
        if (len > this.readMaxBytes)
          throw new ConnectError(
            `message size ${len} is larger than configured readMaxBytes ${this.readMaxBytes}`,
            Code.ResourceExhausted,
          );
        this.#need = 5 + len;
      }
      if (this.#size < this.#need) return;
      const buf = this.#join();
      this.messages.push({ flags: buf[0]!, data: buf.subarray(5, this.#need) });
      const rest = buf.subarray(this.#need);
      this.#need = undefined;
      this.#chunks = rest.length ? [rest] : [];
      this.#size = rest.length;
    }
  }

  #join(): Buffer {
    const buf = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#size);
    this.#chunks = [buf];
    return buf;
  }

  /** Bytes of an unfinished message (for the end-of-body check). */
  get pending(): number {
    return this.#size;
  }
}
