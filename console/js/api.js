// Connect JSON over HTTP/1.1 to this origin (connect-src 'self'): unary calls and server
// streams. The key lives in this module's memory only: never in storage, a cookie or a URL.

let apiKey = "";

export function setKey(key) {
  apiKey = key;
}

export function hasKey() {
  return apiKey !== "";
}

function headers(type) {
  const h = { "content-type": type, "connect-protocol-version": "1" };
  if (apiKey) h.authorization = `Bearer ${apiKey}`;
  return h;
}

class ApiError extends Error {
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.code = code;
  }
}

/** A unary Connect call: `POST /<service>/<method>` with a JSON body; resolves to the answer. */
export async function call(service, method, body = {}) {
  const res = await fetch(`/sovereign.v1.${service}/${method}`, {
    method: "POST",
    headers: headers("application/json"),
    body: JSON.stringify(body),
    credentials: "omit",
    cache: "no-store",
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(json.code ?? `http ${res.status}`, json.message ?? res.statusText);
  return json;
}

/**
 * A server-streaming Connect call: the request and each answer are enveloped (1 flag byte,
 * 4-byte big-endian length, JSON); flag 0x02 ends the stream with {error?}. Calls onMessage
 * for each message; resolves when the stream ends.
 */
export async function stream(service, method, body, onMessage) {
  const json = new TextEncoder().encode(JSON.stringify(body));
  const framed = new Uint8Array(5 + json.length);
  new DataView(framed.buffer).setUint32(1, json.length);
  framed.set(json, 5);
  const res = await fetch(`/sovereign.v1.${service}/${method}`, {
    method: "POST",
    headers: headers("application/connect+json"),
    body: framed,
    credentials: "omit",
    cache: "no-store",
  });
  if (!res.ok) {
    const err = await res.json().catch(() => ({}));
    throw new ApiError(err.code ?? `http ${res.status}`, err.message ?? res.statusText);
  }
  const reader = res.body.getReader();
  let buf = new Uint8Array(0);
  for (;;) {
    const { done, value } = await reader.read();
    if (value) buf = joined(buf, value);
    while (buf.length >= 5) {
      const len = new DataView(buf.buffer, buf.byteOffset).getUint32(1);
      if (buf.length < 5 + len) break;
      const flags = buf[0];
      const msg = JSON.parse(new TextDecoder().decode(buf.subarray(5, 5 + len)));
      buf = buf.slice(5 + len);
      if (flags & 0x02) {
        if (msg.error) throw new ApiError(msg.error.code, msg.error.message ?? "");
        return;
      }
      onMessage(msg);
    }
    if (done) throw new ApiError("unavailable", "the stream ended without its end message");
  }
}

function joined(a, b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
