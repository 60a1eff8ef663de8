import { describe, expect, it } from "vitest";
import { loadConfig } from "./config.js";

const base = { SOVR_DATA_DIR: "/tmp/sovr-witnesses-config" };
const vkey = "auditor.example/w+01020304+BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

describe("SOVR_WITNESSES", () => {
  it("defaults to no witnesses and parses a JSON list of {name, url, vkey}", () => {
    expect(loadConfig(base).audit.witnesses).toEqual([]);
    const w = [{ name: "auditor.example/w", url: "http://127.0.0.1:7380", vkey }];
    expect(loadConfig({ ...base, SOVR_WITNESSES: JSON.stringify(w) }).audit.witnesses).toEqual(w);
  });

  it("refuses what it cannot honour, naming the variable", () => {
    for (const bad of [
      "not json",
      '[{"name":"w","url":"nope","vkey":"x"}]',
      '[{"name":"w","url":"http://x","vkey":"x","extra":1}]',
    ])
      expect(() => loadConfig({ ...base, SOVR_WITNESSES: bad })).toThrow(/SOVR_WITNESSES/);
  });
});
