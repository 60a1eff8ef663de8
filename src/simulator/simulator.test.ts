import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Simulator, startSimulator } from "./simulator.js";

/**
 * The simulator takes what the router now sends (content parts, parameters by their OpenAI
 * names, `max_completion_tokens`) without failing; it honours the limit under either name and
 * acts on nothing else its catalog (catalog/simulator.yaml) does not declare.
 */
describe("simulator: the full Chat Completions request", () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator();
  });
  afterAll(async () => sim?.close());

  const post = (body: Record<string, unknown>) =>
    fetch(`${sim.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  it("content parts and other parameters are accepted; max_completion_tokens limits like max_tokens", async () => {
    const res = await post({
      model: "sim",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "describe" },
            { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
            { type: "input_audio", input_audio: { data: "UklGRg==", format: "wav" } },
            { type: "file", file: { file_data: "data:application/pdf;base64,JVBERi0=", filename: "a.pdf" } },
          ],
        },
      ],
      max_completion_tokens: 3,
      presence_penalty: 1,
      response_format: { type: "json_object" },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      choices: { finish_reason: string }[];
      usage: { completion_tokens: number };
    };
    expect(body.usage.completion_tokens).toBe(3);
    expect(body.choices[0]!.finish_reason).toBe("length");
  });
});
