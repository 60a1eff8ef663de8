/**
 * The in-process upstream (`api: local`): a GGUF model run by node-llama-cpp behind the same
 * adapter interface as the HTTP providers, so policy, selection, failover, records and metrics
 * are unchanged (docs/catalog.md, "The local provider").
 *
 * Honours what the local endpoints declare (catalog LOCAL_SUPPORTED_PARAMETERS): max_tokens,
 * temperature, top_p, top_k, min_p, seed, stop, and response_format (json_schema through a
 * grammar, json_object through the JSON grammar). Text messages only; no tools.
 */
import type { ChatHistoryItem, LlamaContextSequence, LlamaGrammar } from "node-llama-cpp";
import { UpstreamError } from "./errors.js";
import { type LoadedModel, LocalRuntime, type LocalRuntimeOptions } from "./local-llama.js";
import type {
  UpstreamAdapter,
  UpstreamCallOptions,
  UpstreamEvent,
  UpstreamMessage,
  UpstreamRequest,
  UpstreamTarget,
} from "./types.js";

export class LocalAdapter implements UpstreamAdapter {
  readonly #runtime: LocalRuntime;

  constructor(options: LocalRuntimeOptions) {
    this.#runtime = new LocalRuntime(options);
  }

  /**
   * Loads (and checks the sha256 of) a model ahead of its first request, so that request does
   * not pay for reading and hashing the file; the load is shared with any request that comes
   * meanwhile.
   */
  async warm(fileUrl: string, sha256: string): Promise<void> {
    await this.#runtime.model(fileUrl, sha256);
  }

  /** `target.baseUrl` is the model's `file:` URL; `req.model` its sha256 (the endpoint's upstream_model). */
  async *stream(
    target: UpstreamTarget,
    req: UpstreamRequest,
    opts: UpstreamCallOptions,
  ): AsyncIterable<UpstreamEvent> {
    const history = toHistory(req.messages);
    const loaded = await this.#runtime.model(target.baseUrl, req.model);
    const sequence = await loaded.slots.acquire(opts.signal);
    try {
      yield* generate(loaded, sequence, history, req, opts.signal);
    } finally {
      loaded.slots.release(sequence);
    }
  }

  close(): Promise<void> {
    return this.#runtime.close();
  }
}

/** OpenAI roles → node-llama-cpp's chat history; text only (the endpoints declare input_modalities [text]). */
function toHistory(messages: readonly UpstreamMessage[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = messages.map((m, i) => {
    if (m.tool_calls !== undefined || m.tool_call_id !== undefined) {
      throw new UpstreamError("client", `messages[${i}]: local models take no tool calls`, 400);
    }
    const text =
      typeof m.content === "string"
        ? m.content
        : m.content
            .map((p) => {
              if (p.type !== "text") {
                throw new UpstreamError("client", `messages[${i}]: local models take text content only`, 400);
              }
              return p.text;
            })
            .join("");
    if (m.role === "system" || m.role === "developer") return { type: "system", text };
    if (m.role === "user") return { type: "user", text };
    if (m.role === "assistant") return { type: "model", response: [text] };
    throw new UpstreamError("client", `messages[${i}].role: not supported by local models`, 400);
  });
  // The model answers into an empty model turn.
  history.push({ type: "model", response: [] });
  return history;
}

async function grammarFor(loaded: LoadedModel, format: unknown): Promise<LlamaGrammar | undefined> {
  if (format === undefined || format === null) return undefined;
  const f = format as { type?: unknown; json_schema?: { schema?: unknown } };
  if (f.type === "text") return undefined;
  if (f.type === "json_object") return loaded.llama.getGrammarFor("json");
  if (f.type === "json_schema") {
    try {
      // biome-ignore lint/suspicious/noExplicitAny: node-llama-cpp types the schema as its own GBNF subset; it validates at run time
      return await loaded.llama.createGrammarForJsonSchema((f.json_schema?.schema ?? {}) as any);
    } catch (cause) {
      throw new UpstreamError(
        "client",
        "response_format.json_schema.schema: uses a JSON Schema feature the local grammar does not support",
        400,
        undefined,
        { cause },
      );
    }
  }
  throw new UpstreamError("client", "response_format.type: not supported by local models", 400);
}

/** Runs one generation on a held sequence, turning its text callbacks into events. */
async function* generate(
  loaded: LoadedModel,
  sequence: LlamaContextSequence,
  history: ChatHistoryItem[],
  req: UpstreamRequest,
  signal: AbortSignal | undefined,
): AsyncGenerator<UpstreamEvent> {
  const { lib, model } = loaded;
  const chat = new lib.LlamaChat({ contextSequence: sequence, chatWrapper: loaded.chatWrapper });
  const grammar = await grammarFor(loaded, req.params?.response_format);
  const promptTokens = chat.chatWrapper
    .generateContextState({ chatHistory: history })
    .contextText.tokenize(model.tokenizer).length;
  const meter = sequence.tokenMeter.getState();
  const chunks: string[] = [];
  let wake: (() => void) | undefined;
  let done = false;
  const params = req.params ?? {};
  const run = chat
    .generateResponse(history, {
      onTextChunk: (text) => {
        chunks.push(text);
        wake?.();
      },
      ...(req.max_tokens === undefined ? {} : { maxTokens: req.max_tokens }),
      ...(req.temperature === undefined ? {} : { temperature: req.temperature }),
      ...(req.top_p === undefined ? {} : { topP: req.top_p }),
      ...(typeof params.top_k === "number" ? { topK: params.top_k } : {}),
      ...(typeof params.min_p === "number" ? { minP: params.min_p } : {}),
      ...(req.seed === undefined ? {} : { seed: req.seed }),
      ...(req.stop === undefined || req.stop.length === 0 ? {} : { customStopTriggers: req.stop }),
      ...(grammar === undefined ? {} : { grammar }),
      ...(signal === undefined ? {} : { signal }),
    })
    .finally(() => {
      done = true;
      wake?.();
    });
  run.catch(() => {}); // observed below
  try {
    let first = true;
    while (true) {
      const text = chunks.splice(0).join("");
      if (text !== "") {
        yield { type: "delta", ...(first ? { role: "assistant" } : {}), content: text };
        first = false;
      } else if (done) break;
      else await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
    let result: Awaited<typeof run>;
    try {
      result = await run;
    } catch (cause) {
      if (signal?.aborted)
        throw new UpstreamError("aborted", "the caller went away", undefined, undefined, { cause });
      throw new UpstreamError("server", "local generation failed", 500, undefined, { cause });
    }
    const used = sequence.tokenMeter.diff(meter);
    const reason = result.metadata.stopReason;
    if (reason === "abort") throw new UpstreamError("aborted", "the caller went away");
    yield {
      type: "finish",
      finishReason: reason === "maxTokens" ? "length" : "stop",
      usage: { promptTokens, completionTokens: used.usedOutputTokens },
    };
  } finally {
    chat.dispose({ disposeSequence: false });
  }
}
