/**
 * Token-based rate limits (issue 17) at the one place every surface passes: the router. A call's
 * tokens are known only after it, so the limit is charged an ESTIMATE before the decision
 * (the input's estimated tokens plus `max_tokens`, or a configured default when the call sets
 * none) and corrected with the upstream's reported usage when the call ends. The gate itself (a
 * token bucket per key and tenant, or shared windows across replicas) lives with the other
 * limits in api/transport; routing only says how much and when.
 */
import type { Principal } from "../auth/index.js";
import type { EmbeddingOutcome } from "./embed.js";
import { Router, type RouterDeps, type RouterEvent } from "./router.js";
import type { RouteRequest } from "./types.js";

/** Who the tokens count against. Without a key (auth off) every call shares "anonymous". */
export interface TokenSubject {
  readonly keyId: string;
  readonly tenant: string;
}

/** A charge taken before the call; `settle` (once) replaces the estimate with what was used. */
export interface TokenCharge {
  settle(actualTokens: number): void;
}

/**
 * Charges `estimate` tokens to the subject's key and tenant, or throws the refusal the API maps
 * to ResourceExhausted / 429 (naming the limit, with Retry-After).
 */
export interface TokenGate {
  readonly enabled: boolean;
  charge(subject: TokenSubject, estimate: number): TokenCharge | Promise<TokenCharge>;
}

/** Characters per token of the input estimate (OpenAI's rule of thumb for English text). */
const CHARS_PER_TOKEN = 4;
/** Per message: role and separators, as chat templates add them. */
const MESSAGE_OVERHEAD = 4;
/** A non-text part (image, audio, file) counts as this many tokens before the call. */
const MEDIA_PART_TOKENS = 256;

/**
 * The tokens a call is charged before it runs: its input, estimated from the text length
 * (characters / 4, plus 4 per message, 256 per media part), and its output bound: `max_tokens`,
 * else `defaultMaxTokens`; embeddings produce no output tokens.
 */
export function estimateTokens(req: RouteRequest, defaultMaxTokens: number): number {
  let chars = 0;
  let media = 0;
  for (const m of req.messages) {
    if (typeof m.content === "string") chars += m.content.length;
    else
      for (const p of m.content) {
        if (p.type === "text") chars += p.text.length;
        else media++;
      }
    for (const t of m.tool_calls ?? []) chars += t.function.name.length + t.function.arguments.length;
  }
  const input =
    Math.ceil(chars / CHARS_PER_TOKEN) + MESSAGE_OVERHEAD * req.messages.length + MEDIA_PART_TOKENS * media;
  const output = req.operation === "embedding" ? 0 : (req.maxTokens ?? defaultMaxTokens);
  return input + output;
}

const subjectOf = (p: Principal): TokenSubject => ({ keyId: p.keyId || "anonymous", tenant: p.tenant });

/**
 * The router with token limits: charges the estimate before routing and settles after. What
 * a call is settled at: the upstream's reported input + output tokens; the estimate when an
 * endpoint answered but reported no usage (the caller left mid-stream, or the stream broke:
 * the upstream may have spent them); 0 when no endpoint answered (denied, or every attempt
 * failed before a token).
 */
export class TokenLimitedRouter extends Router {
  constructor(
    deps: RouterDeps,
    private readonly gate: TokenGate,
    private readonly defaultMaxTokens: number,
  ) {
    super(deps);
  }

  override async *stream(
    req: RouteRequest,
    principal: Principal,
    signal?: AbortSignal,
  ): AsyncGenerator<RouterEvent> {
    const estimate = estimateTokens(req, this.defaultMaxTokens);
    const charge = await this.gate.charge(subjectOf(principal), estimate);
    let answered = false;
    let used: number | undefined;
    try {
      for await (const ev of super.stream(req, principal, signal)) {
        if (ev.type === "route") answered = true;
        else if (ev.type === "finish") used = ev.usage.promptTokens + ev.usage.completionTokens;
        yield ev;
      }
    } finally {
      charge.settle(used ?? (answered ? estimate : 0));
    }
  }

  override async embed(
    req: RouteRequest,
    principal: Principal,
    signal?: AbortSignal,
  ): Promise<EmbeddingOutcome> {
    const estimate = estimateTokens(req, this.defaultMaxTokens);
    const charge = await this.gate.charge(subjectOf(principal), estimate);
    let used = 0;
    try {
      const out = await super.embed(req, principal, signal);
      used = out.usage.promptTokens + out.usage.completionTokens;
      return out;
    } finally {
      charge.settle(used);
    }
  }
}
