import { gunzipSync } from "node:zlib";
import { PolicyBundleError } from "./errors.js";

const BLOCK = 512;

/**
 * Reads the regular files of a gzip-compressed tar archive (ustar, GNU long names and
 * pax `path` records — what `opa build` and common tools write). Names are normalised
 * without a leading `/` or `./`; absolute escapes (`..`), duplicates and corrupt headers
 * are rejected, since a bundle's file set is part of what its signature covers.
 */
export function readTarGz(gz: Uint8Array, maxBytes = 64 * 1024 * 1024): Map<string, Uint8Array> {
  let tar: Buffer;
  try {
    tar = gunzipSync(gz, { maxOutputLength: maxBytes });
  } catch (cause) {
    throw new PolicyBundleError(`bundle is not valid gzip: ${(cause as Error).message}`, { cause });
  }
  const files = new Map<string, Uint8Array>();
  let offset = 0;
  let longName: string | undefined;
  let paxPath: string | undefined;
  while (offset + BLOCK <= tar.length) {
    const header = tar.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) break; // end-of-archive marker
    verifyChecksum(header, offset);
    const size = parseOctal(header.subarray(124, 136), offset);
    const type = String.fromCharCode(header[156] ?? 0);
    const dataStart = offset + BLOCK;
    const dataEnd = dataStart + size;
    if (dataEnd > tar.length) throw new PolicyBundleError(`tar entry at ${offset} is truncated`);
    const body = tar.subarray(dataStart, dataEnd);
    offset = dataStart + Math.ceil(size / BLOCK) * BLOCK;

    if (type === "L") {
      longName = cString(body);
      continue;
    }
    if (type === "x") {
      paxPath = parsePaxPath(body) ?? paxPath;
      continue;
    }
    if (type === "g") continue; // global pax header: nothing we use
    const rawName = paxPath ?? longName ?? ustarName(header);
    longName = undefined;
    paxPath = undefined;
    if (type === "5") continue; // directory
    if (type !== "0" && type !== "\0") {
      throw new PolicyBundleError(`tar entry ${rawName} has unsupported type '${type}'`);
    }
    const name = normaliseName(rawName);
    if (files.has(name)) throw new PolicyBundleError(`tar contains ${name} twice`);
    files.set(name, new Uint8Array(body));
  }
  return files;
}

function verifyChecksum(header: Buffer, offset: number): void {
  const expected = parseOctal(header.subarray(148, 156), offset);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (header[i] ?? 0);
  if (sum !== expected) throw new PolicyBundleError(`tar header at ${offset} has a bad checksum`);
}

function parseOctal(field: Buffer, offset: number): number {
  const text = cString(field).trim();
  if (!/^[0-7]*$/.test(text)) throw new PolicyBundleError(`tar header at ${offset} has a bad number`);
  return text === "" ? 0 : Number.parseInt(text, 8);
}

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return Buffer.from(end === -1 ? bytes : bytes.subarray(0, end)).toString("utf8");
}

function ustarName(header: Buffer): string {
  const name = cString(header.subarray(0, 100));
  const isUstar = cString(header.subarray(257, 263)).startsWith("ustar");
  const prefix = isUstar ? cString(header.subarray(345, 500)) : "";
  return prefix ? `${prefix}/${name}` : name;
}

/** pax records are "<len> <key>=<value>\n". */
function parsePaxPath(body: Uint8Array): string | undefined {
  const text = Buffer.from(body).toString("utf8");
  let path: string | undefined;
  for (const line of text.split("\n")) {
    const match = /^\d+ path=(.*)$/.exec(line);
    if (match) path = match[1];
  }
  return path;
}

function normaliseName(raw: string): string {
  const parts = raw.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.length === 0 || parts.includes("..")) {
    throw new PolicyBundleError(`tar entry has an unsafe name: ${JSON.stringify(raw)}`);
  }
  return parts.join("/");
}
