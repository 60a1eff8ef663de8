/**
 * `sovr audit witness`'s core over real HTTP (port 0): cosigning a growing log, the answers the
 * tlog-witness spec prescribes, and a split view or rewritten history refused.
 */

import { mkdtemp, rm } from "node:fs/promises";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signCheckpoint } from "./checkpoint.js";
import { cosignatureSigner, cosignatureVerifier, cosigners } from "./cosignature.js";
import { generateSigningKey } from "./keys.js";
import { leafHash, MerkleTree } from "./merkle.js";
import { noteVerifier, parseNote } from "./note.js";
import { Witness } from "./witness.js";
import { witnessServer } from "./witness-http.js";
import { formatAddCheckpoint } from "./witness-protocol.js";
import { WitnessStateFile } from "./witness-state.js";

const ORIGIN = "example.com/log";
const logKey = generateSigningKey();
const witnessKey = generateSigningKey();
const wv = cosignatureVerifier("auditor.example/w", witnessKey.publicKeyRaw);

function tree(n: number, tag = "a"): MerkleTree {
  const t = new MerkleTree();
  for (let i = 0; i < n; i++) t.append(leafHash(new TextEncoder().encode(`${tag}${i}`)));
  return t;
}
const note = (t: MerkleTree, size = t.size, key = logKey) =>
  signCheckpoint({ origin: ORIGIN, size, rootHash: t.root(size) }, key);

describe("witness", () => {
  let dir: string;
  let server: Server;
  let url: string;
  const start = async () => {
    const state = await WitnessStateFile.open(join(dir, "state.json"));
    const w = new Witness(
      cosignatureSigner("auditor.example/w", witnessKey),
      [{ origin: ORIGIN, verifiers: [noteVerifier(ORIGIN, logKey.publicKeyRaw)] }],
      state,
    );
    server = witnessServer(w).listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  const post = async (oldSize: number, proof: Uint8Array[], n: string) => {
    const res = await fetch(`${url}/add-checkpoint`, {
      method: "POST",
      body: formatAddCheckpoint({ oldSize, proof, note: n }),
    });
    return { status: res.status, type: res.headers.get("content-type"), body: await res.text() };
  };
  const cosignedBy = (n: string, body: string) => {
    const { text } = parseNote(n);
    return cosigners(text, parseNote(`${text}\n${body}`).signatures, [wv]).names;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sovr-witness-"));
    await start();
  });
  afterAll(async () => {
    server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const t = tree(13);
  it("cosigns a first checkpoint (old 0) and then one consistent with it", async () => {
    const first = await post(0, [], note(t, 5));
    expect(first.status).toBe(200);
    expect(cosignedBy(note(t, 5), first.body)).toEqual([wv.vkey]);
    const next = await post(5, t.consistencyProof(5, 9), note(t, 9));
    expect(next.status).toBe(200);
    expect(cosignedBy(note(t, 9), next.body)).toEqual([wv.vkey]);
  });

  it("answers 409 with the size it holds (text/x.tlog.size) to a stale or rolled-back old size", async () => {
    const stale = await post(5, t.consistencyProof(5, 13), note(t, 13));
    expect(stale).toEqual({ status: 409, type: "text/x.tlog.size", body: "9\n" });
    const rollback = await post(0, [], note(t, 3));
    expect(rollback.status).toBe(409);
  });

  it("refuses a split view: another checkpoint of the same size (422), and a rewritten history (422)", async () => {
    const other = tree(13, "b");
    const sameSize = await post(9, [], note(other, 9));
    expect(sameSize.status).toBe(422);
    const rewritten = await post(9, other.consistencyProof(9, 13), note(other, 13));
    expect(rewritten.status).toBe(422);
    // The honest view still grows.
    expect((await post(9, t.consistencyProof(9, 13), note(t, 13))).status).toBe(200);
  });

  it("keeps what it cosigned across a restart (the state file), so the split view stays refused", async () => {
    server.close();
    await start();
    expect(await post(0, [], note(t, 13))).toMatchObject({ status: 409, body: "13\n" });
    expect((await post(13, [], note(tree(13, "c"), 13))).status).toBe(422);
    const monitor = await fetch(
      `${url}/${(await import("node:crypto")).createHash("sha256").update(ORIGIN).digest("hex")}/checkpoint`,
    );
    expect(monitor.status).toBe(200);
    const served = await monitor.text();
    expect(served.startsWith(note(t, 13))).toBe(true);
  });

  it("answers 404 for an unknown log, 403 for a checkpoint not signed by the log's key, 400 for old > size", async () => {
    const stranger = signCheckpoint({ origin: "other.example/log", size: 1, rootHash: t.root(1) }, logKey);
    expect((await post(0, [], stranger)).status).toBe(404);
    expect((await post(13, [], note(t, 13, generateSigningKey()))).status).toBe(403);
    expect((await post(14, [], note(t, 13))).status).toBe(400);
    expect((await post(13, [new Uint8Array(3)], note(t, 13))).status).toBe(400);
  });
});
