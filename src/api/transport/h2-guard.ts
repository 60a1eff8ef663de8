import {
  constants,
  type Http2SecureServer,
  type Http2Server,
  type Http2Stream,
  type ServerHttp2Session,
} from "node:http2";

export interface H2GuardOptions {
  /**
   * SETTINGS_MAX_CONCURRENT_STREAMS the server announces; a stream beyond it is refused
   * (RST_STREAM REFUSED_STREAM) by nghttp2 before any handler runs. Node's default is
   * unlimited (2^32-1).
   */
  readonly maxConcurrentStreams: number;
  /**
   * Streams a session may see reset per second (sustained; a burst of twice that is allowed)
   * before it is closed with GOAWAY ENHANCE_YOUR_CALM.
   */
  readonly maxResetsPerSecond: number;
  /** Told when a session is closed for resetting too fast (for one log line). */
  readonly onRapidReset?: (remote: string | undefined) => void;
}

/** The server settings for {@link H2GuardOptions}, for `http2.createServer`. */
export function h2Settings(opts: H2GuardOptions): { maxConcurrentStreams: number } {
  return { maxConcurrentStreams: opts.maxConcurrentStreams };
}

/**
 * Rapid-reset defence (CVE-2023-44487). A client that opens a stream and resets it at once
 * never counts against `maxConcurrentStreams`, yet each stream costs a request object and a
 * handler run (here: an API-key check). nghttp2 ≥ 1.57, inside Node 20, rate-limits received
 * RST_STREAM frames on its own, but only after 1,000, and then sends GOAWAY INTERNAL_ERROR and
 * leaves the connection open: 20,000 rapid resets on one socket are all read (measured on
 * Node 20.20).
 *
 * This guard counts, per session in a token bucket, the streams that did no work: those that
 * end in a reset with an error code (the peer's CANCEL before we answered, or ours), and those
 * refused before their body was read ({@link countAsRefused}) — a keyless stream is answered
 * within the same read as its HEADERS, before the peer's RST_STREAM is even parsed, so the
 * reset itself is never seen. Past the bucket the session gets GOAWAY ENHANCE_YOUR_CALM ("the
 * peer might be generating excessive load", RFC 9113 §7) and is closed. Other sessions go on.
 */
export function guardRapidReset(server: Http2Server | Http2SecureServer, opts: H2GuardOptions): void {
  const rate = opts.maxResetsPerSecond;
  const burst = 2 * rate;
  server.on("session", (session: ServerHttp2Session) => {
    let tokens = burst;
    let at = performance.now();
    session.on("stream", (stream) => {
      stream.once("close", () => {
        if ((!stream.rstCode && !refused.has(stream)) || session.destroyed) return;
        const now = performance.now();
        tokens = Math.min(burst, tokens + ((now - at) / 1000) * rate) - 1;
        at = now;
        if (tokens >= 0) return;
        opts.onRapidReset?.(session.socket?.remoteAddress);
        // GOAWAY first: destroy() alone sends it with NO_ERROR whatever code it is given.
        session.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM);
        session.destroy(undefined, constants.NGHTTP2_ENHANCE_YOUR_CALM);
      });
    });
  });
}

const refused = new WeakSet<Http2Stream>();

/** A stream answered with a refusal before its body was read: counted like a reset one. */
export function countAsRefused(stream: Http2Stream): void {
  refused.add(stream);
}
