import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { LocalSaturatedError } from "../../routing/index.js";
import { toConnectError } from "./errors.js";

describe("toConnectError: local saturation", () => {
  it("every local slot busy, nothing else allowed → ResourceExhausted (HTTP 429) naming local_saturated", () => {
    const err = toConnectError(
      new LocalSaturatedError([{ endpointId: "local/smollm2", errorClass: "local_saturated" }], "dec-1"),
    );
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toBe("local_saturated: every local slot is busy (local/smollm2); retry later");
    expect(err.metadata.get("x-sovr-decision-id")).toBe("dec-1");
  });
});
