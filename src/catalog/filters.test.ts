import { describe, expect, it } from "vitest";
import { file } from "../../test/support/catalog-files.js";
import {
  buildSnapshot,
  decodePageToken,
  encodePageToken,
  filterEndpoints,
  isZeroDataRetention,
  PageTokenError,
  paginate,
  parseCatalogFiles,
} from "./index.js";

/** A catalog exercising every filter: policy at provider and endpoint level, and silence. */
const YAML = `provider: zed
name: Zed
headquarters: FR
policy: { retention_days: 0, caching: in_memory, residency: { region: eu, country: FR } }
endpoints:
  - { id: zed/a, model: m/one, api: openai, base_url: "https://z.example", pricing: { prompt: 1, completion: 1 }, context_length: 10 }
  - { id: zed/b, model: m/two, api: openai, base_url: "https://z.example", pricing: { prompt: 3, completion: 9 }, context_length: 10, policy: { caching: persistent } }
  - { id: zed/c, model: m/one, api: openai, base_url: "https://z.example", pricing: { prompt: 0.5, completion: 4 }, context_length: 10, residency: { region: us }, policy: { retention_days: 30 } }
---
provider: anon
name: Anon
headquarters: US
endpoints:
  - { id: anon/a, model: m/one, api: openai, base_url: "https://a.example", pricing: { prompt: 0, completion: 0 }, context_length: 10 }
`;

const snapshot = buildSnapshot(parseCatalogFiles([file("f.yaml", YAML)]));
const ids = (filter: Parameters<typeof filterEndpoints>[1]) =>
  filterEndpoints(snapshot.endpoints, filter).map((e) => e.id);

describe("filterEndpoints", () => {
  it("returns everything in id order without a filter", () => {
    expect(ids({})).toEqual(["anon/a", "zed/a", "zed/b", "zed/c"]);
  });

  it("filters by model and provider", () => {
    expect(ids({ model: "m/one" })).toEqual(["anon/a", "zed/a", "zed/c"]);
    expect(ids({ provider: "zed", model: "m/one" })).toEqual(["zed/a", "zed/c"]);
    expect(ids({ provider: "nobody" })).toEqual([]);
  });

  it("filters by effective region; unknown residency matches no region", () => {
    expect(ids({ region: "eu" })).toEqual(["zed/a", "zed/b"]);
    expect(ids({ region: "us" })).toEqual(["zed/c"]);
  });

  it("zdr-only keeps retention 0 without persistent caching, on effective values", () => {
    expect(ids({ zdrOnly: true })).toEqual(["zed/a"]);
    expect(ids({ zdrOnly: false })).toHaveLength(4);
    expect(isZeroDataRetention(snapshot.byId.get("anon/a")!)).toBe(false);
  });

  it("filters by max price per side", () => {
    expect(ids({ maxPrice: { prompt: 1 } })).toEqual(["anon/a", "zed/a", "zed/c"]);
    expect(ids({ maxPrice: { prompt: 1, completion: 1 } })).toEqual(["anon/a", "zed/a"]);
    expect(ids({ maxPrice: { completion: 0 } })).toEqual(["anon/a"]);
  });

  it("does not mutate its input", () => {
    const input = [...snapshot.endpoints].reverse();
    const before = input.map((e) => e.id);
    filterEndpoints(input, {});
    expect(input.map((e) => e.id)).toEqual(before);
  });
});

describe("pagination", () => {
  const items = ["a", "b", "c", "d", "e"];
  const rev = snapshot.revision;

  it("pages through all items with tokens and ends with an empty token", () => {
    const seen: string[] = [];
    let token = "";
    let pages = 0;
    do {
      const page = paginate(items, { pageSize: 2, pageToken: token, revision: rev, query: { model: "x" } });
      seen.push(...page.items);
      token = page.nextPageToken;
      pages++;
    } while (token !== "");
    expect(seen).toEqual(items);
    expect(pages).toBe(3);
  });

  it("uses a default page size and caps large ones", () => {
    const many = Array.from({ length: 1200 }, (_, i) => i);
    expect(paginate(many, { revision: rev }).items).toHaveLength(50);
    expect(paginate(many, { revision: rev, pageSize: 10_000 }).items).toHaveLength(500);
  });

  it("rejects a token from another revision", () => {
    const token = encodePageToken(2, "0".repeat(64));
    expect(() => paginate(items, { pageSize: 2, pageToken: token, revision: rev })).toThrow(PageTokenError);
    expect(() => decodePageToken(token, rev)).toThrow(/revision 000000000000/);
  });

  it("rejects a token issued for a different query", () => {
    const token = encodePageToken(2, rev, { model: "a" });
    expect(decodePageToken(token, rev, { model: "a" })).toBe(2);
    expect(() => decodePageToken(token, rev, { model: "b" })).toThrow(/different query/);
  });

  it("rejects malformed tokens and negative page sizes", () => {
    for (const token of ["not base64 json", Buffer.from('{"o":-1,"r":"x","q":"y"}').toString("base64url")]) {
      expect(() => decodePageToken(token, rev)).toThrow(/malformed/);
    }
    expect(() => paginate(items, { pageSize: -1, revision: rev })).toThrow(PageTokenError);
  });
});
