import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { JournalError } from "../../audit/index.js";
import { toConnectError } from "./errors.js";

describe("toConnectError: the audit journal", () => {
  it("a backlog the database does not take → Unavailable, naming why (never Internal)", () => {
    const err = toConnectError(
      new JournalError("audit journal: the database does not take its records (disk full); retrying"),
    );
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toBe(
      "audit journal: the database does not take its records (disk full); retrying",
    );
  });
});
