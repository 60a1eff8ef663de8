/**
 * One-dimensional Postgres arrays in the binary wire format (`array_recv`), for statements that
 * take a whole batch as column arrays (`unnest($1::text[], …)`). Sent as a binary parameter, a
 * column needs no quoting or escaping on our side and no text parsing on the server's: both
 * drivers send a `Uint8Array`/`Buffer` parameter in binary format (pg: any Buffer; PGlite: any
 * ArrayBuffer view), and the server reads it by the type the statement's cast gives it.
 *
 * Layout (PostgreSQL `src/backend/utils/adt/arrayfuncs.c`, `array_recv`): int32 ndim, int32
 * has-nulls flag, uint32 element type OID, then per dimension int32 length and int32 lower bound,
 * then per element int32 byte length (-1 for NULL) followed by the element's binary form.
 */

/** Element type OIDs (`pg_type.oid`) of the arrays encoded here. */
const OID = { bytea: 17, int8: 20, text: 25, timestamptz: 1184 } as const;

/** Microseconds between the Unix epoch and Postgres' (2000-01-01T00:00:00Z). */
const PG_EPOCH_US = 946_684_800_000_000n;

/**
 * The array header, then each element as its length and `write`'s bytes (NULL as length -1);
 * `byteLength` must tell exactly how many bytes `write` puts at `at`.
 */
function encodeArray<T>(
  oid: number,
  values: readonly (T | null)[],
  byteLength: (v: T) => number,
  write: (out: Buffer, v: T, at: number) => void,
): Buffer {
  let size = 20;
  let hasNull = 0;
  for (const v of values) {
    size += 4;
    if (v === null) hasNull = 1;
    else size += byteLength(v);
  }
  const out = Buffer.allocUnsafe(size);
  out.writeInt32BE(1, 0);
  out.writeInt32BE(hasNull, 4);
  out.writeUInt32BE(oid, 8);
  out.writeInt32BE(values.length, 12);
  out.writeInt32BE(1, 16);
  let at = 20;
  for (const v of values) {
    if (v === null) {
      out.writeInt32BE(-1, at);
      at += 4;
    } else {
      const n = byteLength(v);
      out.writeInt32BE(n, at);
      write(out, v, at + 4);
      at += 4 + n;
    }
  }
  return out;
}

/** `text[]`, UTF-8 (the encoding both our databases use); an element may be given as its UTF-8 bytes. */
export function textArray(values: readonly (string | Uint8Array | null)[]): Buffer {
  return encodeArray(
    OID.text,
    values,
    (v) => (typeof v === "string" ? Buffer.byteLength(v, "utf8") : v.length),
    (out, v, at) => {
      if (typeof v === "string") out.write(v, at, "utf8");
      else out.set(v, at);
    },
  );
}

/** `int8[]` from safe integers. */
export function int8Array(values: readonly (number | null)[]): Buffer {
  return encodeArray(
    OID.int8,
    values,
    () => 8,
    (out, v, at) => out.writeBigInt64BE(BigInt(v), at),
  );
}

/** `bytea[]`. */
export function byteaArray(values: readonly (Uint8Array | null)[]): Buffer {
  return encodeArray(
    OID.bytea,
    values,
    (v) => v.length,
    (out, v, at) => out.set(v, at),
  );
}

/** `timestamptz[]` from millisecond instants (integer datetimes: µs since 2000-01-01 UTC). */
export function timestamptzArray(values: readonly (Date | null)[]): Buffer {
  return encodeArray(
    OID.timestamptz,
    values,
    () => 8,
    (out, v, at) => out.writeBigInt64BE(BigInt(v.getTime()) * 1000n - PG_EPOCH_US, at),
  );
}
