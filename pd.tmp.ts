import { readFile } from "node:fs/promises";
import { readBundle } from "./src/policy/bundle.js";
import { PolicyEngine } from "./src/policy/engine.js";
import { parseDecision } from "./src/policy/decision.js";
const bundle = await readBundle(await readFile("policies/dist/bundle.tar.gz"));
const { endpoints } = await import("/tmp/eps.ts");
const catalog = endpoints(200);
const e = new PolicyEngine({ poolSize: 1, decisionCacheSize: 0 });
await e.load(bundle); e.setCatalog(catalog);
const pool = (e as any).active; const inst = pool.instances[0];
const input: any = { request: { model: "m", models: [], provider: { zdr: true, data_collection: "deny" }, region: "eu", labels: {}, estimated_prompt_tokens: 1, max_tokens: 1, parameters: [], retention_parameters: [], modalities: ["text"], operation: "chat" }, principal: { tenant: "acme-health", workload: "b", roles: [] }, endpoints: catalog.slice(0, 50), now: "x" };
const ids = input.endpoints.map((x: any) => x.id); const idSet = new Set(ids);
const json = pool.byIds.json(input, ids);
const raw = inst.run(json);
const memo = pool.reasonMemo(inst.known);
const b = { plain: Infinity, memo: Infinity, run: Infinity, evaluate: Infinity, runparse: Infinity };
for (let i = 0; i < 5000; i++) {
  let t0 = performance.now(); parseDecision(raw, ids, idSet, inst.known); b.plain = Math.min(b.plain, performance.now() - t0);
  t0 = performance.now(); parseDecision(raw, ids, idSet, inst.known, memo); b.memo = Math.min(b.memo, performance.now() - t0);
  t0 = performance.now(); inst.run(json); b.run = Math.min(b.run, performance.now() - t0);
  t0 = performance.now(); parseDecision(inst.run(json), ids, idSet, inst.known, memo); b.runparse = Math.min(b.runparse, performance.now() - t0);
  t0 = performance.now(); await e.evaluate(input); b.evaluate = Math.min(b.evaluate, performance.now() - t0);
}
console.log(Object.fromEntries(Object.entries(b).map(([k, v]) => [k, +(v * 1000).toFixed(1)])), memo.lists.size);
