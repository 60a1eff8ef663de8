/**
 * Router deltas → the Responses API's output items, told as they grow: one builder serves the
 * streaming answer (each change is an event, `emit`) and the whole one (only the items), so the
 * two cannot drift apart.
 *
 * Items follow the upstream's order: reasoning text → a `reasoning` item with one summary part;
 * content → a `message` with an `output_text` part (and a `refusal` part for refusal text);
 * each tool call → a `function_call` item. A new kind of output closes the item before it, as
 * OpenAI's stream does. Event shapes: openai 6.49.0 `ResponseStreamEvent` (without
 * `sequence_number`, which the stream writer adds).
 */
import type { RouterEvent } from "../../routing/index.js";
import type { TokenLogprob } from "../../upstream/index.js";

type Delta = Extract<RouterEvent, { type: "delta" }>;
export type StreamEvent = { type: string } & Record<string, unknown>;
export type ItemStatus = "completed" | "incomplete";

interface TextPart {
  type: "output_text";
  text: string;
  annotations: never[];
  logprobs: unknown[];
}
interface RefusalPart {
  type: "refusal";
  refusal: string;
}
interface MessageItem {
  id: string;
  type: "message";
  role: "assistant";
  status: string;
  content: (TextPart | RefusalPart)[];
}
interface ReasoningItem {
  id: string;
  type: "reasoning";
  summary: { type: "summary_text"; text: string }[];
  status?: string;
}
interface CallItem {
  id: string;
  type: "function_call";
  call_id: string;
  name: string;
  arguments: string;
  status: string;
}
export type OutputItem = MessageItem | ReasoningItem | CallItem;

export class OutputBuilder {
  readonly output: OutputItem[] = [];
  /** The open message or reasoning item (its output index). */
  #open: number | undefined;
  /** Open function calls: the upstream's tool-call index → output index. */
  readonly #calls = new Map<number, number>();
  readonly #closedCalls = new Set<number>();

  /**
   * @param idBase makes item ids unique to the response (the decision id).
   * @param logprobs keep output text logprobs (they were asked for).
   */
  constructor(
    private readonly idBase: string,
    private readonly logprobs: boolean,
    private readonly emit: (ev: StreamEvent) => void = () => {},
  ) {}

  add(ev: Delta): void {
    if (ev.reasoning) this.#reasoning(ev.reasoning);
    if (ev.content || ev.refusal) this.#message(ev);
    for (const t of ev.toolCalls ?? []) this.#toolCall(t);
  }

  /** Closes every open item: `completed`, or `incomplete` when the answer was cut short. */
  finish(status: ItemStatus): void {
    this.#closeOpen(status);
    this.#closeCalls(status);
  }

