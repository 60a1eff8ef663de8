import { describe, expect, it } from "vitest";
import { sanUris } from "./peer-certificate.js";

describe("sanUris", () => {
  it("reads URIs from Node's subjectaltname, quoted ones decoded, other kinds skipped", () => {
    expect(sanUris(undefined)).toEqual([]);
    expect(sanUris("DNS:localhost, IP Address:127.0.0.1")).toEqual([]);
    expect(sanUris("URI:spiffe://td/ns/a/sa/b, DNS:x, URI:https://e.example/p")).toEqual([
      "spiffe://td/ns/a/sa/b",
      "https://e.example/p",
    ]);
    expect(sanUris('DNS:x, URI:"spiffe://td/a,b"')).toEqual(["spiffe://td/a,b"]);
  });
});
