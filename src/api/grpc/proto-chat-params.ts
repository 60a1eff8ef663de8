/**
 * What a gRPC `ChatRequest` carries beyond its core fields, in the internal request model:
 * message content parts (bytes → base64) and the optional parameters by their OpenAI names
 * (routing/parameters.ts), so both APIs reach the router alike. Only what is particular to the
 * proto is checked here (content beside parts, enum values, a schema that is not JSON, fields
 * that only one response-format type takes); values are validated once, for both APIs, by
 * `validateRouteRequest`, whose OpenAI field paths {@link protoFieldPath} turns into the proto's.
 */
import { check, InvalidFieldError, toBase64 } from "../../encoding/index.js";
import {
  AudioFormat,
  type ChatMessage,
  type ChatRequest,
  ImageDetail,
  PromptCacheRetention,
  type ContentPart as ProtoContentPart,
  ReasoningEffort,
  ReasoningSummary,
  ResponseFormatType,
  ServiceTier,
  Verbosity,
} from "../../gen/sovereign/v1/router_pb.js";
import type { ContentPart, MediaSource } from "../../upstream/index.js";

/** Proto enum value → OpenAI string; UNSPECIFIED (absent) has no entry and maps to nothing. */
type EnumNames = Readonly<Record<number, string>>;

const DETAIL: EnumNames = {
  [ImageDetail.AUTO]: "auto",
  [ImageDetail.LOW]: "low",
  [ImageDetail.HIGH]: "high",
};
const AUDIO: EnumNames = { [AudioFormat.WAV]: "wav", [AudioFormat.MP3]: "mp3" };
const EFFORT: EnumNames = {
  [ReasoningEffort.NONE]: "none",
  [ReasoningEffort.MINIMAL]: "minimal",
  [ReasoningEffort.LOW]: "low",
  [ReasoningEffort.MEDIUM]: "medium",
  [ReasoningEffort.HIGH]: "high",
  [ReasoningEffort.XHIGH]: "xhigh",
};
const SUMMARY: EnumNames = {
  [ReasoningSummary.AUTO]: "auto",
  [ReasoningSummary.CONCISE]: "concise",
  [ReasoningSummary.DETAILED]: "detailed",
};
const VERBOSITY: EnumNames = {
  [Verbosity.LOW]: "low",
  [Verbosity.MEDIUM]: "medium",
  [Verbosity.HIGH]: "high",
};
const TIER: EnumNames = {
  [ServiceTier.AUTO]: "auto",
  [ServiceTier.DEFAULT]: "default",
  [ServiceTier.FLEX]: "flex",
  [ServiceTier.SCALE]: "scale",
  [ServiceTier.PRIORITY]: "priority",
};
const CACHE_RETENTION: EnumNames = {
  [PromptCacheRetention.IN_MEMORY]: "in_memory",
  [PromptCacheRetention.HOURS_24]: "24h",
};

/** The OpenAI string of a set enum field; undefined when UNSPECIFIED; a value we do not know is refused. */
function enumName(value: number, names: EnumNames, field: string): string | undefined {
  if (value === 0) return undefined;
  const name = names[value];
  check(name !== undefined, field, `must be one of ${Object.values(names).join(", ")}`);
  return name;
}

function part(p: ProtoContentPart, f: string): ContentPart {
  switch (p.part.case) {
    case "text":
      return { type: "text", text: p.part.value };
    case "image": {
      const img = p.part.value;
      let source: MediaSource;
      if (img.source.case === "url") {
        check(img.mediaType === "", `${f}.image.media_type`, "is only for data");
        source = { kind: "url", url: img.source.value };
      } else {
        check(img.source.case === "data", `${f}.image`, "needs url or data");
        check(img.mediaType !== "", `${f}.image.media_type`, "is required with data");
        source = { kind: "base64", mediaType: img.mediaType, data: toBase64(img.source.value) };
      }
      const detail = enumName(img.detail, DETAIL, `${f}.image.detail`) as "auto" | "low" | "high" | undefined;
      return { type: "image", source, ...(detail ? { detail } : {}) };
    }
    case "audio": {
      const a = p.part.value;
      const format = enumName(a.format, AUDIO, `${f}.audio.format`) as "wav" | "mp3" | undefined;
      check(format !== undefined, `${f}.audio.format`, "is required (wav or mp3)");
      return { type: "audio", data: toBase64(a.data), format };
    }
    case "file": {
      const file = p.part.value;
      check(file.mediaType !== "", `${f}.file.media_type`, "is required");
      return {
        type: "file",
        source: { kind: "base64", mediaType: file.mediaType, data: toBase64(file.data) },
        ...(file.filename ? { filename: file.filename } : {}),
      };
    }
    default:
      throw new InvalidFieldError(f, "must be text, image, audio or file");
  }
}

/** A message's content: `content`, or its parts (then `content` must be empty). */
export function protoContent(msg: ChatMessage, field: string): string | ContentPart[] {
  if (msg.parts.length === 0) return msg.content;
  check(msg.content === "", `${field}.content`, "must be empty when parts is set");
  return msg.parts.map((p, j) => part(p, `${field}.parts[${j}]`));
}

