import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * An OTLP/HTTP traces receiver on 127.0.0.1 for tests: it decodes each POSTed
 * `ExportTraceServiceRequest` (binary protobuf, as @opentelemetry/exporter-trace-otlp-proto
 * sends it) with a small hand-written protobuf reader over the field numbers of the official
 * opentelemetry-proto files (collector/trace/v1/trace_service.proto, trace/v1/trace.proto,
 * common/v1/common.proto, resource/v1/resource.proto). No otel package ships the .proto files
 * or a request decoder, and none is reachable offline; the reader follows the wire format
 * (https://protobuf.dev/programming-guides/encoding/) and skips fields it does not name.
 */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  events: { name: string; attributes: Record<string, unknown> }[];
  status: { code: number; message: string };
  /** service.name etc. of the resource the span came with */
  resource: Record<string, unknown>;
}

export interface OtlpReceiver {
  url: string;
  spans: ReceivedSpan[];
  /** Every byte received, for the privacy canary. */
  raw: Buffer[];
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const raw: Buffer[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      raw.push(body);
      if (
        req.method !== "POST" ||
        req.url !== "/v1/traces" ||
        req.headers["content-type"] !== "application/x-protobuf"
      ) {
        res.writeHead(400).end();
        return;
      }
      spans.push(...decodeExportTraceServiceRequest(body));
      // An empty ExportTraceServiceResponse: everything accepted.
      res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    spans,
    raw,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

type Field = { no: number; wire: number; value: bigint | Buffer };

/** The fields of one message, in order. */
function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[pos++];
      if (b === undefined) throw new Error("truncated varint");
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (pos < buf.length) {
    const tag = Number(varint());
    const no = tag >>> 3;
    const wire = tag & 7;
    if (wire === 0) out.push({ no, wire, value: varint() });
    else if (wire === 1) {
      out.push({ no, wire, value: buf.subarray(pos, pos + 8) });
      pos += 8;
    } else if (wire === 2) {
      const len = Number(varint());
      out.push({ no, wire, value: buf.subarray(pos, pos + len) });
      pos += len;
    } else if (wire === 5) {
      out.push({ no, wire, value: buf.subarray(pos, pos + 4) });
      pos += 4;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
  if (pos !== buf.length) throw new Error("truncated message");
  return out;
}

const bytes = (f: Field) => f.value as Buffer;
const str = (f: Field) => bytes(f).toString("utf8");

/** AnyValue: string 1, bool 2, int 3, double 4, array 5, kvlist 6, bytes 7. */
function anyValue(buf: Buffer): unknown {
  for (const f of fields(buf)) {
    if (f.no === 1) return str(f);
    if (f.no === 2) return f.value === 1n;
    if (f.no === 3) return Number(BigInt.asIntN(64, f.value as bigint));
    if (f.no === 4) return bytes(f).readDoubleLE(0);
    if (f.no === 5)
      return fields(bytes(f))
        .filter((x) => x.no === 1)
        .map((x) => anyValue(bytes(x)));
    if (f.no === 6) return keyValues(fields(bytes(f)).filter((x) => x.no === 1));
    if (f.no === 7) return bytes(f).toString("hex");
  }
  return undefined;
}

/** KeyValue: key 1, value 2. */
function keyValues(list: Field[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of list) {
    let key = "";
    let value: unknown;
    for (const f of fields(bytes(kv))) {
      if (f.no === 1) key = str(f);
      if (f.no === 2) value = anyValue(bytes(f));
    }
    out[key] = value;
  }
  return out;
}

/** ExportTraceServiceRequest: resource_spans 1 → ResourceSpans: resource 1, scope_spans 2 → ScopeSpans: spans 2. */
export function decodeExportTraceServiceRequest(buf: Buffer): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of fields(buf).filter((f) => f.no === 1)) {
    const rsFields = fields(bytes(rs));
    const resourceField = rsFields.find((f) => f.no === 1);
    const resource = resourceField ? keyValues(fields(bytes(resourceField)).filter((f) => f.no === 1)) : {};
    for (const ss of rsFields.filter((f) => f.no === 2))
      for (const sp of fields(bytes(ss)).filter((f) => f.no === 2)) out.push(span(bytes(sp), resource));
  }
  return out;
}

/**
 * Span: trace_id 1, span_id 2, trace_state 3, parent_span_id 4, name 5, kind 6, start 7, end 8,
 * attributes 9, dropped 10, events 11, dropped 12, links 13, dropped 14, status 15, flags 16.
 */
function span(buf: Buffer, resource: Record<string, unknown>): ReceivedSpan {
  const s: ReceivedSpan = {
    traceId: "",
    spanId: "",
    parentSpanId: "",
    name: "",
    kind: 0,
    attributes: {},
    events: [],
    status: { code: 0, message: "" },
    resource,
  };
  const attrs: Field[] = [];
  for (const f of fields(buf)) {
    if (f.no === 1) s.traceId = bytes(f).toString("hex");
    else if (f.no === 2) s.spanId = bytes(f).toString("hex");
    else if (f.no === 4) s.parentSpanId = bytes(f).toString("hex");
    else if (f.no === 5) s.name = str(f);
    else if (f.no === 6) s.kind = Number(f.value);
    else if (f.no === 9) attrs.push(f);
    else if (f.no === 11) {
      // Event: time 1, name 2, attributes 3.
      const ef = fields(bytes(f));
      s.events.push({
        name: ef.filter((x) => x.no === 2).map(str)[0] ?? "",
        attributes: keyValues(ef.filter((x) => x.no === 3)),
      });
    } else if (f.no === 15) {
      // Status: message 2, code 3.
      for (const x of fields(bytes(f))) {
        if (x.no === 2) s.status.message = str(x);
        if (x.no === 3) s.status.code = Number(x.value);
      }
    }
  }
  s.attributes = keyValues(attrs);
  return s;
}
