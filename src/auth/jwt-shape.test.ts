import { describe, expect, it } from "vitest";
import { looksLikeJwt } from "./jwt-verifier.js";

describe("looksLikeJwt", () => {
  it("takes JWS compact serialisations, also with an empty signature (alg: none)", () => {
    expect(looksLikeJwt("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_")).toBe(true);
    expect(looksLikeJwt("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")).toBe(true);
  });

  it("leaves API keys and other bearers to the API key check", () => {
    expect(looksLikeJwt("sovr_0123abcd_s3cr3t-With_Underscores")).toBe(false);
    expect(looksLikeJwt("")).toBe(false);
    expect(looksLikeJwt("a.b")).toBe(false);
    expect(looksLikeJwt("a.b.c.d")).toBe(false);
    expect(looksLikeJwt("a..c")).toBe(false);
    expect(looksLikeJwt("a.b c.d")).toBe(false);
  });
});
