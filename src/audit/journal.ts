import { closeSync, fstatSync, ftruncateSync, openSync, readFileSync, writeSync } from "node:fs";
import type { AppendRequest, BatchEntry } from "./append-batch.js";

/**
 * The embedded database's write-ahead journal for the audit log (issue 19;
 * bench/findings.md "session 12"). A batch of records is durable once its lines are in this
 * append-only file — one write(2), the durability the embedded database gives a commit (PGlite
 * runs Postgres with fsync off: a write into the page cache, which survives the process but not
 * the machine). The log then inserts the journal's records into the database in larger batches
 * behind it, and empties the journal once the database holds them all.
 *
 * One line a record: JSON of what the append statement needs (append-batch.ts), with the `seq`
 * the log gave it. A line without its newline is torn — the write that made it did not finish,
 * so nobody was told the record was durable — and is dropped when the journal is read back.
 */

/** What a journal line holds: a v2 record's statement fields, its seq and its signed bytes. */
interface JournalLine {
  seq: number;
  kind: AppendRequest["kind"];
  id: string;
  at: number;
  tenant: string;
  tenantSeq: number;
  envelope: string;
  leaf: string;
  index?: unknown;
  outcome?: unknown;
  endpointId?: string | null;
  usage?: unknown;
  action?: string;
}

/** A record read back from the journal: a batch entry of the append statement, and its seq. */
export interface JournaledEntry extends BatchEntry {
  seq: number;
}

/** A record as the log signed it: its envelope's canonical JSON as text. */
export type SignedEntry = BatchEntry & { envelopeJson: string };

export class JournalError extends Error {
  override name = "JournalError";
}

export class AuditJournal {
  readonly #fd: number;
  /** Bytes of whole lines in the file: a failed write is cut back to here. */
  #size: number;
  #broken: Error | undefined;

  constructor(readonly path: string) {
    this.#fd = openSync(path, "a+", 0o600);
    this.#size = fstatSync(this.#fd).size;
  }

  /** Bytes of whole lines in the journal, as counted here (no system call). */
  get bytes(): number {
    return this.#size;
  }

