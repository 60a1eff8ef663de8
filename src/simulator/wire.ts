/**
 * The simulator's answers on the wire: one completion as an OpenAI Chat Completions body or SSE
 * stream, or as an Anthropic Messages body or event stream.
 */
const WORDS = "the quick brown fox jumps over a lazy dog while the router keeps every record".split(" ");

/** One simulated completion, whichever protocol carries it. */
export interface Completion {
  id: string;
  created: number;
  model: string;
  /** Content chunks (words). */
  n: number;
  promptTokens: number;
  finish: "stop" | "length";
  /** Name of the tool to call instead of answering in text. */
  toolCall?: string;
}

const word = (i: number) => (i === 0 ? "" : " ") + WORDS[i % WORDS.length];
const text = (c: Completion) => Array.from({ length: c.n }, (_, i) => word(i)).join("");
const TOOL_ARGS = ['{"city":', '"Paris"}'];

/** A stream as head, `chunks` numbered content events, tail. */
export interface Wire {
  head: string;
  chunks: number;
  chunk(i: number): string;
  tail: string;
}

export function openaiCompletion(c: Completion) {
  const message = c.toolCall
    ? {
        role: "assistant",
        content: null,
        tool_calls: [
          {
            id: `call_${c.id}`,
            type: "function",
            function: { name: c.toolCall, arguments: TOOL_ARGS.join("") },
          },
        ],
      }
    : { role: "assistant", content: text(c) };
  const completion = c.toolCall ? TOOL_ARGS.length : c.n;
  return {
    id: `chatcmpl-${c.id}`,
    object: "chat.completion",
    created: c.created,
    model: c.model,
    choices: [{ index: 0, message, finish_reason: c.toolCall ? "tool_calls" : c.finish }],
    usage: {
      prompt_tokens: c.promptTokens,
      completion_tokens: completion,
      total_tokens: c.promptTokens + completion,
    },
  };
}

export function openaiStream(c: Completion, includeUsage: boolean): Wire {
  const event = (delta: object, finishReason: string | null) =>
    `data: ${JSON.stringify({ id: `chatcmpl-${c.id}`, object: "chat.completion.chunk", created: c.created, model: c.model, choices: [{ index: 0, delta, finish_reason: finishReason }] })}\n\n`;
  const chunks = c.toolCall ? TOOL_ARGS.length : c.n;
  const chunk = (i: number) => {
    if (!c.toolCall)
      return event(i === 0 ? { role: "assistant", content: word(i) } : { content: word(i) }, null);
    const fn = i === 0 ? { name: c.toolCall, arguments: TOOL_ARGS[i] } : { arguments: TOOL_ARGS[i] };
    const call = { index: 0, ...(i === 0 ? { id: `call_${c.id}`, type: "function" } : {}), function: fn };
    return event(
      i === 0 ? { role: "assistant", content: null, tool_calls: [call] } : { tool_calls: [call] },
      null,
    );
  };
  let tail = event({}, c.toolCall ? "tool_calls" : c.finish);
  if (includeUsage) {
    tail += `data: ${JSON.stringify({ id: `chatcmpl-${c.id}`, object: "chat.completion.chunk", created: c.created, model: c.model, choices: [], usage: { prompt_tokens: c.promptTokens, completion_tokens: chunks, total_tokens: c.promptTokens + chunks } })}\n\n`;
  }
  return { head: "", chunks, chunk, tail: `${tail}data: [DONE]\n\n` };
}

const ANTHROPIC_STOP = { stop: "end_turn", length: "max_tokens" } as const;

export function anthropicMessage(c: Completion) {
  const content = c.toolCall
    ? [
        {
          type: "tool_use",
          id: `toolu_${c.id}`,
          name: c.toolCall,
          input: JSON.parse(TOOL_ARGS.join("")) as unknown,
        },
      ]
    : [{ type: "text", text: text(c) }];
  return {
    id: `msg_${c.id}`,
    type: "message",
    role: "assistant",
    model: c.model,
    content,
    stop_reason: c.toolCall ? "tool_use" : ANTHROPIC_STOP[c.finish],
    stop_sequence: null,
    usage: { input_tokens: c.promptTokens, output_tokens: c.toolCall ? TOOL_ARGS.length : c.n },
  };
}

/** The Messages API event sequence (https://docs.anthropic.com/en/api/messages-streaming). */
export function anthropicStream(c: Completion): Wire {
  const event = (type: string, data: object) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  const chunks = c.toolCall ? TOOL_ARGS.length : c.n;
  const head =
    event("message_start", {
      message: {
        id: `msg_${c.id}`,
        type: "message",
        role: "assistant",
        model: c.model,
        content: [],
        stop_reason: null,
        usage: { input_tokens: c.promptTokens, output_tokens: 1 },
      },
    }) +
    event("content_block_start", {
      index: 0,
      content_block: c.toolCall
        ? { type: "tool_use", id: `toolu_${c.id}`, name: c.toolCall, input: {} }
        : { type: "text", text: "" },
    }) +
    event("ping", {});
  const chunk = (i: number) =>
    event("content_block_delta", {
      index: 0,
      delta: c.toolCall
        ? { type: "input_json_delta", partial_json: TOOL_ARGS[i] }
        : { type: "text_delta", text: word(i) },
    });
  const tail =
    event("content_block_stop", { index: 0 }) +
    event("message_delta", {
      delta: { stop_reason: c.toolCall ? "tool_use" : ANTHROPIC_STOP[c.finish], stop_sequence: null },
      usage: { output_tokens: chunks },
    }) +
    event("message_stop", {});
  return { head, chunks, chunk, tail };
}
