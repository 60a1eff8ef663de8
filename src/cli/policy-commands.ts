import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import type { Command } from "commander";
import {
  buildPolicyBundle,
  checkBundleFresh,
  opaMissingHint,
  repoRoot,
  resolveOpaBin,
} from "../policy/index.js";
import { addPolicyEvalCommand } from "./policy-eval.js";
import { addPolicyImpactCommand } from "./policy-impact.js";

/** Adds `sovr policy eval|impact|build|check|test`. */
export function addPolicyCommands(policy: Command): void {
  addPolicyEvalCommand(policy);
  addPolicyImpactCommand(policy);
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
      if ((r.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT")
        console.error(opaMissingHint(opa));
      process.exitCode = r.status ?? 1;
    });
}
