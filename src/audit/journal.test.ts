import { appendFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AuditJournal, journaledEntry, type SignedEntry } from "./journal.js";

const dirs: string[] = [];

/** A request's fields but its encoder and co-commit work. */
function rowFields(req: object): Record<string, unknown> {
  const { encode: _e, work: _w, ...rest } = req as Record<string, unknown>;
  return rest;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function journal(): AuditJournal {
  const dir = mkdtempSync(join(tmpdir(), "sovr-journal-"));
  dirs.push(dir);
  return new AuditJournal(join(dir, "audit.journal"));
}

const at = new Date(1_767_225_600_123);
const decision: SignedEntry = {
  req: {
    kind: "decision",
    decisionId: "019a0000-0000-7000-8000-000000000001",
    recordedAt: at,
    tenant: "acme",
    encode: () => new Uint8Array(),
    index: {
      tenant: "acme",
      model: "m",
      endpoint_id: "e",
      outcome: "pending",
      policy_revision: "r",
      policy_sha256: "s",
      catalog_revision: "c",
      key_id: "k",
      facets: ["excluded:zdr"],
    },
  },
  slot: { tenant: "acme", tenantSeq: 7 },
  envelopeJson: '{"payload":"eyJ9","payloadType":"t","signatures":[]}',
  leaf: new Uint8Array(32).fill(9),
};
const outcome: SignedEntry = {
  req: {
    kind: "outcome",
    decisionId: "019a0000-0000-7000-8000-000000000001",
    recordedAt: at,
    tenant: "acme",
    encode: () => new Uint8Array(),
    outcome: "success",
    endpointId: "e",
    usage: { input_tokens: 3, output_tokens: 4, cost_micro_usd: 5 },
  },
  slot: { tenant: "acme", tenantSeq: 8 },
  envelopeJson: '{"payload":"e30=","payloadType":"t","signatures":[]}',
  leaf: new Uint8Array(32).fill(1),
};
const admin: SignedEntry = {
  req: {
    kind: "admin",
    eventId: "019a0000-0000-7000-8000-000000000002",
    recordedAt: at,
    tenant: "acme",
    encode: () => new Uint8Array(),
    action: "keys.create",
  },
  slot: { tenant: "acme", tenantSeq: 9 },
  envelopeJson: '{"payload":"e30=","payloadType":"t","signatures":[]}',
  leaf: new Uint8Array(32).fill(2),
};

describe("AuditJournal", () => {
  it("reads back what it was given, in order, with the seqs", () => {
    const j = journal();
    j.append([decision], 41);
    j.append([outcome], 42);
    const { entries, torn } = j.read();
    expect(torn).toBe(false);
    expect(entries.map((e) => e.seq)).toEqual([41, 42]);
    const [d, o] = entries;
    expect(d!.req.kind).toBe("decision");
    expect(d!.req.recordedAt.getTime()).toBe(at.getTime());
    expect(d!.slot).toEqual({ tenant: "acme", tenantSeq: 7 });
    expect(d!.envelopeJson).toBe(decision.envelopeJson);
    expect([...d!.leaf]).toEqual([...decision.leaf]);
    expect(d!.req.kind === "decision" && d!.req.index).toEqual(
      decision.req.kind === "decision" && decision.req.index,
    );
    expect(o!.req.kind === "outcome" && [o!.req.outcome, o!.req.endpointId, o!.req.usage]).toEqual([
      "success",
      "e",
      { input_tokens: 3, output_tokens: 4, cost_micro_usd: 5 },
    ]);
    j.close();
  });

  it("writes a batch as one line a record, with text of any width (its bytes counted, not its characters)", () => {
    const j = journal();
    const wide = (e: SignedEntry, tenant: string, text: string): SignedEntry => ({
      ...e,
      req: { ...e.req, tenant } as SignedEntry["req"],
      slot: { tenant, tenantSeq: e.slot!.tenantSeq },
      envelopeJson: `{"payload":"${text}","payloadType":"t","signatures":[]}`,
    });
    const batch = [
      wide(decision, "café-société", 'é"\\\n€'),
      wide(outcome, "北京", "\u{1f600}\u0000"),
      wide(admin, "acme", "plain"),
    ];
    j.append(batch, 10);
    const { entries, torn } = j.read();
    expect(torn).toBe(false);
    expect(entries.map((e) => [e.seq, e.slot?.tenant, e.envelopeJson])).toEqual(
      batch.map((e, i) => [10 + i, e.slot!.tenant, e.envelopeJson]),
    );
    expect(j.bytes).toBe(j.size);
    j.close();
  });

  it("drops a torn last line (a write that never finished was never acknowledged)", () => {
    const j = journal();
    j.append([decision, outcome], 0);
    appendFileSync(j.path, '{"seq":2,"kind":"deci');
    const { entries, torn } = j.read();
    expect(torn).toBe(true);
    expect(entries.map((e) => e.seq)).toEqual([0, 1]);
    j.close();
  });

  it("refuses a line in the middle that is not a record", () => {
    const j = journal();
    appendFileSync(j.path, "garbage\n");
    j.append([decision], 0);
    expect(() => j.read()).toThrow(/line 1 is not a record/);
    j.close();
  });

  it("is empty after clear, and appends after it", () => {
    const j = journal();
    j.append([decision], 0);
    j.clear();
    expect(j.size).toBe(0);
    j.append([outcome], 1);
    expect(j.read().entries.map((e) => e.seq)).toEqual([1]);
    j.close();
  });

  it("takes v2 records only, and a read-back record is never encoded again", () => {
    const j = journal();
    const { slot: _, ...v1 } = decision;
    expect(() => j.append([v1 as SignedEntry], 0)).toThrow(/v2 records only/);
    j.append([decision], 0);
    const [d] = j.read().entries;
    expect(() => "encode" in d!.req && d!.req.encode(1)).toThrow(/never encoded again/);
    j.close();
  });

  it("keeps of a journaled record what its row needs, not its encoder, work or callbacks", () => {
    const pending = { ...decision, req: { ...decision.req, work: { spend: 1 } }, resolve: () => {} };
    const kept = journaledEntry(pending as SignedEntry);
    expect(Object.keys(kept).sort()).toEqual(["envelopeJson", "leaf", "req", "slot"]);
    // The envelope as its UTF-8 bytes (outside the V8 heap), the same bytes as the record's text.
    expect(Buffer.isBuffer(kept.envelopeJson)).toBe(true);
    expect(Buffer.from(kept.envelopeJson).toString("utf8")).toBe(decision.envelopeJson);
    expect("work" in kept.req).toBe(false);
    expect(() => "encode" in kept.req && kept.req.encode(1)).toThrow(/never encoded again/);
    // What the row and the journal line are made of is the record's own, field for field.
    expect(rowFields(kept.req)).toEqual(rowFields(pending.req));
    for (const e of [outcome, admin]) expect(rowFields(journaledEntry(e).req)).toEqual(rowFields(e.req));
    const { slot: _, ...v1 } = decision;
    expect(() => journaledEntry(v1 as SignedEntry)).toThrow(/v2 records only/);
  });

  it("refuses an append once its file was removed from the directory (no start would read it)", () => {
    const j = journal();
    j.append([decision], 0);
    rmSync(j.path);
    expect(() => j.append([outcome], 1)).toThrow(/was removed/);
    j.close();
  });

  it.runIf(existsSync("/dev/full"))(
    "refuses a write that fails, and every later one when the file cannot be cut back",
    () => {
      // /dev/full: every write fails (ENOSPC), and a device cannot be truncated.
      const j = new AuditJournal("/dev/full");
      expect(() => j.append([decision], 0)).toThrow(/write failed: ENOSPC.*cutting it back failed/);
      expect(() => j.append([outcome], 1)).toThrow(/write failed: ENOSPC/);
      j.close();
    },
  );
});
