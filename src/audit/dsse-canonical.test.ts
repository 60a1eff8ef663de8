import { describe, expect, it } from "vitest";
import { canonicalize } from "../encoding/index.js";
import { canonicalEnvelope, type DsseEnvelope, pae, RECORD_PAYLOAD_TYPE } from "./dsse.js";

const encoder = new TextEncoder();

/** PAE as DSSE's protocol.md spells it, built from scratch each time. */
function referencePae(type: string, body: Uint8Array): Uint8Array {
  const t = encoder.encode(type);
  return Buffer.concat([encoder.encode(`DSSEv1 ${t.length} `), t, encoder.encode(` ${body.length} `), body]);
}

const STRINGS = ["", "k", "abc+/=", 'quote " and \\ backslash', "ctl \u0001\n\t", "é€😀", "\ud800 lone"];

describe("canonicalEnvelope", () => {
  it("is canonicalize's text for envelopes of one, two and no signatures, any strings", () => {
    for (const a of STRINGS)
      for (const b of STRINGS) {
        const envelopes: DsseEnvelope[] = [
          { payloadType: a, payload: b, signatures: [{ keyid: b, sig: a }] },
          {
            payloadType: RECORD_PAYLOAD_TYPE,
            payload: Buffer.from(a + b).toString("base64"),
            signatures: [
              { keyid: a, sig: b },
              { keyid: b, sig: a },
            ],
          },
          { payloadType: b, payload: a, signatures: [] },
        ];
        for (const e of envelopes) expect(canonicalEnvelope(e)).toBe(canonicalize(e));
      }
  });
});

describe("pae", () => {
  it("gives the bytes of the DSSE definition, for the same type again and for other types", () => {
    for (const type of [
      RECORD_PAYLOAD_TYPE,
      RECORD_PAYLOAD_TYPE,
      "text/plain",
      "é€",
      "",
      RECORD_PAYLOAD_TYPE,
    ])
      for (const body of ["", "{}", "x".repeat(1500), "é"]) {
        const bytes = encoder.encode(body);
        expect(Buffer.from(pae(type, bytes)).equals(Buffer.from(referencePae(type, bytes)))).toBe(true);
      }
  });
});
