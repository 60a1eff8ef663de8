/**
 * The BYOK admin route on the HTTP port (`/v1/admin/byok…`): a thin mapping of the rules in
 * auth's ByokAdmin, which the gRPC ByokService maps too. Keys go in, never come out.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Code, ConnectError } from "@connectrpc/connect";
import { byokKeyJson } from "../../auth/index.js";
import { InvalidFieldError } from "../grpc/index.js";
import { methodNotAllowed, readJson, sendJson } from "./http-json.js";
import type { OpenAIHttpDeps } from "./openai-http.js";

/** A %-decoded path segment; bad %-encoding (`%zz`, a lone byte of UTF-8) is the caller's error. */
function pathSegment(segment: string, field: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new InvalidFieldError(field, "bad %-encoding in the URL path");
  }
}

/**
 * BYOK administration: keys go in, never come out (a key is shown as tenant, provider, flags
 * and origins). Every rule, the tenant check included, is {@link ByokAdmin}'s.
 */
export async function byokAdmin(
  deps: OpenAIHttpDeps,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  const principal = await deps.authenticate(req, `${req.method} /v1/admin/byok`);
  if (!deps.byok) throw new ConnectError("BYOK is not configured", Code.FailedPrecondition);
  const parts = path
    .split("/")
    .slice(4)
    .map((p, i) => pathSegment(p, ["tenant", "provider"][i] ?? "path"));
  if (req.method === "GET" && parts.length <= 1) {
    const keys = await deps.byok.list(principal, parts[0]);
    return sendJson(res, 200, { data: keys.map(byokKeyJson) });
  }
  const approve = parts.length === 3 && parts[2] === "approve";
  if (parts.length !== 2 && !approve)
    throw new ConnectError(
      "use /v1/admin/byok/{tenant}/{provider} or /v1/admin/byok/{tenant}/{provider}/approve",
      Code.NotFound,
    );
  const [tenant, provider] = parts as [string, string];
  if (approve) {
    if (req.method !== "POST") return methodNotAllowed(res, "POST");
    const body = await readJson(req, res);
    if (body === undefined) return;
    const origins = (body as { origins?: unknown }).origins ?? [];
    if (!Array.isArray(origins) || !origins.every((o) => typeof o === "string"))
      throw new InvalidFieldError("origins", "must be a list of origins (scheme://host[:port])");
    return sendJson(res, 200, byokKeyJson(await deps.byok.approve(principal, tenant, provider, origins)));
  }
  if (req.method === "DELETE") {
    const removed = await deps.byok.remove(principal, tenant, provider);
    return sendJson(res, removed ? 200 : 404, { tenant, provider, deleted: removed });
  }
  if (req.method !== "PUT") return methodNotAllowed(res, "GET, PUT, DELETE");
  const body = await readJson(req, res);
  if (body === undefined) return;
  const b = body as { key?: unknown; always?: unknown };
  if (typeof b.key !== "string") throw new InvalidFieldError("key", "is required");
  if (b.always !== undefined && typeof b.always !== "boolean")
    throw new InvalidFieldError("always", "must be true or false");
  sendJson(res, 200, byokKeyJson(await deps.byok.set(principal, tenant, provider, b.key, b.always ?? false)));
}
