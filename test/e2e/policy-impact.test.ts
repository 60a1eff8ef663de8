/**
 * Policy impact (docs/policies.md §10): past decisions replayed under a draft bundle built by
 * opa, before anyone activates it. The recorded policy bars sim-us; the draft lifts that bar
 * and bars sim-eu instead, so decisions flip both ways, and the summary says which rule did it,
 * for which tenant and endpoint, with example decision ids.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditClient } from "../../src/cli/audit-commands.js";
import { impactCommand } from "../../src/cli/policy-impact.js";
import { ExclusionStage } from "../../src/gen/sovereign/v1/router_pb.js";
import { buildPolicyBundle } from "../../src/policy/bundle-build.js";
import { appDatabases, REPO, startTestApp, type TestApp } from "../support/app.js";
import { chat } from "../support/audit-live.js";
import { GrpcJsClient } from "../support/grpc.js";

const BAR = (provider: string, rule: string) => `package sovereign.route

# Added for the policy impact test.
deny[ep.id] contains "${rule}: ${provider} is barred" if {
	some ep in input.endpoints
	ep.provider == "${provider}"
}
`;

describe.each(appDatabases)("policy impact of a draft bundle (%s)", (database) => {
  let dir: string;
  let t: TestApp;
  let grpc: GrpcJsClient;
  let draft: string;
  const eu: string[] = [];
  const us: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sovr-impact-"));
    const src = join(dir, "policies");
    await cp(join(REPO, "policies"), src, { recursive: true, filter: (p) => !p.includes("/dist") });
    // What is live while the traffic is recorded: sim-us barred.
    await writeFile(join(src, "impact_bar.rego"), BAR("sim-us", "impact_bar_us"));
    const live = await buildPolicyBundle({ sourceDir: src, outFile: join(dir, "live.tar.gz") });
    // The draft: sim-us allowed again, sim-eu barred.
    await writeFile(join(src, "impact_bar.rego"), BAR("sim-eu", "impact_bar_eu"));
    draft = (await buildPolicyBundle({ sourceDir: src, outFile: join(dir, "draft.tar.gz") })).outFile;

    t = await startTestApp({ database, bundlePath: live.outFile });
    grpc = new GrpcJsClient(`127.0.0.1:${t.app.servers.grpcPort}`);
    for (let i = 0; i < 3; i++) eu.push(await chat(grpc, `impact eu ${i}`, "eu"));
    // Region us: sim-us is the only endpoint there, and barred: denied (and recorded).
    for (let i = 0; i < 3; i++) await expect(chat(grpc, `impact us ${i}`, "us")).rejects.toThrow();
    await t.app.audit.settled();
    const rows = await t.app.db.db
      .selectFrom("audit_decisions")
      .select(["decision_id", "outcome"])
      .orderBy("recorded_at")
      .execute();
    us.push(...rows.filter((r) => r.outcome === "denied").map((r) => r.decision_id));
    expect(us).toHaveLength(3);
  }, 120_000);
  afterAll(async () => {
    grpc?.close();
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const run = async (req: { limit?: number; sample?: number; bundle?: Uint8Array } = {}) => {
    const messages = [];
    for await (const m of auditClient({ url: t.app.httpUrl }).policyImpact({
      bundle: req.bundle ?? (await readFile(draft)),
      startTime: { seconds: BigInt(Math.floor(Date.now() / 1000) - 3600) },
      limit: req.limit ?? 0,
      sample: req.sample ?? 0,
    }))
      messages.push(m);
    expect(messages.at(-1)!.summary).toBeDefined();
    return messages.at(-1)!.summary!;
  };

  it("counts decisions flipped each way, per rule, tenant and endpoint, with examples; never activates the draft", async () => {
    const liveSha = t.app.policy.current!.sha256;
    const s = await run();
    expect(s.draft!.sha256).not.toBe(liveSha);
    expect(s).toMatchObject({ replayed: 6n, unchanged: 0n, allowedToDenied: 3n, deniedToAllowed: 3n });
    expect({
      other: s.otherwiseChanged,
      errors: s.errors,
      unavailable: s.unavailable,
      truncated: s.truncated,
    }).toEqual({ other: 0n, errors: 0n, unavailable: 0n, truncated: false });
    expect(new Set(s.allowedToDeniedExamples)).toEqual(new Set(eu));
    expect(new Set(s.deniedToAllowedExamples)).toEqual(new Set(us));

    const rule = (name: string) => s.rules.find((r) => r.rule === name)!;
    // sim-eu is newly excluded in every decision (the us ones had it excluded by residency
    // already, now by the bar too); only the eu decisions flipped because of it.
    expect(rule("impact_bar_eu")).toMatchObject({
      stage: ExclusionStage.POLICY,
      newlyExcluded: 6n,
      noLongerExcluded: 0n,
      allowedToDenied: 3n,
      deniedToAllowed: 0n,
    });
    expect(rule("impact_bar_us")).toMatchObject({
      newlyExcluded: 0n,
      noLongerExcluded: 6n,
      allowedToDenied: 0n,
      deniedToAllowed: 3n,
    });
    expect(s.rules.map((r) => r.rule).sort()).toEqual(["impact_bar_eu", "impact_bar_us"]);
    expect(s.tenants).toHaveLength(1);
    expect(s.tenants[0]).toMatchObject({
      replayed: 6n,
      changed: 6n,
      allowedToDenied: 3n,
      deniedToAllowed: 3n,
    });
    const endpoint = (id: string) => s.endpoints.find((e) => e.endpointId === id)!;
    expect(endpoint("sim-eu/chat-small")).toMatchObject({ becameIneligible: 3n, becameEligible: 0n });
    expect(endpoint("sim-us/chat-small")).toMatchObject({ becameIneligible: 0n, becameEligible: 3n });
    expect(s.endpoints).toHaveLength(2);

    // Evaluated, never activated nor stored.
    expect(t.app.policy.current!.sha256).toBe(liveSha);
    const stored = await t.app.db.db
      .selectFrom("policy_bundles")
      .select("sha256")
      .where("sha256", "=", s.draft!.sha256)
      .execute();
    expect(stored).toEqual([]);
  });

  it("--limit stops early and says so; --sample picks the same decisions every run", async () => {
    const limited = await run({ limit: 2 });
    expect(limited.replayed).toBe(2n);
    expect(limited.truncated).toBe(true);
    // The decision id's last 16 bits (random in a UUIDv7) choose: below half of 0x10000.
    const chosen = [...eu, ...us].filter((id) => id.slice(-4) < "8000");
    const a = await run({ sample: 0.5 });
    const b = await run({ sample: 0.5 });
    expect(a.replayed).toBe(BigInt(chosen.length));
    const { endTime: _a, startTime: _as, ...sameA } = a;
    const { endTime: _b, startTime: _bs, ...sameB } = b;
    expect(sameA).toEqual(sameB);
    expect(new Set([...a.allowedToDeniedExamples, ...a.deniedToAllowedExamples])).toEqual(new Set(chosen));
  });

  it("sovr policy impact prints the summary (and --json)", async () => {
    const lines = await impactCommand({ url: t.app.httpUrl, bundle: draft, since: "1h" });
    const text = lines.join("\n");
    expect(lines[1]).toBe(
      "replayed 6: 0 unchanged, 3 routed → denied, 3 denied → routed, 0 otherwise changed, 0 policy errors",
    );
    expect(text).toContain(`routed → denied:  e.g. ${eu.join(" ")}`);
    expect(text).toMatch(/\n {2}policy:impact_bar_eu {2}\+6 \/ -0; 3 \/ 0 {2}e\.g\. /);
    expect(text).toMatch(/\n {2}sim-us\/chat-small {2}0 \/ 3 {2}e\.g\. /);
    const [json] = await impactCommand({ url: t.app.httpUrl, bundle: draft, since: "1h", json: true });
    expect(JSON.parse(json!)).toMatchObject({ replayed: "6", allowedToDenied: "3", deniedToAllowed: "3" });
  });

  it("refuses what is not a bundle, by field, and changes nothing", async () => {
    const err = await run({ bundle: new TextEncoder().encode("not a bundle") }).catch((e: unknown) =>
      ConnectError.from(e),
    );
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).rawMessage).toMatch(/^bundle: bundle is not valid gzip/);
    const big = await run({ bundle: new Uint8Array((4 << 20) + 1) }).catch((e: unknown) =>
      ConnectError.from(e),
    );
    expect((big as ConnectError).rawMessage).toBe(`bundle: exceeds ${4 << 20} bytes`);
  });
});
