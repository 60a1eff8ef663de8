/**
 * The one file that touches node-llama-cpp (STYLE.md 17): loaded lazily with a dynamic import,
 * so a router without local models never loads the library or its native binary. One `Llama`
 * per process (CPU only, prebuilt binary, never a build or download: `build: "never"`), one
 * model per GGUF file, one context with a sequence per slot.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { fileURLToPath } from "node:url";
import type { ChatWrapper, Llama, LlamaContextSequence, LlamaModel } from "node-llama-cpp";
import { UpstreamError } from "./errors.js";
import { SlotPool } from "./local-slots.js";

export type NodeLlamaCpp = typeof import("node-llama-cpp");

export interface LocalRuntimeOptions {
  /** llama.cpp threads per evaluation (SOVR_LOCAL_THREADS). */
  threads: number;
  /** Concurrent sequences per model (SOVR_LOCAL_SLOTS). */
  slots: number;
  /** Longest wait for a free slot before `local_saturated` (SOVR_LOCAL_QUEUE_MS). */
  queueMs: number;
  /** Tokens per sequence, at most the model's training context. */
  contextSize: number;
}

export interface LoadedModel {
  lib: NodeLlamaCpp;
  llama: Llama;
  model: LlamaModel;
  /**
   * The model's chat template, resolved once at load: resolving it (matching the GGUF's Jinja
   * template) takes ~300 ms on this machine, which every request paid before its first token.
   */
  chatWrapper: ChatWrapper;
  slots: SlotPool<LlamaContextSequence>;
}

/** Loads each model once, on first use; concurrent first calls share one load. */
export class LocalRuntime {
  #lib: Promise<NodeLlamaCpp> | undefined;
  #llama: Promise<Llama> | undefined;
  readonly #models = new Map<string, Promise<LoadedModel>>();

  constructor(readonly options: LocalRuntimeOptions) {}

  /**
   * The model behind a `file:` URL, checked against its sha256 (hex) on load, so the weights
   * that answer are the ones the catalog revision names.
   */
  model(fileUrl: string, sha256: string): Promise<LoadedModel> {
    const key = `${fileUrl}#${sha256}`;
    let loaded = this.#models.get(key);
    if (loaded === undefined) {
      loaded = this.#load(fileUrl, sha256);
      // A failed load is not cached: the next request tries again (the file may be fixed).
      loaded.catch(() => this.#models.delete(key));
      this.#models.set(key, loaded);
    }
    return loaded;
  }

  async #load(fileUrl: string, sha256: string): Promise<LoadedModel> {
    let path: string;
    try {
      path = fileURLToPath(fileUrl);
    } catch (cause) {
      throw new UpstreamError("connect", "local endpoint base_url is not a file: URL", undefined, undefined, {
        cause,
      });
    }
    const actual = await fileSha256(path).catch((cause: unknown) => {
      throw new UpstreamError("connect", "local model file cannot be read", undefined, undefined, { cause });
    });
    if (actual !== sha256) {
      throw new UpstreamError(
        "connect",
        "local model file does not match the sha256 its catalog entry names",
      );
    }
    const lib = await this.#library();
    const llama = await this.#runtime();
    const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
    const { slots, threads } = this.options;
    const context = await model.createContext({
      sequences: slots,
      contextSize: Math.min(model.trainContextSize, this.options.contextSize),
      threads: { ideal: threads, min: 1 },
    });
    const sequences = Array.from({ length: slots }, () => context.getSequence());
    const probe = new lib.LlamaChat({ contextSequence: sequences[0]! });
    const chatWrapper = probe.chatWrapper;
    probe.dispose({ disposeSequence: false });
    return { lib, llama, model, chatWrapper, slots: new SlotPool(sequences, this.options.queueMs) };
  }

  #library(): Promise<NodeLlamaCpp> {
    this.#lib ??= import("node-llama-cpp");
    return this.#lib;
  }

  #runtime(): Promise<Llama> {
    this.#llama ??= this.#library().then((lib) =>
      lib.getLlama({
        // The prebuilt CPU binary from the npm package: never build, never download.
        build: "never",
        skipDownload: true,
        gpu: false,
        maxThreads: this.options.threads,
        progressLogs: false,
        logLevel: lib.LlamaLogLevel.error,
        // llama.cpp logs to stderr otherwise; nothing it says may carry content into our logs.
        logger: () => {},
      }),
    );
    return this.#llama;
  }

  async close(): Promise<void> {
    const llama = this.#llama;
    this.#models.clear();
    this.#llama = undefined;
    if (llama) await (await llama.catch(() => undefined))?.dispose();
  }
}

/** sha256 (hex) of a file, streamed. */
export function fileSha256(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(path)
      .on("data", (chunk) => hash.update(chunk))
      .on("error", reject)
      .on("end", () => resolve(hash.digest("hex")));
  });
}

/** The training context length a GGUF file's metadata states (read without loading the model). */
export async function ggufContextLength(path: string): Promise<number> {
  const { readGgufFileInfo } = await import("node-llama-cpp");
  const info = await readGgufFileInfo(path, { readTensorInfo: false });
  const meta = info.metadata as unknown as Record<string, { context_length?: unknown } | undefined> & {
    general: { architecture: string };
  };
  const n = meta[meta.general.architecture]?.context_length;
  if (typeof n !== "number" || !Number.isInteger(n) || n <= 0) {
    throw new Error("the GGUF metadata states no context length");
  }
  return n;
}
