// One decision: GetDecision's envelopes, proofs and checkpoint, verified here in the browser
// (lib/entry.js) against the pinned keys, then the record shown — candidates with their
// verdicts, the checks with stage, rule and reason, the policy and catalog revisions, and
// links to each candidate's catalog evidence at the record's catalog revision.
import { verifyServedEntry } from "../lib/entry.js";
import { call } from "./api.js";
import { errorLine, h, show, table, verdict, when } from "./dom.js";
import { trustedRing, trustLabel } from "./trust.js";

/** Loads and shows decision `id` in #record. `openCatalog(revision, endpointId)` follows evidence links. */
export async function showRecord(id, openCatalog) {
  const out = document.getElementById("record");
  show(out, h("p", { class: "muted" }, `loading ${id}…`));
  try {
    const res = await call("AuditService", "GetDecision", { decisionId: id });
    const ring = trustedRing();
    if (!ring) {
      show(
        out,
        errorLine(new Error("pin the log's keys first (keys.json): the record is verified against them")),
      );
      return;
    }
    const d = await verifyServedEntry(res.decision, res.decisionProof, res.checkpoint, ring);
    const o = res.outcome
      ? await verifyServedEntry(res.outcome, res.outcomeProof, res.checkpoint, ring)
      : undefined;
    show(
      out,
      h("h2", {}, `Decision ${id}`),
      h(
        "div",
        { class: "verdicts", id: "record-verdicts" },
        verdict("signature", d.signature),
        verdict("inclusion", d.inclusion),
        o ? [verdict("outcome signature", o.signature), verdict("outcome inclusion", o.inclusion)] : null,
      ),
      h("p", { class: "muted" }, `verified in this browser against ${trustLabel()}`),
      d.inclusion.ok
        ? h(
            "p",
            { class: "muted" },
            `in the log at seq ${res.decision.seq ?? 0}, under checkpoint size ${d.inclusion.size} (root ${d.inclusion.root}) signed by ${d.inclusion.keyId}`,
          )
        : null,
      d.signature.ok
        ? null
        : h(
            "p",
            { class: "warn", id: "record-unverified" },
            "The record below is NOT verified: it is shown as the server sent it.",
          ),
      d.record ? recordBody(d.record, openCatalog) : errorLine(new Error("the payload is not a record")),
      o?.record ? outcomeBody(o.record) : h("p", { class: "muted" }, "outcome: pending"),
      h("details", {}, h("summary", {}, "record JSON"), h("pre", {}, JSON.stringify(d.record, null, 2))),
    );
  } catch (e) {
    show(out, errorLine(e));
  }
}

function recordBody(r, openCatalog) {
  const checks = r.checks ?? [];
  const rows = candidateRows(r).map((c) => [
    h("button", { class: "link", onclick: () => openCatalog(r.catalog_revision, c.endpoint) }, c.endpoint),
    c.excluded.length === 0
      ? h("span", { class: "ok" }, c.planned >= 0 ? `eligible, attempt ${c.planned + 1}` : "eligible")
      : h(
          "ul",
          {},
          c.excluded.map((x) => h("li", {}, `${x.stage} · ${x.rule}: ${x.reason}`)),
        ),
    c.weight === undefined ? "" : String(c.weight / 1e9),
  ]);
  const req = r.request ?? {};
  return h(
    "section",
    {},
    h(
      "dl",
      { class: "facts" },
      fact("time", when(r.time_us)),
      fact("tenant", r.principal?.tenant),
      fact(
        "caller",
        r.caller ? `${r.caller.kind} ${r.caller.subject} ${r.caller.key_id ?? ""}` : r.principal?.workload,
      ),
      fact("model", [req.model, ...(req.models ?? [])].join(" → ")),
      fact("region required", req.region ?? "none"),
      fact(
        "policy revision",
        `${r.policy?.revision} (sha256 ${r.policy?.sha256})${r.policy?.error ? ` error: ${r.policy.error}` : ""}`,
      ),
      fact(
        "catalog revision",
        r.catalog_revision
          ? h("button", { class: "link", onclick: () => openCatalog(r.catalog_revision) }, r.catalog_revision)
          : "—",
      ),
      fact("plan", (r.plan ?? []).join(" → ") || "nothing eligible (denied)"),
      fact(
        "content labels",
        Object.entries(r.labels ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(", ") || "none",
      ),
      fact("obligations", (r.obligations ?? []).join(", ") || "none"),
      fact("record format", `v${r.v}, tenant_seq ${r.tenant_seq ?? "—"}`),
    ),
    h("h3", {}, "Checks that excluded a candidate"),
    checks.length === 0
      ? h("p", { class: "muted" }, "none: every candidate passed every check that ran")
      : table(
          ["#", "stage", "rule", "reason"],
          checks.map((c, i) => [String(i), c.stage, c.rule, c.reason]),
          { id: "checks" },
        ),
    h("h3", {}, "Candidates"),
    table(["endpoint (catalog evidence)", "verdict", "weight"], rows, { id: "candidates" }),
  );
}

/** One row per candidate, from v2 columns or v1 objects: {endpoint, excluded[], weight, planned}. */
export function candidateRows(r) {
  const plan = r.plan ?? [];
  if (Array.isArray(r.candidates))
    return r.candidates.map((c) => ({
      endpoint: c.endpoint_id,
      excluded: c.exclusions ?? [],
      weight: c.weight_ppb,
      planned: plan.indexOf(c.endpoint_id),
    }));
  const cols = r.candidates ?? {};
  return (cols.endpoint_id ?? []).map((endpoint, i) => ({
    endpoint,
    excluded: (cols.exclusions?.[i] ?? []).map(
      (k) => r.checks?.[k] ?? { stage: "?", rule: `check ${k}`, reason: "" },
    ),
    weight: cols.weight_ppb?.[i],
    planned: plan.indexOf(endpoint),
  }));
}

function outcomeBody(o) {
  return h(
    "section",
    {},
    h("h3", {}, "Outcome"),
    h(
      "dl",
      { class: "facts" },
      fact("outcome", o.outcome),
      fact("endpoint used", o.endpoint_used ?? "—"),
      fact(
        "attempts",
        (o.attempts ?? []).map((a) => `${a.endpoint_id} ${a.status ?? a.error_class ?? ""}`).join("; ") ||
          "none",
      ),
      fact("latency", o.latency_us === undefined ? "" : `${(o.latency_us / 1000).toFixed(1)} ms`),
      fact(
        "usage",
        o.usage ? `${o.usage.prompt_tokens} prompt + ${o.usage.completion_tokens} completion tokens` : "—",
      ),
    ),
  );
}

function fact(name, value) {
  return [h("dt", {}, name), h("dd", {}, value ?? "")];
}
