/**
 * What `sovr audit witness` remembers per log: the latest checkpoint it cosigned (size, root,
 * and the cosigned note it serves to monitors). One JSON file, replaced atomically (temp file,
 * fsync, rename; mode 0600) before the cosignature is returned, as c2sp.org/tlog-witness
 * requires ("the witness MUST persist the new checkpoint before responding").
 */
import { randomBytes } from "node:crypto";
import { open, readFile, rename } from "node:fs/promises";
import { fromBase64, toBase64 } from "../encoding/index.js";
import { HASH_SIZE } from "./merkle.js";

const FORMAT = "sovr-witness-state/v1";

export interface WitnessedHead {
  size: number;
  rootHash: Uint8Array;
  /** The checkpoint with the log's signatures and ours, as served to monitors. */
  note: string;
}

export class WitnessStateError extends Error {
  override readonly name = "WitnessStateError";
}

export class WitnessStateFile {
  readonly #heads = new Map<string, WitnessedHead>();

  private constructor(readonly path: string) {}

  /** Reads the file (a missing file is a witness that has seen nothing yet). */
  static async open(path: string): Promise<WitnessStateFile> {
    const f = new WitnessStateFile(path);
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return f;
      throw err;
    }
    let raw: { format?: unknown; logs?: Record<string, { size?: unknown; root?: unknown; note?: unknown }> };
    try {
      raw = JSON.parse(text);
    } catch {
      throw new WitnessStateError(`${path}: not JSON`);
    }
    if (raw?.format !== FORMAT || typeof raw.logs !== "object" || raw.logs === null)
      throw new WitnessStateError(`${path}: not a ${FORMAT} file`);
    for (const [origin, h] of Object.entries(raw.logs)) {
      const root = typeof h?.root === "string" ? fromBase64(h.root) : undefined;
      if (!Number.isSafeInteger(h?.size) || (h.size as number) < 0 || root?.length !== HASH_SIZE)
        throw new WitnessStateError(`${path}: log ${JSON.stringify(origin)}: bad size or root`);
      f.#heads.set(origin, {
        size: h.size as number,
        rootHash: root,
        note: typeof h.note === "string" ? h.note : "",
      });
    }
    return f;
  }

  get(origin: string): WitnessedHead | undefined {
    return this.#heads.get(origin);
  }

  /** Records `head` for `origin` and writes the file before returning. */
  async set(origin: string, head: WitnessedHead): Promise<void> {
    const next = new Map(this.#heads).set(origin, head);
    const logs = Object.fromEntries(
      [...next].map(([o, h]) => [o, { size: h.size, root: toBase64(h.rootHash), note: h.note }]),
    );
    const tmp = `${this.path}.${randomBytes(6).toString("hex")}.tmp`;
    const fh = await open(tmp, "w", 0o600);
    try {
      await fh.writeFile(`${JSON.stringify({ format: FORMAT, logs }, null, 2)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.path);
    this.#heads.set(origin, head);
  }
}
