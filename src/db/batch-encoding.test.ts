import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestDatabaseHandle, testDatabases } from "../../test/support/databases.js";
import { byteaArray, int8Array, textArray, timestamptzArray } from "./pg-binary.js";
import { preparedStatement } from "./prepared-statement.js";

// What the audit log's batch statement relies on: binary column arrays and a named statement.
const ECHO = preparedStatement(
  "sovr_test_echo",
  `select t, i, b, ts, ord from unnest($1::text[], $2::int8[], $3::bytea[], $4::timestamptz[])
     with ordinality as v(t, i, b, ts, ord) order by ord`,
);

const texts = ['{"a":"b\\\\c"}', "", null, "ünï€ode 🙂", 'quote " and , and {}', "NULL"];
const ints = [0, -1, null, 2 ** 53 - 1, 42, -(2 ** 40)];
const bytes = [new Uint8Array([0, 1, 255]), new Uint8Array(0), null, new Uint8Array(32).fill(7), null, null];
const times = [
  new Date("2026-11-22T00:00:00.123Z"),
  new Date("1999-12-31T23:59:59.999Z"),
  null,
  new Date(0),
  new Date("2000-01-01T00:00:00Z"),
  new Date("2100-06-01T12:00:00.001Z"),
];

describe.each(testDatabases)("binary column arrays through a prepared statement ($name)", (target) => {
  let h: TestDatabaseHandle;
  beforeAll(async () => {
    h = await target.open();
  });
  afterAll(async () => {
    await h?.close();
  });

  const run = () =>
    h.db.executeQuery<{ t: string | null; i: number | null; b: Uint8Array | null; ts: Date | null }>(
      ECHO.compile([textArray(texts), int8Array(ints), byteaArray(bytes), timestamptzArray(times)]),
    );

  it("round-trips text, int8, bytea and timestamptz elements, NULLs included", async () => {
    // Twice: the first run parses the named statement, the second only binds it.
    for (let k = 0; k < 2; k++) {
      const { rows } = await run();
      expect(rows.map((r) => r.t)).toEqual(texts);
      expect(rows.map((r) => (r.i === null ? null : Number(r.i)))).toEqual(ints);
      expect(rows.map((r) => (r.b === null ? null : Array.from(r.b)))).toEqual(
        bytes.map((b) => (b === null ? null : Array.from(b))),
      );
      expect(rows.map((r) => r.ts?.toISOString() ?? null)).toEqual(
        times.map((t) => t?.toISOString() ?? null),
      );
    }
  });

  it("takes a text element given as its UTF-8 bytes as that text", async () => {
    const mixed = texts.map((t, i) => (t !== null && i % 2 === 0 ? Buffer.from(t, "utf8") : t));
    expect(Buffer.compare(textArray(mixed), textArray(texts))).toBe(0);
    const { rows } = await h.db.executeQuery<{ t: string | null }>(
      ECHO.compile([textArray(mixed), int8Array(ints), byteaArray(bytes), timestamptzArray(times)]),
    );
    expect(rows.map((r) => r.t)).toEqual(texts);
  });

  it("an empty batch is an empty array; a failing execution leaves the statement usable", async () => {
    const empty = await h.db.executeQuery(
      ECHO.compile([textArray([]), int8Array([]), byteaArray([]), timestamptzArray([])]),
    );
    expect(empty.rows).toEqual([]);
    const bad = preparedStatement("sovr_test_fail", "select 1 / (cardinality($1::int8[]) - 1) as x");
    await expect(h.db.executeQuery(bad.compile([int8Array([5])]))).rejects.toThrow(/division by zero/);
    expect((await h.db.executeQuery<{ x: number }>(bad.compile([int8Array([5, 6])]))).rows).toEqual([
      { x: 1 },
    ]);
    expect((await run()).rows).toHaveLength(texts.length);
  });
});
