import { readFile } from "node:fs/promises";
import { fromJson, toJson } from "@bufbuild/protobuf";
import type { Command } from "commander";
import {
  ChatRequestSchema,
  ExclusionStage,
  ExplainResponseSchema,
  RouterService,
} from "../gen/sovereign/v1/router_pb.js";
import { serverClient } from "./connect-client.js";

const STAGE: Partial<Record<ExclusionStage, string>> = {
  [ExclusionStage.POLICY]: "policy",
  [ExclusionStage.FILTER]: "filter",
  [ExclusionStage.AVAILABILITY]: "availability",
};

/**
 * `sovr policy eval --request file.json`: what the live policy and catalog decide for a request,
 * through RouterService.Explain on a running server — nothing is sent upstream or recorded. The
 * file holds a ChatRequest in its JSON form (`{"model": …, "region": "eu", "provider": {…}}`);
 * messages may be left out.
 */
export function addPolicyEvalCommand(policy: Command): void {
  policy
    .command("eval")
    .description(
      "explain the routing decision for a request against the live policy and catalog (no upstream call)",
    )
    .requiredOption("--request <file>", "ChatRequest as JSON")
    .option("--json", "print the ExplainResponse as JSON")
    .action(async (o: { request: string; json?: boolean }) => {
      let request: ReturnType<typeof fromJson<typeof ChatRequestSchema>>;
      try {
        request = fromJson(ChatRequestSchema, JSON.parse(await readFile(o.request, "utf8")));
      } catch (err) {
        throw new Error(`${o.request}: not a ChatRequest in JSON form: ${(err as Error).message}`);
      }
      const res = await serverClient(RouterService).explain({ request });
      if (o.json) {
        console.log(JSON.stringify(toJson(ExplainResponseSchema, res), null, 2));
        return;
      }
      const d = res.decision!;
      if (d.policy) console.log(`policy ${d.policy.revision} (bundle sha256 ${d.policy.sha256})`);
      if (d.catalogRevision) console.log(`catalog ${d.catalogRevision}`);
      // What the detectors found (counts, never text); the rules that acted on it are the
      // exclusions below, each naming its rule.
      const { detector, ...counts } = d.contentLabels;
      const found = Object.entries(counts).map(([k, n]) => `${k} ${n}`);
      console.log(
        detector === undefined
          ? "content: not scanned (no detector)"
          : `content: ${found.length > 0 ? found.join(", ") : "nothing found"} (detector ${detector})`,
      );
      for (const o of d.obligations) console.log(`obligation: ${o}`);
      for (const c of d.candidates) {
        console.log(`${c.eligible ? "ALLOW" : "DENY "} ${c.endpointId}`);
        for (const e of c.exclusions) console.log(`        ${STAGE[e.stage] ?? "?"}: ${e.reason}`);
      }
      console.log(
        d.plan.length > 0 ? `plan: ${d.plan.join(" → ")}` : "plan: none (the request would be refused)",
      );
    });
}
