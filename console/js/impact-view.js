// Policy impact: a draft bundle (opa build -t wasm output) uploaded from a file, replayed by the
// server over past decisions in a sandbox (PolicyImpact, streamed: progress, then a summary).
import { toBase64 } from "../lib/bytes.js";
import { stream } from "./api.js";
import { errorLine, h, show, table } from "./dom.js";

export function initImpact() {
  const form = document.getElementById("impact-form");
  const out = document.getElementById("impact");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = form.elements;
    const file = f.bundle.files?.[0];
    if (!file) return show(out, errorLine(new Error("choose a bundle file (.tar.gz)")));
    const hours = Number(f.since.value || "24");
    const body = {
      bundle: toBase64(new Uint8Array(await file.arrayBuffer())),
      startTime: new Date(Date.now() - hours * 3600_000).toISOString(),
    };
    if (f.tenant.value.trim()) body.tenant = f.tenant.value.trim();
    if (f.limit.value) body.limit = Number(f.limit.value);
    if (f.sample.value) body.sample = Number(f.sample.value);
    const progress = h("p", { class: "muted", id: "impact-progress" }, "replaying…");
    show(out, progress);
    try {
      await stream("AuditService", "PolicyImpact", body, (m) => {
        if (m.summary) show(out, summary(m.summary));
        else progress.textContent = `replayed ${m.replayed ?? 0}…`;
      });
    } catch (e) {
      show(out, errorLine(e));
    }
  });
}

function summary(s) {
  const n = (v) => String(v ?? 0);
  return h(
    "section",
    { id: "impact-summary" },
    h(
      "dl",
      { class: "facts" },
      [
        ["replayed", s.replayed],
        ["unchanged", s.unchanged],
        ["allowed → denied", s.allowedToDenied],
        ["denied → allowed", s.deniedToAllowed],
        ["otherwise changed", s.otherwiseChanged],
        ["errors", s.errors],
        ["unavailable", s.unavailable],
      ].map(([k, v]) => [h("dt", {}, k), h("dd", {}, n(v))]),
    ),
    s.truncated ? h("p", { class: "warn" }, "truncated by the limit") : null,
    h("h3", {}, "Per rule"),
    table(
      ["stage", "rule", "newly excluded", "no longer excluded", "allowed → denied", "denied → allowed"],
      (s.rules ?? []).map((r) => [
        String(r.stage ?? "")
          .replace(/^EXCLUSION_STAGE_/, "")
          .toLowerCase(),
        r.rule,
        n(r.newlyExcluded),
        n(r.noLongerExcluded),
        n(r.allowedToDenied),
        n(r.deniedToAllowed),
      ]),
    ),
    h("h3", {}, "Per tenant"),
    table(
      ["tenant", "replayed", "changed", "allowed → denied", "denied → allowed"],
      (s.tenants ?? []).map((t) => [
        t.tenant,
        n(t.replayed),
        n(t.changed),
        n(t.allowedToDenied),
        n(t.deniedToAllowed),
      ]),
    ),
    h("h3", {}, "Examples"),
    h(
      "pre",
      {},
      JSON.stringify(
        {
          allowed_to_denied: s.allowedToDeniedExamples ?? [],
          denied_to_allowed: s.deniedToAllowedExamples ?? [],
        },
        null,
        2,
      ),
    ),
  );
}
