// The image's HEALTHCHECK: exits 0 when GET /readyz on this container's HTTP port answers 200
// (database reachable, policy and catalog loaded, serving, audit log committing), 1 otherwise.
// A file rather than `curl`: the runtime image has node and nothing else.
const port = process.env.SOVR_HTTP_PORT ?? "8080";
const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(4000) }).catch(
  () => undefined,
);
process.exit(res?.ok ? 0 : 1);
