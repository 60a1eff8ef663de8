/**
 * Witnesses from the auditor's side:
 *
 * - `sovr audit witness --key FILE --name NAME --listen ADDR --log ORIGIN=VKEY… [--state FILE]`
 *   runs a C2SP tlog-witness (src/audit/witness.ts) for the logs given: it verifies each
 *   checkpoint's log signature and consistency proof, refuses rollback and split views, and
 *   cosigns. FILE is an Ed25519 private key (PKCS#8 PEM), created (mode 0600) when missing; the
 *   witness prints its verifier key (`vkey …`) for the log operator's SOVR_WITNESSES and for
 *   `verify --witness`.
 * - `verify --witness VKEY… --witnesses-required K`: the requirement verification checks
 *   (src/audit/witness-quorum.ts).
 */
import { once } from "node:events";
import { readFile, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import type { Command } from "commander";
import {
  type CosignatureVerifier,
  cosignatureSigner,
  cosignatureVerifier,
  generateSigningKey,
  parseCosignerKey,
  parseVerifierKey,
  type SigningKey,
  signingKeyFromPem,
  signingKeyToPem,
  Witness,
  type WitnessedLog,
  type WitnessRequirement,
  WitnessStateFile,
  witnessServer,
} from "../audit/index.js";

export interface WitnessFlags {
  witness?: string[];
  witnessesRequired?: string;
}

/** The witness requirement of `verify`, or the message refusing the flags. */
export function witnessRequirement(o: WitnessFlags): { req?: WitnessRequirement } | { refused: string[] } {
  const vkeys = o.witness ?? [];
  if (vkeys.length === 0) {
    if (o.witnessesRequired !== undefined)
      return { refused: ["--witnesses-required needs the witnesses' keys: --witness VKEY (repeatable)"] };
    return {};
  }
  const witnesses: CosignatureVerifier[] = [];
  for (const [i, v] of vkeys.entries()) {
    try {
      witnesses.push(parseCosignerKey(v));
    } catch (err) {
      return { refused: [`--witness #${i + 1}: ${(err as Error).message}`] };
    }
  }
  const required = o.witnessesRequired === undefined ? witnesses.length : Number(o.witnessesRequired);
  if (!Number.isSafeInteger(required) || required < 1 || required > witnesses.length)
    return {
      refused: [`--witnesses-required: a whole number from 1 to ${witnesses.length} (the witnesses given)`],
    };
  return { req: { witnesses, required } };
}

export interface WitnessServeOptions {
  key: string;
  name: string;
  listen: string;
  log: string[];
  state?: string;
}

/** Loads (or creates) the witness key; parses the logs; listens. Resolves with the server. */
export async function startWitness(o: WitnessServeOptions, out: (line: string) => void = console.log) {
  const logs: WitnessedLog[] = (o.log ?? []).map((spec) => {
    const eq = spec.indexOf("=");
    if (eq <= 0) throw new Error(`--log ${JSON.stringify(spec)}: expected ORIGIN=VKEY`);
    const origin = spec.slice(0, eq);
    const verifier = parseVerifierKey(spec.slice(eq + 1));
    if (verifier.name !== origin)
      throw new Error(`--log ${origin}: the verifier key is named ${verifier.name}, not the origin`);
    return { origin, verifiers: [verifier] };
  });
  if (logs.length === 0) throw new Error("--log ORIGIN=VKEY: at least one log to witness");
  const key = await loadOrCreateKey(resolve(o.key), out);
  const state = await WitnessStateFile.open(resolve(o.state ?? `${o.key}.state.json`));
  const logger = {
    info: (obj: object, msg: string) => out(`${msg} ${JSON.stringify(obj)}`),
    warn: (obj: object, msg: string) => out(`${msg} ${JSON.stringify(obj)}`),
  };
  const witness = new Witness(cosignatureSigner(o.name, key), logs, state, logger);
  const server = witnessServer(witness);
  const { host, port } = splitListen(o.listen);
  server.listen(port, host);
  await once(server, "listening");
  const addr = server.address() as AddressInfo;
  out(`vkey ${cosignatureVerifier(o.name, key.publicKeyRaw).vkey}`);
  out(`listening http://${addr.family === "IPv6" ? `[${addr.address}]` : addr.address}:${addr.port}`);
  return server;
}

async function loadOrCreateKey(path: string, out: (line: string) => void): Promise<SigningKey> {
  try {
    return signingKeyFromPem(await readFile(path, "utf8"));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const key = generateSigningKey();
  await writeFile(path, signingKeyToPem(key), { mode: 0o600, flag: "wx" });
  out(`generated a new witness key at ${path}`);
  return key;
}

function splitListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[?([^\]]*)\]?:)?(\d+)$/.exec(listen);
  if (!m) throw new Error(`--listen ${JSON.stringify(listen)}: expected HOST:PORT`);
  return { host: m[1] || "127.0.0.1", port: Number(m[2]) };
}

/** Adds `sovr audit witness`. */
export function addAuditWitnessCommand(audit: Command): void {
  audit
    .command("witness")
    .description(
      "run a tlog-witness (c2sp.org/tlog-witness) that cosigns the logs given, refusing rollback and split views",
    )
    .requiredOption("--key <file>", "the witness's Ed25519 private key (PKCS#8 PEM); created when missing")
    .requiredOption("--name <name>", "the witness's name (a schema-less URL, e.g. auditor.example/witness)")
    .option("--listen <addr>", "HOST:PORT to listen on", "127.0.0.1:7380")
    .option(
      "--log <origin=vkey>",
      "a log to witness: its origin and checkpoint verifier key (repeatable)",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option(
      "--state <file>",
      "where the latest cosigned checkpoint per log is kept (default: KEY.state.json)",
    )
    .action(async (o: WitnessServeOptions) => {
      try {
        const server = await startWitness(o);
        const stop = () => server.close();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      } catch (err) {
        console.error(`error: ${(err as Error).message}`);
        process.exitCode = 2;
      }
    });
}
