import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestApp, type TestApp, type TestAppOptions } from "./app.js";
import { type RecordingUpstream, startRecordingUpstream } from "./recording-upstream.js";

/**
 * Three endpoints of the model `rec/chat`, all on one {@link RecordingUpstream} (the path names
 * the endpoint), with the same clean data policy so that only parameters and modalities tell
 * them apart:
 * - `rec-full/chat`: every parameter (and the pass-through `transforms`), every input
 *   modality, image URLs, a cached-prompt price;
 * - `rec-vision/chat`: text and images (inline only), `max_tokens` and `temperature`;
 * - `rec-text/chat`: text only, `max_tokens` and `temperature`; the cheapest.
 */
export const RECORDING_CATALOG = `
provider: rec-full
name: Recording Full
headquarters: FR
policy: { retention_days: 0, trains_on_data: false, caching: none, residency: { region: eu, country: FR } }
endpoints:
  - id: rec-full/chat
    model: rec/chat
    upstream_model: full-model
    api: openai
    base_url: \${REC_UPSTREAM_URL}/rec-full/v1
    pricing: { prompt: 2, completion: 8, cached_prompt: 0.5 }
    context_length: 131072
    input_modalities: [text, image, audio, file]
    supported_parameters: [max_tokens, temperature, top_p, stop, seed, tools, tool_choice, response_format,
      structured_outputs, logprobs, top_logprobs, n, presence_penalty, frequency_penalty, logit_bias,
      parallel_tool_calls, reasoning_effort, verbosity, user, safety_identifier, service_tier, prediction,
      top_k, min_p, top_a, repetition_penalty, store, prompt_cache_key, prompt_cache_retention, image_urls,
      transforms]
---
provider: rec-vision
name: Recording Vision
headquarters: FR
policy: { retention_days: 0, trains_on_data: false, caching: none, residency: { region: eu, country: FR } }
endpoints:
  - id: rec-vision/chat
    model: rec/chat
    api: openai
    base_url: \${REC_UPSTREAM_URL}/rec-vision/v1
    pricing: { prompt: 1, completion: 1 }
    context_length: 32768
    input_modalities: [text, image]
    supported_parameters: [max_tokens, temperature]
---
provider: rec-text
name: Recording Text
headquarters: FR
policy: { retention_days: 0, trains_on_data: false, caching: none, residency: { region: eu, country: FR } }
endpoints:
  - id: rec-text/chat
    model: rec/chat
    api: openai
    base_url: \${REC_UPSTREAM_URL}/rec-text/v1
    pricing: { prompt: 0.1, completion: 0.1 }
    context_length: 32768
    supported_parameters: [max_tokens, temperature]
`;

export interface RecordingApp {
  t: TestApp;
  upstream: RecordingUpstream;
  close(): Promise<void>;
}

/** The app with {@link RECORDING_CATALOG} (and nothing else) in front of a recording upstream. */
export async function startRecordingApp(opts: TestAppOptions = {}): Promise<RecordingApp> {
  const upstream = await startRecordingUpstream();
  const dir = await mkdtemp(join(tmpdir(), "sovr-recording-catalog-"));
  await writeFile(join(dir, "recording.yaml"), RECORDING_CATALOG);
  try {
    const t = await startTestApp({
      catalogDir: dir,
      ...opts,
      env: {
        REC_UPSTREAM_URL: upstream.url,
        SOVR_CATALOG_URL_VARS: "REC_UPSTREAM_URL",
        SOVR_CATALOG_WATCH: "off",
        ...opts.env,
      },
    });
    return {
      t,
      upstream,
      async close() {
        await t.close();
        await upstream.close();
      },
    };
  } catch (err) {
    await upstream.close();
    throw err;
  }
}
