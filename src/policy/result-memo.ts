import { type KnownProblems, parseDecision, type ReasonMemo } from "./decision.js";
import { PolicyEvaluationError } from "./errors.js";
import type { PolicyDecision } from "./types.js";

/**
 * Decisions by the policy's result as written out of Wasm (docs/policies.md §9).
 *
 * The Wasm runs on every evaluation this memo serves; what it saves is the work after:
 * parsing the result's JSON text and turning it into a {@link PolicyDecision}
 * ({@link parseDecision}), about a quarter of a cold evaluation at 50 candidates. That work
 * is a pure function of the result text, the candidate ids and the catalog's known problems
 * (`known`), so the decision for a text seen before with the same ids and the same `known`
 * is the one parsing it again would give. Many different inputs give the same result (the
 * time, token estimates, caller identity rarely change which endpoints a rule denies), so
 * this also answers inputs the decision cache has never seen, and it needs no
 * time-independence declaration: it never skips the evaluation.
 *
 * Entries are kept for one `known` at a time (one catalog revision), the least recently
 * used going first when full. Decisions are deep-frozen: every hit hands out the same object.
 * A result that does not parse as a decision throws every time (nothing malformed is kept).
 */
export class ResultMemo {
  private known: KnownProblems | undefined;
  private readonly entries = new Map<string, Entry>();
  hits = 0;
  misses = 0;

  constructor(readonly maxEntries: number) {}

  /** The decision for the result text `text` (`[{"result": …}]`) over the candidates `ids`. */
  decide(
    text: string,
    ids: readonly string[],
    idSet: ReadonlySet<string>,
    known: KnownProblems | undefined,
    reasons: ReasonMemo | undefined,
  ): PolicyDecision {
    if (this.maxEntries <= 0) return parseDecision(parseResult(text), ids, idSet, known, reasons);
    if (known !== this.known) {
      this.entries.clear();
      this.known = known;
    }
    const found = this.entries.get(text);
    if (found && sameIds(found.ids, ids)) {
      this.hits++;
      this.entries.delete(text);
      this.entries.set(text, found);
      return found.decision;
    }
    this.misses++;
    const decision = parseDecision(parseResult(text), ids, idSet, known, reasons);
    deepFreeze(decision);
    if (found) this.entries.delete(text);
    else if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(text, { ids: [...ids], decision });
    return decision;
  }

  get size(): number {
    return this.entries.size;
  }
}

interface Entry {
  ids: readonly string[];
  decision: PolicyDecision;
}

/** The result set's JSON text parsed; text that is not JSON is a malformed result. */
export function parseResult(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new PolicyEvaluationError("malformed", `the result is not JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Freezes `o` and everything in it (shared reason lists from the reason memo are frozen already). */
export function deepFreeze(o: object): void {
  if (Object.isFrozen(o)) return;
  Object.freeze(o);
  for (const v of Object.values(o)) if (typeof v === "object" && v !== null) deepFreeze(v);
}
