/**
 * Replay (DESIGN §8): after the live policy changes, a past decision still replays exactly
 * from its stored bundle and catalog revision; asked to use the live policy, the replay
 * reports what the new policy changes.
 */
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decisionEntries } from "../../src/audit/audit-store.js";
import { envelopePayload } from "../../src/audit/dsse.js";
import {
  type DecisionRecordV1,
  type DecisionRecordV2,
  decodeRecord,
  encodeRecord,
  validateRecord,
} from "../../src/audit/record.js";
import { candidateRows } from "../../src/audit/record-candidates.js";
import { replayCommand } from "../../src/cli/audit-commands.js";
import { uuidv7 } from "../../src/encoding/uuidv7.js";
import { ExclusionStage } from "../../src/gen/sovereign/v1/router_pb.js";
import { buildPolicyBundle } from "../../src/policy/bundle-build.js";
import { appDatabases, REPO, startTestApp, type TestApp } from "../support/app.js";
import { auditor, chat } from "../support/audit-live.js";
import { GrpcJsClient } from "../support/grpc.js";

const BAR_EU = `package sovereign.route

# Added for the replay test: the new policy bars the EU simulator.
deny[ep.id] contains "replay_test: sim-eu is barred by the new policy" if {
	some ep in input.endpoints
	ep.provider == "sim-eu"
}
`;

// Changes the bundle (its revision and hash) and nothing any decision depends on.
const NOOP = `package sovereign.replay_noop

# Added for the replay test: a rule nothing reads.
unused := true
`;