  #item(item: OutputItem): number {
    const index = this.output.push(item) - 1;
    this.emit({ type: "response.output_item.added", output_index: index, item: structuredClone(item) });
    return index;
  }

  #reasoning(text: string): void {
    this.#closeCalls("completed");
    let index = this.#open;
    if (index === undefined || this.output[index]!.type !== "reasoning") {
      this.#closeOpen("completed");
      index = this.#open = this.#item({ id: this.#id("rs"), type: "reasoning", summary: [] });
      const item = this.output[index] as ReasoningItem;
      item.summary.push({ type: "summary_text", text: "" });
      this.emit({
        type: "response.reasoning_summary_part.added",
        item_id: item.id,
        output_index: index,
        summary_index: 0,
        part: { type: "summary_text", text: "" },
      });
    }
    const item = this.output[index] as ReasoningItem;
    item.summary[0]!.text += text;
    this.emit({
      type: "response.reasoning_summary_text.delta",
      item_id: item.id,
      output_index: index,
      summary_index: 0,
      delta: text,
    });
  }

  #message(ev: Delta): void {
    this.#closeCalls("completed");
    let index = this.#open;
    if (index === undefined || this.output[index]!.type !== "message") {
      this.#closeOpen("completed");
      const item: MessageItem = {
        id: this.#id("msg"),
        type: "message",
        role: "assistant",
        status: "in_progress",
        content: [],
      };
      index = this.#open = this.#item(item);
    }
    const item = this.output[index] as MessageItem;
    if (ev.content) {
      const logprobs = this.logprobs ? (ev.logprobs ?? []).map(logprob) : [];
      const part = this.#part(item, index, "output_text") as TextPart;
      part.text += ev.content;
      part.logprobs.push(...logprobs);
      this.emit({
        type: "response.output_text.delta",
        item_id: item.id,
        output_index: index,
        content_index: item.content.indexOf(part),
        delta: ev.content,
        logprobs,
      });
    }
    if (ev.refusal) {
      const part = this.#part(item, index, "refusal") as RefusalPart;
      part.refusal += ev.refusal;
      this.emit({
        type: "response.refusal.delta",
        item_id: item.id,
        output_index: index,
        content_index: item.content.indexOf(part),
        delta: ev.refusal,
      });
    }
  }

  #part(item: MessageItem, index: number, type: "output_text" | "refusal"): TextPart | RefusalPart {
    const found = item.content.find((p) => p.type === type);
    if (found) return found;
    const part: TextPart | RefusalPart =
      type === "output_text" ? { type, text: "", annotations: [], logprobs: [] } : { type, refusal: "" };
    item.content.push(part);
    this.emit({
      type: "response.content_part.added",
      item_id: item.id,
      output_index: index,
      content_index: item.content.length - 1,
      part: structuredClone(part),
    });
    return part;
  }

  #toolCall(t: NonNullable<Delta["toolCalls"]>[number]): void {
    // A call the stream already closed cannot grow again: fail rather than mangle arguments.
    if (this.#closedCalls.has(t.index)) throw new Error("upstream resumed a tool call after other output");
    this.#closeOpen("completed");
    let index = this.#calls.get(t.index);
    if (index === undefined) {
      const item: CallItem = {
        id: this.#id("fc"),
        type: "function_call",
        call_id: t.id ?? "",
        name: t.name ?? "",
        arguments: "",
        status: "in_progress",
      };
      index = this.#item(item);
      this.#calls.set(t.index, index);
    } else {
      const item = this.output[index] as CallItem;
      if (t.id) item.call_id = t.id;
      if (t.name) item.name += t.name;
    }
    const item = this.output[index] as CallItem;
    if (t.arguments) {
      item.arguments += t.arguments;
      this.emit({
        type: "response.function_call_arguments.delta",
        item_id: item.id,
        output_index: index,
        delta: t.arguments,
      });
    }
  }

  #closeOpen(status: ItemStatus): void {
    const index = this.#open;
    if (index === undefined) return;
    this.#open = undefined;
    const item = this.output[index]!;
    if (item.type === "message") {
      item.content.forEach((part, content_index) => {
        const at = { item_id: item.id, output_index: index, content_index };
        if (part.type === "output_text")
          this.emit({ type: "response.output_text.done", ...at, text: part.text, logprobs: part.logprobs });
        else this.emit({ type: "response.refusal.done", ...at, refusal: part.refusal });
        this.emit({ type: "response.content_part.done", ...at, part: structuredClone(part) });
      });
      item.status = status;
    } else if (item.type === "reasoning") {
      const part = item.summary[0]!;
      const at = { item_id: item.id, output_index: index, summary_index: 0 };
      this.emit({ type: "response.reasoning_summary_text.done", ...at, text: part.text });
      this.emit({ type: "response.reasoning_summary_part.done", ...at, part: structuredClone(part) });
    }
    this.emit({ type: "response.output_item.done", output_index: index, item: structuredClone(item) });
  }

  #closeCalls(status: ItemStatus): void {
    for (const [toolIndex, index] of this.#calls) {
      const item = this.output[index] as CallItem;
      item.status = status;
      this.emit({
        type: "response.function_call_arguments.done",
        item_id: item.id,
        output_index: index,
        name: item.name,
        arguments: item.arguments,
      });
      this.emit({ type: "response.output_item.done", output_index: index, item: structuredClone(item) });
      this.#closedCalls.add(toolIndex);
    }
    this.#calls.clear();
  }

  #id(prefix: string): string {
    return `${prefix}_${this.idBase}_${this.output.length}`;
  }
}

/** A Chat Completions token logprob as the Responses API spells it (the same fields). */
function logprob(l: TokenLogprob) {
  return {
    token: l.token,
    logprob: l.logprob,
    bytes: l.bytes ?? [],
    top_logprobs: l.top_logprobs.map((t) => ({ token: t.token, logprob: t.logprob, bytes: t.bytes ?? [] })),
  };
}
