import { describe, expect, it } from "vitest";
import { withDeadline } from "../db/index.js";
import { retryUntilDurable } from "./durable-retry.js";

function uniqueViolation(decisionId: string): Error {
  return Object.assign(new Error("duplicate key value violates unique constraint"), {
    code: "23505",
    detail: `Key (decision_id, kind)=(${decisionId}, outcome) already exists.`,
  });
}

describe("retryUntilDurable", () => {
  it("waits for a commit that ran out of time instead of appending the record again", async () => {
    let appends = 0;
    let land!: () => void;
    const slowCommit = new Promise<void>((r) => {
      land = r;
    });
    const done = retryUntilDurable(
      () => {
        appends++;
        // The first attempt's commit outlives its deadline, then lands.
        return withDeadline(slowCommit, 1, "audit log commit");
      },
      60_000,
      () => {},
      "dec_a",
    );
    await new Promise((r) => setTimeout(r, 20));
    land();
    await done;
    expect(appends).toBe(1);
  });

  it("appends again when the commit that ran out of time failed after all", async () => {
    let appends = 0;
    await retryUntilDurable(
      () => {
        appends++;
        if (appends > 1) return Promise.resolve();
        const failing = new Promise<void>((_, reject) =>
          setTimeout(() => reject(new Error("connection lost")), 10),
        );
        return withDeadline(failing, 1, "audit log commit");
      },
      60_000,
      () => {},
      "dec_a",
    );
    expect(appends).toBe(2);
  });

  it("is done on a unique violation of its own row, and retries on a batch-mate's", async () => {
    let appends = 0;
    await retryUntilDurable(
      async () => {
        appends++;
        throw uniqueViolation("dec_a");
      },
      60_000,
      () => {},
      "dec_a",
    );
    expect(appends).toBe(1);

    appends = 0;
    await retryUntilDurable(
      async () => {
        appends++;
        // The batch this record rode in failed on another record's duplicate: not written.
        if (appends === 1) throw uniqueViolation("dec_b");
      },
      60_000,
      () => {},
      "dec_a",
    );
    expect(appends).toBe(2);
  });

  it("gives up after its budget with the last error", async () => {
    const err = new Error("connection lost");
    await expect(
      retryUntilDurable(
        () => Promise.reject(err),
        0,
        () => {},
        "dec_a",
      ),
    ).rejects.toBe(err);
  });
});
