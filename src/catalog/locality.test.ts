import { describe, expect, it } from "vitest";
import { isLocalEndpoint, isLocalHost } from "./locality.js";

const openai = (baseUrl: string) => ({ api: "openai", baseUrl });

describe("isLocalEndpoint", () => {
  it("the in-process runtime is local whatever its base_url", () => {
    expect(isLocalEndpoint({ api: "local", baseUrl: "local://models/smollm2" })).toBe(true);
  });

  it.each([
    "http://127.0.0.1:11434/v1",
    "http://127.8.9.10/v1",
    "http://localhost:8000/v1",
    "http://LOCALHOST:8000/v1",
    "http://vllm.localhost/v1",
    "http://[::1]:8000/v1",
    "http://10.1.2.3/v1",
    "http://172.16.0.1/v1",
    "http://172.31.255.255/v1",
    "http://192.168.1.20:1234/v1",
    "http://[fd12:3456::1]/v1",
    "http://[fc00::2]/v1",
    "http://[::ffff:127.0.0.1]/v1",
    "http://[::ffff:10.0.0.1]/v1",
  ])("an OpenAI-compatible endpoint at %s is local", (url) => {
    expect(isLocalEndpoint(openai(url))).toBe(true);
  });

  it.each([
    "https://api.openai.com/v1",
    "http://172.32.0.1/v1",
    "http://172.15.0.1/v1",
    "http://192.169.0.1/v1",
    "http://11.0.0.1/v1",
    "http://8.8.8.8/v1",
    "http://[2001:db8::1]/v1",
    "http://[fe80::1]/v1",
    "http://[::ffff:8.8.8.8]/v1",
    "http://localhost.example.com/v1",
    "http://127.0.0.1.nip.io/v1",
    "not a url",
  ])("an OpenAI-compatible endpoint at %s is remote", (url) => {
    expect(isLocalEndpoint(openai(url))).toBe(false);
  });

  it("another upstream API on loopback is not a local runtime", () => {
    expect(isLocalEndpoint({ api: "anthropic", baseUrl: "http://127.0.0.1:9000/v1" })).toBe(false);
  });

  it("host names are taken as written, never resolved", () => {
    expect(isLocalHost("[::1]")).toBe(true);
    expect(isLocalHost("my-gpu-box")).toBe(false);
  });
});
