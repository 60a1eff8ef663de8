import { describe, expect, it } from "vitest";
import { summariseAllocations } from "../../bench/lib/alloc-profile.js";

const REPO = "/repo";
const frame = (functionName: string, url: string, lineNumber = 0) => ({ functionName, url, lineNumber });

describe("bench allocation profile summary", () => {
  it("counts bytes where they were made and, for this repository's functions, with everything they called", () => {
    const head = {
      callFrame: frame("(root)", ""),
      selfSize: 0,
      children: [
        {
          callFrame: frame("handle", "file:///repo/dist/api/http.js", 9),
          selfSize: 100,
          children: [
            {
              callFrame: frame("parse", "file:///repo/node_modules/lib/index.js", 1),
              selfSize: 300,
              children: [
                // Recursion: counted once for `handle`, not once per frame.
                { callFrame: frame("handle", "file:///repo/dist/api/http.js", 9), selfSize: 50 },
              ],
            },
            { callFrame: frame("sign", "file:///repo/dist/audit/sign.js", 4), selfSize: 200 },
          ],
        },
        { callFrame: frame("(garbage collector)", ""), selfSize: 0 },
        { callFrame: frame("tick", "node:internal/timers", 2), selfSize: 350 },
      ],
    };
    const s = summariseAllocations(head, REPO);
    expect(s.total_bytes).toBe(1000);
    expect(s.top_self).toEqual([
      { name: "tick node:internal/timers:3", bytes: 350, pct: 35 },
      { name: "parse lib/index.js:2", bytes: 300, pct: 30 },
      { name: "sign dist/audit/sign.js:5", bytes: 200, pct: 20 },
      { name: "handle dist/api/http.js:10", bytes: 150, pct: 15 },
      { name: "(root) (native):1", bytes: 0, pct: 0 },
      { name: "(garbage collector) (native):1", bytes: 0, pct: 0 },
    ]);
    expect(s.top_inclusive).toEqual([
      { name: "handle dist/api/http.js:10", bytes: 650, pct: 65 },
      { name: "sign dist/audit/sign.js:5", bytes: 200, pct: 20 },
    ]);
  });
});
