import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { REPO } from "./app.js";

/**
 * A policy bundle server (SOVR_POLICY_BUNDLE_URL) that answers only when released: `sovr serve`
 * starting against it is held at a known point of its start-up, for signals sent meanwhile.
 */
export interface HeldBundleServer {
  readonly url: string;
  /** Resolves when the bundle was first asked for (start-up is waiting on it). */
  readonly requested: Promise<void>;
  /** Lets every request (earlier and later) have the committed bundle. */
  release(): void;
  close(): void;
}

export async function startHeldBundleServer(): Promise<HeldBundleServer> {
  const bundle = await readFile(join(REPO, "policies/dist/bundle.tar.gz"));
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let requested!: () => void;
  const wasRequested = new Promise<void>((r) => (requested = r));
  const server: Server = createServer((_req, res) => {
    requested();
    void released.then(() => res.writeHead(200, { "content-type": "application/gzip" }).end(bundle));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/bundle.tar.gz`,
    requested: wasRequested,
    release,
    close: () => server.close(),
  };
}
