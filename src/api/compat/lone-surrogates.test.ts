import { describe, expect, it } from "vitest";
import { fixFrames, replaceLoneSurrogateEscapes } from "./lone-surrogates.js";

/** A surrogate code unit without its pair (with the u flag, a pair is one code point). */
const LONE = /\p{Surrogate}/u;

function fixed(json: string): string {
  const buf = Buffer.from(json, "latin1");
  replaceLoneSurrogateEscapes(buf, 0, buf.length);
  return buf.toString("latin1");
}

describe("replaceLoneSurrogateEscapes", () => {
  it("replaces lone high and low surrogate escapes, in any hex case", () => {
    expect(fixed(String.raw`{"a":"\ud800"}`)).toBe(String.raw`{"a":"\ufffd"}`);
    expect(fixed(String.raw`{"a":"x\uDFFFy"}`)).toBe(String.raw`{"a":"x\ufffdy"}`);
    expect(fixed(String.raw`{"\udbff":1}`)).toBe(String.raw`{"\ufffd":1}`);
    expect(fixed(String.raw`["\udc00\ud800"]`)).toBe(String.raw`["\ufffd\ufffd"]`);
    expect(fixed(String.raw`["\ud800\u0041"]`)).toBe(String.raw`["\ufffd\u0041"]`);
    expect(fixed(String.raw`["\ud800"`)).toBe(String.raw`["\ufffd"`);
  });

  it("leaves pairs, other escapes, escaped backslashes and text outside strings alone", () => {
    for (const ok of [
      String.raw`{"a":"\ud83d\ude00"}`,
      String.raw`{"a":"\\ud800"}`,
      String.raw`{"a":"\"\ud83d\ude00\\"}`,
      String.raw`{"a":"\u00e9\n\t\u0000"}`,
      String.raw`{"a":"\ud8"}`,
      String.raw`{"a":"\uzzzz"}`,
      String.raw`{"a":1} \ud800`,
    ]) {
      expect(fixed(ok)).toBe(ok);
    }
    expect(JSON.parse(fixed(String.raw`{"a":"\\\ud800"}`))).toEqual({ a: "\\\ufffd" });
  });

  it("every result parses to well-formed text of the same length", () => {
    const parts = ["\\ud800", "\\udc00", "\\ud83d\\ude00", "\\\\", '\\"', "a", "\\u0041", "é"];
    let state = 7;
    const rand = () => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state / 2 ** 31;
    };
    for (let n = 0; n < 2000; n++) {
      let s = "";
      for (let k = Math.floor(rand() * 8); k > 0; k--) s += parts[Math.floor(rand() * parts.length)];
      const json = `{"${s}":"${s}"}`;
      const out = fixed(json);
      expect(out.length).toBe(json.length);
      const [key, value] = Object.entries(JSON.parse(out) as Record<string, string>)[0]!;
      expect(LONE.test(key) || LONE.test(value)).toBe(false);
    }
  });
});

describe("fixFrames", () => {
  it("fixes each message frame, skips trailer frames, and trusts no header byte as JSON", () => {
    const frame = (flag: number, text: string) => {
      const body = Buffer.from(text, "latin1");
      const head = Buffer.alloc(5);
      head[0] = flag;
      head.writeUInt32BE(body.length, 1);
      return Buffer.concat([head, body]);
    };
    // 0x22 ('"') as a length byte must not open a string.
    const first = String.raw`{"a":"\ud800","pad":"0123456789a"}`;
    expect(Buffer.from(first).length).toBe(0x22);
    const buf = Buffer.concat([
      frame(0, first),
      frame(0x80, String.raw`"\ud800"`),
      frame(0, String.raw`["\udfff"]`),
    ]);
    fixFrames(buf);
    expect(buf.toString("latin1")).toContain(String.raw`{"a":"\ufffd"`);
    expect(buf.toString("latin1")).toContain(String.raw`"\ud800"`);
    expect(buf.toString("latin1")).toContain(String.raw`["\ufffd"]`);
  });
});
