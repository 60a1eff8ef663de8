import { describe, expect, it } from "vitest";
import { normalizeOrigin, OriginError } from "./origin.js";

describe("normalizeOrigin", () => {
  it("writes default ports, lower-cases scheme and host, drops path, query and userinfo", () => {
    expect(normalizeOrigin("https://api.openai.com/v1")).toBe("https://api.openai.com:443");
    expect(normalizeOrigin("HTTPS://API.OpenAI.com:443/v1?x=1")).toBe("https://api.openai.com:443");
    expect(normalizeOrigin("http://127.0.0.1/v1")).toBe("http://127.0.0.1:80");
    expect(normalizeOrigin("http://127.0.0.1:8089/sim-eu/v1")).toBe("http://127.0.0.1:8089");
    expect(normalizeOrigin("http://u:p@host.example:8080/")).toBe("http://host.example:8080");
    expect(normalizeOrigin("http://[::1]:9/")).toBe("http://[::1]:9");
    expect(normalizeOrigin("https://bücher.example")).toBe("https://xn--bcher-kva.example:443");
  });

  it("keeps different ports, schemes and hosts apart", () => {
    const a = normalizeOrigin("https://api.example.com");
    expect(normalizeOrigin("http://api.example.com")).not.toBe(a);
    expect(normalizeOrigin("https://api.example.com:8443")).not.toBe(a);
    expect(normalizeOrigin("https://api.example.com.evil.example")).not.toBe(a);
  });

  it("refuses what is not an http(s) URL", () => {
    expect(() => normalizeOrigin("api.example.com")).toThrow(OriginError);
    expect(() => normalizeOrigin("ftp://api.example.com")).toThrow(/http or https/);
    expect(() => normalizeOrigin("file:///etc/passwd")).toThrow(OriginError);
  });
});