describe.each(appDatabases)("replaying decisions after the policy changed (%s)", (database) => {
  let dir: string;
  let t: TestApp;
  let grpc: GrpcJsClient;
  let newBundle: string;
  let noopBundle: string;
  const ids: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sovr-replay-"));
    // The server watches its own copy of the shipped bundle, so the test can replace it.
    await cp(join(REPO, "policies/dist/bundle.tar.gz"), join(dir, "bundle.tar.gz"));
    const src = join(dir, "policies");
    await cp(join(REPO, "policies"), src, { recursive: true, filter: (p) => !p.includes("/dist") });
    await writeFile(join(src, "replay_noop.rego"), NOOP);
    noopBundle = (await buildPolicyBundle({ sourceDir: src, outFile: join(dir, "noop.tar.gz") })).outFile;
    await writeFile(join(src, "replay_extra.rego"), BAR_EU);
    newBundle = (await buildPolicyBundle({ sourceDir: src, outFile: join(dir, "new.tar.gz") })).outFile;

    t = await startTestApp({ database, bundlePath: join(dir, "bundle.tar.gz") });
    grpc = new GrpcJsClient(`127.0.0.1:${t.app.servers.grpcPort}`);
    // No region: several endpoints are eligible, so the plan depends on the recorded seed.
    for (let i = 0; i < 4; i++) ids.push(await chat(grpc, `replay ${i}`, ""));
    ids.push(await chat(grpc, "replay eu", "eu"));
  }, 60_000);
  afterAll(async () => {
    grpc?.close();
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("reproduces each decision exactly, then still does after the live policy changed", async () => {
    const client = auditor(t);
    for (const id of ids) {
      const r = await client.replayDecision({ decisionId: id });
      expect(r.differences).toEqual([]);
      expect(r.match).toBe(true);
      expect(r.replayed!.plan).toEqual(r.recorded!.plan);
      expect(r.replayed!.seed).toBe(r.recorded!.seed);
    }
    // Several endpoints were eligible: the plan's order came from the recorded seed.
    const multi = (await client.replayDecision({ decisionId: ids[0]! })).recorded!.plan;
    expect(multi.length).toBeGreaterThan(1);

    const oldSha = t.app.policy.current!.sha256;
    // A new bundle that decides the same: the live replay matches, and says which bundles.
    await cp(noopBundle, join(dir, "bundle.tar.gz"));
    await t.app.bundles.reloadFile();
    const noopSha = t.app.policy.current!.sha256;
    expect(noopSha).not.toBe(oldSha);
    for (const id of ids) {
      const r = await client.replayDecision({ decisionId: id, useLivePolicy: true });
      expect(r.match, r.differences.join("\n")).toBe(true);
      expect(r.bundleChanged).toBe(true);
      expect(r.candidateChanges).toEqual([]);
      expect(r.planChanged).toBe(false);
      expect(r.differences.filter((d) => d.startsWith("policy."))).toEqual([]);
      expect(r.replayed!.policy!.sha256).toBe(noopSha);
    }
    const cliSame = await replayCommand(ids[0]!, { url: t.app.httpUrl, livePolicy: true });
    expect(cliSame.exitCode, cliSame.stdout.join("\n")).toBe(0);
    expect(cliSame.stdout[1]).toBe(
      `note: replayed with bundle ${t.app.policy.current!.revision.slice(0, 12)} (sha256 ${noopSha.slice(0, 12)}), recorded with ${cliSame.stdout[0]!.match(/recorded with policy (.*?), replayed/)![1]}: compared by decision (plan, verdicts, obligations)`,
    );
    expect(cliSame.stdout[2]).toMatch(/^MATCH: plan /);

    await cp(newBundle, join(dir, "bundle.tar.gz"));
    await t.app.bundles.reloadFile();
    expect(t.app.policy.current!.sha256).not.toBe(oldSha);
    // The recorded decisions still replay exactly: the stored bundle is used, not the live one…
    for (const id of ids) {
      const r = await client.replayDecision({ decisionId: id });
      expect(r.match, r.differences.join("\n")).toBe(true);
      expect(r.bundleChanged).toBe(false);
      expect(r.replayed!.policy!.sha256).toBe(oldSha);
    }

    // …and replaying with the live policy shows exactly what it changes, candidate by candidate.
    const eu = ids.at(-1)!;
    const live = await client.replayDecision({ decisionId: eu, useLivePolicy: true });
    expect(live.match).toBe(false);
    expect(live.bundleChanged).toBe(true);
    expect(live.replayed!.policy!.sha256).toBe(t.app.policy.current!.sha256);
    expect(live.planChanged).toBe(true);
    expect(live.candidateChanges.map((c) => c.endpointId)).toEqual(["sim-eu/chat-small"]);
    const [change] = live.candidateChanges;
    expect(change!.before).toMatchObject({ eligible: true, exclusions: [] });
    expect(change!.after!.eligible).toBe(false);
    expect(change!.after!.exclusions.map((e) => [e.stage, e.rule, e.reason])).toEqual([
      [ExclusionStage.POLICY, "replay_test", "replay_test: sim-eu is barred by the new policy"],
    ]);
    expect(live.differences).toContain(
      `candidates[sim-eu/chat-small].eligible: recorded true, replayed false`,
    );
    expect(live.differences.some((d) => d.startsWith("policy.sha256: "))).toBe(false);

    const cli = await replayCommand(eu, { url: t.app.httpUrl });
    expect(cli.exitCode).toBe(0);
    expect(cli.stdout[1]).toBe("MATCH: plan sim-eu/chat-small");
    const cliLive = await replayCommand(eu, { url: t.app.httpUrl, livePolicy: true });
    expect(cliLive.exitCode).toBe(1);
    expect(cliLive.stdout.slice(2)).toEqual([
      "DIFFERS (1 candidate(s) changed):",
      '  sim-eu/chat-small: eligible → excluded by rule replay_test at stage policy ("replay_test: sim-eu is barred by the new policy")',
      "  plan: sim-eu/chat-small → (none)",
    ]);
    const json = JSON.parse(
      (await replayCommand(eu, { url: t.app.httpUrl, livePolicy: true, json: true })).stdout[0]!,
    );
    expect(json).toMatchObject({
      match: false,
      bundle_changed: true,
      plan_changed: true,
      recorded_plan: ["sim-eu/chat-small"],
      replayed_plan: [],
      candidate_changes: [
        {
          endpoint_id: "sim-eu/chat-small",
          before: { eligible: true, exclusions: [] },
          after: {
            eligible: false,
            exclusions: [
              {
                stage: "policy",
                rule: "replay_test",
                reason: "replay_test: sim-eu is barred by the new policy",
              },
            ],
          },
        },
      ],
    });
  });

  it("replays a v1 decision record (written before tenant_seq) as it replays v2", async () => {
    // A recorded decision as a server before record format v2 would have logged it.
    const { decision } = await decisionEntries(t.app.db.db, ids[1]!);
    const v2 = decodeRecord(envelopePayload(decision!.envelope)) as unknown as DecisionRecordV2;
    expect(v2).toMatchObject({ v: 2, tenant_seq: expect.any(Number) });
    // v1's shape: no v2 fields, one object per candidate with its model and exclusions spelled
    // out, and (unlike v2) rolling performance for excluded candidates too.
    const {
      tenant_seq: _,
      shard: _s,
      caller: _c,
      checks: _k,
      applied: _a,
      labels: _l,
      obligations: _o,
      candidates: _cs,
      request: { modalities: _m, ...request },
      ...rest
    } = v2;
    const v1: DecisionRecordV1 = {
      ...rest,
      request,
      v: 1,
      decision_id: uuidv7(Math.floor(v2.time_us / 1000)),
      candidates: candidateRows(v2).map((c) => ({
        ...c,
        model: v2.request.model,
        ...(c.eligible ? {} : { ttft_us: 123_000, tokens_per_second_milli: 45_000 }),
      })),
    };
    expect(validateRecord(v1)).toEqual(v1);
    await t.app.audit.settled();
    const [row] = await t.app.db.db
      .selectFrom("audit_decisions")
      .selectAll()
      .where("decision_id", "=", ids[1]!)
      .execute();
    await t.app.audit.append({
      kind: "decision",
      decisionId: v1.decision_id,
      recordedAt: new Date(),
      payload: encodeRecord(v1),
      index: {
        tenant: row!.tenant,
        model: row!.model,
        endpoint_id: row!.endpoint_id,
        outcome: "pending",
        policy_revision: row!.policy_revision,
        policy_sha256: row!.policy_sha256,
        catalog_revision: row!.catalog_revision,
      },
    });
    const r = await auditor(t).replayDecision({ decisionId: v1.decision_id });
    expect(r.differences).toEqual([]);
    expect(r.match).toBe(true);
  });

  it("names what is missing: an unknown decision is NotFound", async () => {
    const err = await auditor(t)
      .replayDecision({ decisionId: "0190c0de-0000-7000-8000-000000000000" })
      .catch((e: unknown) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.NotFound);
  });
});
