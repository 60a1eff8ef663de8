/**
 * Witness cosignatures of our checkpoints in `audit_cosignatures`: stored as the witnesses sent
 * them (note signature lines), served with the checkpoint and exported beside its note.
 */
import type { Kysely } from "kysely";
import type { Database } from "../db/index.js";

/** One witness's cosignature of the checkpoint of `size`. */
export interface StoredCosignature {
  /** The log shard of the checkpoint (0 in a one-shard log). */
  shard?: number;
  size: number;
  /** The witness's verifier key. */
  witness: string;
  /** `— <witness name> <base64>` (no newline). */
  signature: string;
  cosignedAt: Date;
}

/** Keeps a witness's cosignature of checkpoint `size` (replacing an earlier one of that pair). */
export async function saveCosignature(db: Kysely<Database>, c: StoredCosignature): Promise<void> {
  await db
    .insertInto("audit_cosignatures")
    .values({
      shard: c.shard ?? 0,
      size: c.size,
      witness: c.witness,
      signature: c.signature,
      cosigned_at: c.cosignedAt,
    })
    .onConflict((oc) =>
      oc
        .columns(["shard", "size", "witness"])
        .doUpdateSet({ signature: c.signature, cosigned_at: c.cosignedAt }),
    )
    .execute();
}

/** The cosignature lines of each of `sizes` (sizes without any are absent from the map). */
export async function cosignaturesOf(
  db: Kysely<Database>,
  sizes: readonly number[],
  shard = 0,
): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  if (sizes.length === 0) return out;
  const rows = await db
    .selectFrom("audit_cosignatures")
    .select(["size", "signature"])
    .where("shard", "=", shard)
    .where("size", "in", [...sizes])
    .orderBy("size")
    .orderBy("witness")
    .execute();
  for (const r of rows) {
    const list = out.get(r.size) ?? [];
    list.push(r.signature);
    out.set(r.size, list);
  }
  return out;
}

/** A signed note with cosignature lines appended: one note, every signature on it. */
export function cosignedNote(note: string, cosignatures: readonly string[]): string {
  return note + cosignatures.map((l) => `${l}\n`).join("");
}

/** The cosignature lines of every checkpoint of at most `maxSize` leaves (an export's). */
export async function cosignaturesUpTo(
  db: Kysely<Database>,
  maxSize: number,
  shard = 0,
): Promise<Map<number, string[]>> {
  const rows = await db
    .selectFrom("audit_cosignatures")
    .select(["size", "signature"])
    .where("shard", "=", shard)
    .where("size", "<=", maxSize)
    .orderBy("size")
    .orderBy("witness")
    .execute();
  const out = new Map<number, string[]>();
  for (const r of rows) out.set(r.size, [...(out.get(r.size) ?? []), r.signature]);
  return out;
}
