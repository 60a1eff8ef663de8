import type { DescService } from "@bufbuild/protobuf";
import { type Client, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";

export const DEFAULT_SOVR_URL = "http://127.0.0.1:8080";

export interface ServerClientOptions {
  /** Server base URL; default `SOVR_URL`, else {@link DEFAULT_SOVR_URL}. */
  url?: string;
  /** API key; default `SOVR_KEY`. */
  key?: string;
}

/**
 * A client of a running `sovr serve` for CLI commands (docs/architecture.md §7: commands that read or change
 * live state never open the database): Connect over HTTP/1.1 to `SOVR_URL`, with
 * `authorization: Bearer $SOVR_KEY` when a key is set.
 */
export function serverClient<S extends DescService>(service: S, opts: ServerClientOptions = {}): Client<S> {
  const key = opts.key ?? process.env.SOVR_KEY;
  const auth: Interceptor = (next) => (req) => {
    if (key) req.header.set("authorization", `Bearer ${key}`);
    return next(req);
  };
  const transport = createConnectTransport({
    baseUrl: opts.url ?? process.env.SOVR_URL ?? DEFAULT_SOVR_URL,
    httpVersion: "1.1",
    interceptors: [auth],
  });
  return createClient(service, transport);
}
