import type { InternalErrorLog } from "../grpc/index.js";
import { toOpenAIError } from "../openai/index.js";

/**
 * Errors in Anthropic's shape (https://docs.anthropic.com/en/api/errors):
 * `{type: "error", error: {type, message}}`, plus `param` naming the field at fault and our
 * `code` / `metadata` (e.g. no_eligible_endpoint with each candidate's exclusions) where they
 * apply. Status and message come from the one mapping the OpenAI-compatible API uses
 * (toOpenAIError, itself on top of toConnectError); only the type names differ.
 */
export interface AnthropicError {
  status: number;
  body: {
    type: "error";
    error: { type: string; message: string; param?: string; code?: string; metadata?: unknown };
  };
  decisionId?: string;
  retryAfter?: string;
}

/** OpenAI error type → Anthropic's, where they differ (5xx: api_error; 504: timeout_error). */
const TYPE: Record<string, string> = {
  service_unavailable: "api_error",
  cancelled: "api_error",
  timeout_error: "timeout_error",
};

export function toAnthropicError(
  err: unknown,
  onInternal?: InternalErrorLog,
  where = "POST /v1/messages",
): AnthropicError {
  const o = toOpenAIError(err, onInternal, where);
  const e = o.body.error;
  const type = o.status >= 500 ? (TYPE[e.type] ?? "api_error") : (TYPE[e.type] ?? e.type);
  return {
    status: o.status,
    decisionId: o.decisionId,
    ...(o.retryAfter ? { retryAfter: o.retryAfter } : {}),
    body: {
      type: "error",
      error: {
        type,
        message: e.message,
        ...(e.param ? { param: e.param } : {}),
        ...(e.code ? { code: e.code } : {}),
        ...(e.metadata ? { metadata: e.metadata } : {}),
      },
    },
  };
}
