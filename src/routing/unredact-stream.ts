/**
 * The redact obligation, the way back (issue 16): placeholders in the answer
 * (redact.ts) become the caller's original values again — in content, reasoning, refusals and
 * tool-call arguments, where the value is written JSON-escaped since arguments are JSON text.
 * A placeholder may arrive split over deltas (`[EMA` + `IL_1]`): the tail that could still
 * become one is held back until the next delta of the same stream, or the end.
 */
import type { UpstreamEvent } from "../upstream/index.js";
import type { RedactionTable } from "./redact.js";

type Delta = Extract<UpstreamEvent, { type: "delta" }>;
type ToolCallDelta = NonNullable<Delta["toolCalls"]>[number];

const PLACEHOLDER = /\[[A-Z0-9_]+_[0-9]+\]/g;

/** Restores placeholders in one stream of text that arrives in pieces. */
export class TextRestorer {
  #held = "";

  constructor(
    private readonly table: RedactionTable,
    /** Writes a value into the text: as is, or JSON-escaped inside tool-call arguments. */
    private readonly write: (value: string) => string = (v) => v,
  ) {}

  /** The restored text that can be given out now; a possible placeholder's start is held. */
  push(piece: string): string {
    const s = this.#held + piece;
    const open = s.lastIndexOf("[");
    let cut = s.length;
    if (open >= 0 && this.table.startsPlaceholder(s.slice(open))) cut = open;
    this.#held = s.slice(cut);
    return this.#restore(s.slice(0, cut));
  }

  /** Whatever is held, at the end of the stream. */
  flush(): string {
    const s = this.#held;
    this.#held = "";
    return this.#restore(s);
  }

  #restore(s: string): string {
    if (!s.includes("[")) return s;
    return s.replace(PLACEHOLDER, (p) => {
      const v = this.table.original(p);
      return v === undefined ? p : this.write(v);
    });
  }
}

const jsonEscape = (v: string) => JSON.stringify(v).slice(1, -1);

/** `events` with every placeholder of `table` restored; held tails are given out before the finish. */
export async function* unredactEvents(
  events: AsyncIterable<UpstreamEvent>,
  table: RedactionTable,
): AsyncGenerator<UpstreamEvent> {
  const restorers = new Map<string, TextRestorer>();
  const restorer = (key: string, json = false) => {
    let r = restorers.get(key);
    if (!r) {
      r = new TextRestorer(table, json ? jsonEscape : undefined);
      restorers.set(key, r);
    }
    return r;
  };
  const flushAll = function* (): Generator<UpstreamEvent> {
    const byChoice = new Map<number, Delta>();
    for (const [key, r] of restorers) {
      const rest = r.flush();
      if (rest === "") continue;
      const [kind, choice, tool] = key.split(":");
      const index = Number(choice);
      const d = byChoice.get(index) ?? { type: "delta" as const, ...(index > 0 ? { index } : {}) };
      if (kind === "content") d.content = rest;
      else if (kind === "reasoning") d.reasoning = rest;
      else if (kind === "refusal") d.refusal = rest;
      else d.toolCalls = [...(d.toolCalls ?? []), { index: Number(tool), arguments: rest }];
      byChoice.set(index, d);
    }
    yield* byChoice.values();
  };
  for await (const ev of events) {
    if (ev.type === "finish") {
      yield* flushAll();
      yield ev;
      continue;
    }
    const choice = ev.index ?? 0;
    const out: Delta = { ...ev };
    for (const kind of ["content", "reasoning", "refusal"] as const) {
      const v = ev[kind];
      if (v === undefined) continue;
      const restored = restorer(`${kind}:${choice}`).push(v);
      if (restored === "") delete out[kind];
      else out[kind] = restored;
    }
    if (ev.toolCalls) {
      const calls: ToolCallDelta[] = [];
      for (const tc of ev.toolCalls) {
        const c: ToolCallDelta = { ...tc };
        if (tc.arguments !== undefined) {
          const restored = restorer(`tool:${choice}:${tc.index}`, true).push(tc.arguments);
          if (restored === "") delete c.arguments;
          else c.arguments = restored;
        }
        if (c.arguments !== undefined || c.id !== undefined || c.name !== undefined) calls.push(c);
      }
      if (calls.length > 0) out.toolCalls = calls;
      else delete out.toolCalls;
    }
    const { type: _, index: __, ...rest } = out;
    if (Object.keys(rest).length > 0) yield out;
  }
  yield* flushAll();
}
