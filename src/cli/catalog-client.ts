/**
 * `sovr catalog list` and `sovr catalog apply`: clients of a running server (docs/architecture.md §7 — the
 * CLI never opens the database itself). The server is `SOVR_URL` (default
 * http://127.0.0.1:8080), spoken to with Connect over HTTP/1.1; `SOVR_KEY`, when set, is sent
 * as `authorization: Bearer <key>`.
 */
import { resolve } from "node:path";
import { toJson } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Command } from "commander";
import { readCatalogFiles, renderEndpointTable } from "../catalog/index.js";
import {
  type CatalogIssue,
  CatalogIssueSchema,
  CatalogService,
  type Endpoint,
  EndpointSchema,
  Reachability,
} from "../gen/sovereign/v1/catalog_pb.js";
import { type ServerClientOptions, serverClient } from "./connect-client.js";

export { DEFAULT_SOVR_URL } from "./connect-client.js";
export type ClientOptions = ServerClientOptions;

/** What a command prints and its exit code (the commands are functions, so tests call them). */
export interface CommandResult {
  exitCode: 0 | 1;
  stdout: string[];
  stderr: string[];
}

export function catalogClient(options: ClientOptions = {}) {
  return serverClient(CatalogService, options);
}

export interface ListOptions extends ClientOptions {
  model?: string;
  provider?: string;
  region?: string;
  zdrOnly?: boolean;
  /** USD per million tokens, prompt + completion. */
  maxPrice?: number;
  json?: boolean;
}

/** `sovr catalog list`: every matching endpoint (all pages) as a table, assumed values marked. */
export async function listCommand(options: ListOptions = {}): Promise<CommandResult> {
  const client = catalogClient(options);
  const endpoints = [];
  const reachability = new Map<string, string>();
  const json: string[] = [];
  let pageToken = "";
  let revision = "";
  // The API's own mapping, loaded when a list is printed (not when `sovr catalog` lists its commands).
  const { fromProtoEndpoint } = await import("../api/index.js");
  do {
    const page = await client.listEndpoints({
      model: options.model ?? "",
      provider: options.provider ?? "",
      region: options.region ?? "",
      zdrOnly: options.zdrOnly ?? false,
      maxPrice: options.maxPrice,
      pageSize: 500,
      pageToken,
    });
    endpoints.push(...page.endpoints.map(fromProtoEndpoint));
    if (options.json) json.push(...page.endpoints.map((e) => JSON.stringify(toJson(EndpointSchema, e))));
    for (const e of page.endpoints) reachability.set(e.id, reachabilityText(e));
    pageToken = page.nextPageToken;
    revision = page.revision;
  } while (pageToken !== "");
  // The Endpoint message's JSON form (proto3 JSON names), one per line.
  if (options.json) return { exitCode: 0, stdout: json, stderr: [] };
  return {
    exitCode: 0,
    stdout: [
      renderEndpointTable(endpoints, reachability),
      "",
      `${endpoints.length} endpoints, catalog revision ${revision}`,
    ],
    stderr: [],
  };
}

/** The REACHABILITY column: local runtimes as last probed, `-` for endpoints not probed. */
function reachabilityText(e: Endpoint): string {
  switch (e.reachability) {
    case Reachability.REACHABLE:
      return "reachable";
    case Reachability.UNREACHABLE:
      return `unreachable (${e.unreachableReason})`;
    case Reachability.PENDING:
      return "probing";
    default:
      return e.local ? "local" : "-";
  }
}

function formatIssue(i: CatalogIssue): string {
  return `${i.file}${i.line ? `:${i.line}` : ""}: ${i.path ? `${i.path}: ` : ""}${i.message}`;
}

/**
 * `sovr catalog apply [dir] [--validate-only]`: sends every `*.yaml` of `dir` to ApplyCatalog.
 * Exit 1 with every issue, one per line, when the server rejects the catalog.
 */
export async function applyCommand(
  dir: string,
  options: ClientOptions & { validateOnly?: boolean } = {},
): Promise<CommandResult> {
  const files = await readCatalogFiles(resolve(dir));
  try {
    const r = await catalogClient(options).applyCatalog({
      files,
      validateOnly: options.validateOnly ?? false,
    });
    if (!r.valid) return { exitCode: 1, stdout: [], stderr: r.issues.map(formatIssue) };
    const rev = r.revision?.revision ?? "";
    const line = options.validateOnly
      ? `valid: ${files.length} files, revision ${rev}${r.changed ? " (differs from the running catalog)" : " (same as the running catalog)"}`
      : r.changed
        ? `applied: revision ${rev}`
        : `unchanged: the running catalog is already revision ${rev}`;
    return { exitCode: 0, stdout: [line], stderr: [] };
  } catch (err) {
    const ce = ConnectError.from(err);
    const issues = ce.findDetails(CatalogIssueSchema);
    if (ce.code === Code.InvalidArgument && issues.length > 0) {
      return { exitCode: 1, stdout: [], stderr: issues.map(formatIssue) };
    }
    throw err;
  }
}

function print(result: CommandResult): void {
  for (const line of result.stdout) console.log(line);
  for (const line of result.stderr) console.error(line);
  process.exitCode = result.exitCode;
}

/** Adds `list` and `apply` to the `sovr catalog` command. */
export function addCatalogClientCommands(catalog: Command, defaultDir: string): void {
  catalog
    .command("list")
    .description("list endpoints of a running server (SOVR_URL, SOVR_KEY); assumed values end in *")
    .option("--model <model>", "only this model")
    .option("--provider <slug>", "only this provider")
    .option("--region <region>", "only endpoints whose effective residency is this region")
    .option("--zdr-only", "only zero-data-retention endpoints")
    .option("--max-price <usd>", "max prompt + completion price, USD per million tokens", Number)
    .option("--json", "one JSON object per line (the Endpoint message's JSON form)")
    .action(async (o: ListOptions) => print(await listCommand(o)));
  catalog
    .command("apply")
    .argument("[dir]", "catalog directory", defaultDir)
    .description("validate and apply a catalog directory on a running server (admin)")
    .option("--validate-only", "only validate; change nothing")
    .action(async (dir: string, o: { validateOnly?: boolean }) => print(await applyCommand(dir, o)));
}
