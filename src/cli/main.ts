import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { Command } from "commander";
import { rotateSigningKey } from "../audit/index.js";
import { CatalogValidationError, validateCatalogDir } from "../catalog/index.js";
import { ConfigError, configHelpText, ensurePrivateDir, loadConfig } from "../config/index.js";
import {
  buildPolicyBundle,
  checkBundleFresh,
  opaMissingHint,
  repoRoot,
  resolveOpaBin,
} from "../policy/index.js";
import { addAuditCommands } from "./audit-commands.js";
import { addBudgetsCommands } from "./budgets-commands.js";
import { addByokCommands } from "./byok-commands.js";
import { addCatalogClientCommands } from "./catalog-client.js";
import { describeError } from "./errors.js";
import { addKeysCommands } from "./keys-commands.js";
import { addModelsCommands } from "./models-commands.js";
import { addPolicyEvalCommand } from "./policy-eval.js";
import { serve } from "./serve.js";
import { addUsageCommand } from "./usage-commands.js";
import { packageVersion } from "./version.js";

const program = new Command()
  .name("sovr")
  .description("Sovereign Router: policy-enforced LLM routing with signed decision records.")
  .version(packageVersion(), "-V, --version", "print the version (package.json)")
  .showHelpAfterError();

program
  .command("serve")
  .description(
    "serve gRPC/Connect (SOVR_GRPC_PORT) and HTTP (SOVR_HTTP_PORT); configuration from the environment",
  )
  .addHelpText("after", () => configHelpText())
  .action(serve);

const catalog = program.command("catalog").description("the provider catalog");
catalog
  .command("validate")
  .argument("[dir]", "catalog directory", process.env.SOVR_CATALOG_DIR ?? "catalog")
  .description("validate catalog files offline; prints every error, one per line")
  .action(async (dir: string) => {
    // The same allow-lists the server applies, so "valid" here means the server accepts it.
    const vars = loadConfig().catalogEnv;
    const result = await validateCatalogDir(resolve(dir), { env: process.env, vars });
    for (const line of result.lines) console.log(line);
    process.exitCode = result.exitCode;
  });

addCatalogClientCommands(catalog, process.env.SOVR_CATALOG_DIR ?? "catalog");

const policy = program.command("policy").description("policy bundles");
addPolicyEvalCommand(policy);
policy
  .command("build")
  .description("compile policies/ with `opa build -t wasm` into policies/dist/bundle.tar.gz")
  .option("--source <dir>", "Rego sources", "policies")
  .option("--out <file>", "bundle file", "policies/dist/bundle.tar.gz")
  .option("--signing-key <pem>", "sign the bundle with this private key")
  .option("--signing-alg <alg>", "JWS algorithm of the signing key", "EdDSA")
  .action(async (o: { source: string; out: string; signingKey?: string; signingAlg: string }) => {
    const built = await buildPolicyBundle({
      sourceDir: resolve(o.source),
      outFile: resolve(o.out),
      signingKeyFile: o.signingKey && resolve(o.signingKey),
      signingAlg: o.signingAlg as never,
    });
    console.log(`built ${o.out} (revision ${built.revision}, sha256 ${built.sha256})`);
    if (!built.endpointIds)
      console.warn(
        `note: every request will carry the candidate endpoints inline (slower), because:\n  ${built.endpointAccessProblems.join("\n  ")}\nsee docs/policies.md §3`,
      );
  });
policy
  .command("check")
  .description("fail when the committed bundle is stale (CI)")
  .action(async () => {
    const fresh = await checkBundleFresh();
    console.log(
      fresh.fresh ? `bundle is fresh (${fresh.expected})` : `bundle is STALE: ${JSON.stringify(fresh)}`,
    );
    if (!fresh.fresh) process.exitCode = 1;
  });
policy
  .command("test")
  .description("run `opa test` on the policies")
  .argument("[dir]", "policy directory", "policies")
  .action((dir: string) => {
    // dist/ holds the built bundle; opa would load it too and mask changes to the sources.
    const opa = resolveOpaBin();
    const r = spawnSync(opa, ["test", resolve(dir), "--ignore", "dist", "-v"], {
      stdio: "inherit",
      cwd: repoRoot(),
    });
    if ((r.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT") console.error(opaMissingHint(opa));
    process.exitCode = r.status ?? 1;
  });

const keys = program.command("keys").description("API keys and record-signing keys");
addKeysCommands(keys);
addByokCommands(keys);
addBudgetsCommands(program);
keys
  .command("generate")
  .description("create a new record-signing key and make it current (rotation); old keys keep verifying")
  .action(async () => {
    const config = loadConfig();
    // A new private key goes only into a directory no other user can reach.
    await ensurePrivateDir(config.keysDir, "signing keys directory");
    const key = await rotateSigningKey(config.keysDir);
    console.log(
      `generated signing key ${key.keyId} in ${config.keysDir}; a running server uses it after restart`,
    );
  });

addAuditCommands(program);
addModelsCommands(program);
addUsageCommand(program);

// `sovr … | head`: the reader went away; that is the end of the output, not an error.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

program.parseAsync().catch((err: unknown) => {
  if (err instanceof CatalogValidationError) {
    for (const i of err.issues)
      console.error(`${i.file}${i.line ? `:${i.line}` : ""}: ${i.path ? `${i.path}: ` : ""}${i.message}`);
  } else if (err instanceof ConfigError) {
    console.error(err.message);
  } else {
    console.error(`error: ${describeError(err)}`);
  }
  process.exit(1);
});