  /** Bytes in the journal now. */
  get size(): number {
    return fstatSync(this.#fd).size;
  }

  /**
   * Appends `batch`, whose first record has seq `firstSeq`, in one write. Throws when the
   * journal's file is no longer in the directory (removed under the server: a write would
   * succeed into a file no start will read), or when the write fails or is short; a failed write
   * is cut back off the file, and when that fails too the journal refuses every later append (a
   * torn line must stay the last one).
   */
  append(batch: readonly SignedEntry[], firstSeq: number): void {
    if (this.#broken) throw this.#broken;
    if (fstatSync(this.#fd).nlink === 0)
      throw new JournalError(`audit journal ${this.path} was removed: records cannot be made durable`);
    // Each line's UTF-8 written into one buffer of their total size: the lines are not joined
    // into one string first (a copy of every record's envelope the write does not need).
    const lines: string[] = new Array(batch.length);
    let total = 0;
    for (let i = 0; i < batch.length; i++) {
      const line = JSON.stringify(toLine(batch[i]!, firstSeq + i));
      lines[i] = line;
      total += Buffer.byteLength(line, "utf8") + 1;
    }
    const bytes = Buffer.allocUnsafe(total);
    let at = 0;
    for (const line of lines) {
      at += bytes.write(line, at, "utf8");
      bytes[at++] = 0x0a;
    }
    let failure: string | undefined;
    let cause: unknown;
    try {
      const written = writeSync(this.#fd, bytes);
      if (written === bytes.length) {
        this.#size += written;
        return;
      }
      failure = `audit journal write was short (${written} of ${bytes.length} bytes)`;
    } catch (err) {
      failure = `audit journal write failed: ${(err as Error).message}`;
      cause = err;
    }
    try {
      ftruncateSync(this.#fd, this.#size);
    } catch (err) {
      this.#broken = new JournalError(`${failure}; cutting it back failed: ${(err as Error).message}`, {
        cause,
      });
      throw this.#broken;
    }
    throw new JournalError(failure, { cause });
  }

  /** The journal's whole records in order; `torn` when a last, unfinished line was dropped. */
  read(): { entries: JournaledEntry[]; torn: boolean } {
    const text = readFileSync(this.path, "utf8");
    const lines = text.split("\n");
    const last = lines.pop();
    const entries = lines.map((l, i) => {
      try {
        return fromLine(JSON.parse(l) as JournalLine);
      } catch (err) {
        throw new JournalError(`audit journal line ${i + 1} is not a record: ${(err as Error).message}`);
      }
    });
    return { entries, torn: last !== undefined && last !== "" };
  }

  /** Empties the journal (every record in it is in the database). */
  clear(): void {
    ftruncateSync(this.#fd, 0);
    this.#size = 0;
  }

  close(): void {
    closeSync(this.#fd);
  }
}

function toLine(p: SignedEntry, seq: number): JournalLine {
  const q = p.req;
  if (!p.slot || !("tenant" in q)) throw new JournalError("the journal takes v2 records only");
  const line: JournalLine = {
    seq,
    kind: q.kind,
    id: q.kind === "admin" ? q.eventId : q.decisionId,
    at: q.recordedAt.getTime(),
    tenant: p.slot.tenant,
    tenantSeq: p.slot.tenantSeq,
    envelope: p.envelopeJson,
    leaf: Buffer.from(p.leaf).toString("hex"),
  };
  if (q.kind === "decision") line.index = q.index;
  else if (q.kind === "outcome") {
    line.outcome = q.outcome;
    line.endpointId = q.endpointId;
    line.usage = q.usage;
  } else line.action = q.action;
  return line;
}

function notReencodable(): never {
  throw new JournalError("a journaled record is signed already: it is never encoded again");
}

/**
 * What the backlog keeps of a record it journaled until the database has it: the row's fields,
 * its envelope and its leaf; not its encoder (a closure over the whole record), its co-commit
 * work or its caller's callbacks. An entry waits up to JOURNAL_INSERT_MS, longer than a young
 * generation's cycle under load: whatever it holds is promoted, and left for a full collection
 * of the request thread once the row is in. So the envelope, most of its bytes, is kept as
 * UTF-8 bytes, which live outside the V8 heap: no collection copies them, and they are freed
 * with their small Buffer object.
 */
export function journaledEntry(p: SignedEntry): BatchEntry {
  const q = p.req;
  if (!p.slot || !("tenant" in q)) throw new JournalError("the journal takes v2 records only");
  const id = q.kind === "admin" ? q.eventId : q.decisionId;
  return {
    req: journaledRequest(q.kind, id, q.tenant, q.recordedAt, q),
    slot: p.slot,
    envelopeJson: Buffer.from(p.envelopeJson, "utf8"),
    leaf: p.leaf,
  };
}

function fromLine(l: JournalLine): JournaledEntry {
  return {
    seq: l.seq,
    req: journaledRequest(l.kind, l.id, l.tenant, new Date(l.at), l),
    slot: { tenant: l.tenant, tenantSeq: l.tenantSeq },
    envelopeJson: l.envelope,
    leaf: new Uint8Array(Buffer.from(l.leaf, "hex")),
  };
}

/** The kind's own fields of a record's request, as a request or a journal line names them. */
type KindFields = Pick<JournalLine, "index" | "outcome" | "endpointId" | "usage" | "action">;

/**
 * The request of a record already signed (it can never be encoded again): from a record the
 * backlog keeps ({@link journaledEntry}) or from a line read back ({@link fromLine}).
 */
function journaledRequest(
  kind: AppendRequest["kind"],
  id: string,
  tenant: string,
  recordedAt: Date,
  f: KindFields,
): AppendRequest {
  const common = { tenant, encode: notReencodable, recordedAt };
  if (kind === "decision") return { ...common, kind, decisionId: id, index: f.index as never };
  if (kind === "outcome")
    return {
      ...common,
      kind,
      decisionId: id,
      outcome: f.outcome as never,
      endpointId: f.endpointId ?? null,
      ...(f.usage ? { usage: f.usage as never } : {}),
    };
  if (kind === "admin") return { ...common, kind, eventId: id, action: f.action ?? "" };
  throw new JournalError(`unknown record kind ${String(kind)}`);
}
