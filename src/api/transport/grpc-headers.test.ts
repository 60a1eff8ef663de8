import { describe, expect, it } from "vitest";
import { CallHeaders } from "./grpc-headers.js";

/** Everything a Headers shows: get/has of some names, iteration, forEach, getSetCookie. */
function view(h: Headers) {
  const names = ["content-type", "X-Sovr-Endpoint", "set-cookie", "grpc-status", "absent"];
  const seen: [string, string][] = [];
  h.forEach((v, k) => seen.push([k, v]));
  return {
    get: names.map((n) => h.get(n)),
    has: names.map((n) => h.has(n)),
    entries: [...h],
    keys: [...h.keys()],
    values: [...h.values()],
    forEach: seen,
    cookies: h.getSetCookie(),
  };
}

describe("CallHeaders", () => {
  it("behaves as Headers through the same calls", () => {
    const steps = (h: Headers) => {
      h.set("Grpc-Status", "0");
      h.append("x-sovr-endpoint", " a ");
      h.append("X-SOVR-ENDPOINT", "b\t");
      h.append("set-cookie", "a=1");
      h.append("set-cookie", "b=2");
      h.set("content-type", "application/grpc+proto");
      h.delete("grpc-status");
      h.set("grpc-status", "3");
      return view(h);
    };
    expect(steps(new CallHeaders())).toEqual(steps(new Headers()));
    const init = { "Content-Type": "application/grpc", "x-a": "1" };
    expect(view(new CallHeaders(init))).toEqual(view(new Headers(init)));
  });

  it("refuses what Headers refuses", () => {
    for (const [k, v] of [
      ["bad name", "x"],
      ["x-a", "line\nbreak"],
      ["x-a", "nul\0"],
      ["", "x"],
    ] as const) {
      expect(() => new Headers().set(k, v)).toThrow(TypeError);
      expect(() => new CallHeaders().set(k, v)).toThrow(TypeError);
      expect(() => new CallHeaders().append(k, v)).toThrow(TypeError);
    }
  });

  it("takes a request's headers without its pseudo-headers, repeated ones joined", () => {
    const h = CallHeaders.fromIncoming({
      ":path": "/x",
      ":method": "POST",
      authorization: "Bearer k",
      "x-many": ["1", " 2"],
      "set-cookie": ["a=1", "b=2"],
    });
    const real = new Headers();
    real.append("authorization", "Bearer k");
    real.append("x-many", "1");
    real.append("x-many", " 2");
    real.append("set-cookie", "a=1");
    real.append("set-cookie", "b=2");
    expect(view(h)).toEqual(view(real));
    expect([...h.keys()]).not.toContain(":path");
  });
});