function responseFormat(m: ChatRequest): unknown {
  const rf = m.responseFormat;
  if (rf === undefined) return undefined;
  const schemaFields =
    rf.name !== "" || rf.description !== "" || rf.schemaJson !== "" || rf.strict !== undefined;
  switch (rf.type) {
    case ResponseFormatType.TEXT:
    case ResponseFormatType.JSON_OBJECT:
      check(
        !schemaFields,
        "response_format",
        "name, description, schema_json and strict are only for json_schema",
      );
      return { type: rf.type === ResponseFormatType.TEXT ? "text" : "json_object" };
    case ResponseFormatType.JSON_SCHEMA: {
      let schema: unknown;
      if (rf.schemaJson !== "") {
        try {
          schema = JSON.parse(rf.schemaJson);
        } catch {
          throw new InvalidFieldError("response_format.schema_json", "must be JSON");
        }
      }
      return {
        type: "json_schema",
        json_schema: {
          name: rf.name,
          ...(rf.description ? { description: rf.description } : {}),
          ...(schema === undefined ? {} : { schema }),
          ...(rf.strict === undefined ? {} : { strict: rf.strict }),
        },
      };
    }
    default:
      throw new InvalidFieldError("response_format.type", "must be text, json_object or json_schema");
  }
}

/**
 * The optional parameters of `m` by their OpenAI names (undefined when it has none).
 * `maxTokens` is the request's limit: `use_max_completion_tokens` sends it under OpenAI's
 * newer name, which the router's `max_completion_tokens` param asks for.
 */
export function protoParams(m: ChatRequest): Record<string, unknown> | undefined {
  // Only the keys that are set: an object built whole and then thinned with `delete` turns
  // into a slow dictionary for everything that reads it after.
  const out: Record<string, unknown> = {};
  put(out, "response_format", responseFormat(m));
  put(out, "logprobs", m.logprobs);
  put(out, "top_logprobs", m.topLogprobs);
  put(out, "n", m.n);
  put(out, "presence_penalty", m.presencePenalty);
  put(out, "frequency_penalty", m.frequencyPenalty);
  put(out, "logit_bias", Object.keys(m.logitBias).length > 0 ? { ...m.logitBias } : undefined);
  put(out, "parallel_tool_calls", m.parallelToolCalls);
  put(out, "reasoning_effort", enumName(m.reasoningEffort, EFFORT, "reasoning_effort"));
  put(out, "reasoning_summary", enumName(m.reasoningSummary, SUMMARY, "reasoning_summary"));
  put(out, "verbosity", enumName(m.verbosity, VERBOSITY, "verbosity"));
  put(out, "user", m.user || undefined);
  put(out, "safety_identifier", m.safetyIdentifier || undefined);
  put(out, "service_tier", enumName(m.serviceTier, TIER, "service_tier"));
  put(out, "prediction", m.prediction ? { type: "content", content: m.prediction } : undefined);
  put(out, "store", m.store);
  put(out, "prompt_cache_key", m.promptCacheKey || undefined);
  put(
    out,
    "prompt_cache_retention",
    enumName(m.promptCacheRetention, CACHE_RETENTION, "prompt_cache_retention"),
  );
  put(out, "top_k", m.topK);
  put(out, "min_p", m.minP);
  put(out, "top_a", m.topA);
  put(out, "repetition_penalty", m.repetitionPenalty);
  if (m.useMaxCompletionTokens) {
    check(m.maxTokens !== undefined, "use_max_completion_tokens", "needs max_tokens");
    out.max_completion_tokens = m.maxTokens;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function put(out: Record<string, unknown>, k: string, v: unknown): void {
  if (v !== undefined) out[k] = v;
}

/** OpenAI field-path pieces → the proto's, for errors of the shared validator. */
const RENAMES: readonly [RegExp, string][] = [
  [/^(tools\[\d+\])\.function\.name/, "$1.function_name"],
  [/^(tools\[\d+\])\.function\.description/, "$1.description"],
  [/^(tools\[\d+\])\.function\.parameters/, "$1.parameters_json"],
  [/^(messages\[\d+\]\.tool_calls\[\d+\])\.function\.name/, "$1.function_name"],
  [/^(messages\[\d+\]\.tool_calls\[\d+\])\.function\.arguments/, "$1.function_arguments"],
  [/^response_format\.json_schema\.schema/, "response_format.schema_json"],
  [/^response_format\.json_schema\.?/, "response_format."],
  [/^prediction\.content/, "prediction"],
  [/^max_completion_tokens/, "max_tokens"],
  [/^metadata\b/, "labels"],
];

/**
 * The proto's name for a field the shared validator names the OpenAI way: a message's content
 * given as parts is `messages[i].parts[…]`, a tool's name `tools[i].function_name`, and so on.
 */
export function protoFieldPath(field: string, m: ChatRequest): string {
  const content = /^messages\[(\d+)\]\.content(\[\d+\])?/.exec(field);
  if (content) {
    const msg = m.messages[Number(content[1])];
    if (msg && msg.parts.length > 0) return `messages[${content[1]}].parts${content[2] ?? ""}`;
    return field;
  }
  for (const [re, to] of RENAMES) if (re.test(field)) return field.replace(re, to).replace(/\.$/, "");
  return field;
}
