/**
 * Pinned trust for `sovr audit verify`. An export carries the public keys that signed it
 * (keys.json), but an operator who rewrote the log could re-sign it and ship keys of its own:
 * verifying against the export's keys shows only that the export is self-consistent. So the
 * verifier asks which keys to trust: `--trusted-keys FILE` (keys obtained apart from the export —
 * `sovr audit keys --out FILE` from the service, or an earlier export's keys.json kept since), or
 * the explicit `--trust-export-keys`. Neither is an error that says so.
 */
import { readFile, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { PublicKeyInfo, PublishedKey, TrustedKeys } from "../audit/index.js";
import { exportKeys } from "../audit/index.js";
import type { SigningKey } from "../gen/sovereign/v1/audit_pb.js";
import type { auditClient, CommandResult } from "./audit-commands.js";

export interface TrustOptions {
  /** A keys.json-shaped file of pinned keys. */
  trustedKeys?: string;
  /** Accept the keys that come with the export (self-consistency only). */
  trustExportKeys?: boolean;
}

export const UNPINNED_MESSAGE = [
  "refusing to trust the keys that come only with the export: an operator who rewrote the log could have re-signed it with keys of its own.",
  "Pin the keys: `sovr audit keys --out trusted-keys.json` (from the service, kept where the operator cannot change it) or an earlier export's keys.json, then `sovr audit verify DIR --trusted-keys trusted-keys.json`.",
  "To check only that the export is self-consistent, pass --trust-export-keys.",
];

/** The pinned keys to verify against (undefined: the export's own), or the message refusing. */
export async function trustFor(o: TrustOptions): Promise<{ trusted?: TrustedKeys } | { refused: string[] }> {
  if (o.trustedKeys !== undefined && o.trustExportKeys)
    return { refused: ["--trusted-keys and --trust-export-keys exclude each other"] };
  if (o.trustExportKeys) return {};
  if (o.trustedKeys === undefined) return { refused: UNPINNED_MESSAGE };
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(resolve(o.trustedKeys), "utf8"));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return {
      refused: [`--trusted-keys: ${e.code === "ENOENT" ? "no such file" : "not a JSON file of keys"}`],
    };
  }
  // keys.json / `sovr audit keys` ({origin, keys: […]}) or a bare array of published keys.
  const obj = (Array.isArray(raw) ? { keys: raw } : raw) as { origin?: unknown; keys?: unknown } | null;
  if (obj === null || typeof obj !== "object" || !Array.isArray(obj.keys) || obj.keys.length === 0)
    return { refused: ["--trusted-keys: expected keys.json's shape, {origin, keys: [published key…]}"] };
  if (obj.origin !== undefined && typeof obj.origin !== "string")
    return { refused: ["--trusted-keys: origin must be a string"] };
  return { trusted: { keys: obj.keys as PublishedKey[], ...(obj.origin ? { origin: obj.origin } : {}) } };
}

/** `sovr audit keys`: the service's signing keys and log origin, in keys.json's shape. */
export async function keysCommand(
  client: ReturnType<typeof auditClient>,
  o: { out?: string } = {},
): Promise<CommandResult> {
  const { keys, checkpointOrigin } = await client.listSigningKeys({});
  const json = `${JSON.stringify(exportKeys(checkpointOrigin, keys.map(keyInfo)), null, 2)}\n`;
  if (o.out === undefined) return { exitCode: 0, stdout: [json.trimEnd()], stderr: [] };
  await writeFile(resolve(o.out), json);
  return {
    exitCode: 0,
    stdout: [
      `wrote ${keys.length} keys of log ${checkpointOrigin} to ${o.out}: keep it where the operator cannot change it, and verify exports with --trusted-keys ${o.out}`,
    ],
    stderr: [],
  };
}

/** A signing key as the service publishes it. */
export function keyInfo(k: SigningKey): PublicKeyInfo {
  const us = (t: NonNullable<SigningKey["validFrom"]>) => timestampDate(t).getTime() * 1000;
  return {
    keyId: k.keyId,
    publicKeyRaw: k.publicKey,
    validFromUs: k.validFrom ? us(k.validFrom) : 0,
    validUntilUs: k.validUntil ? us(k.validUntil) : null,
  };
}
