// Decisions: QueryDecisions with its filters (time range, tenant, model, endpoint, outcome,
// policy revision; provider, residency country or region, inside or outside a region set,
// headquarters, a rule that excluded or passed, key id, content label), one page at a time by the server's page token — the indexed query, never
// "load everything". Earlier pages are revisited by the tokens kept in memory.
import { call } from "./api.js";
import { errorLine, h, show, table, when } from "./dom.js";

const PAGE_SIZE = 50;
const OUTCOMES = ["", "OUTCOME_SUCCESS", "OUTCOME_FAILED", "OUTCOME_DENIED", "OUTCOME_PENDING"];

/** Wires the search form (#search-form) and its results (#search-results). */
export function initSearch(openRecord) {
  const form = document.getElementById("search-form");
  const out = document.getElementById("search-results");
  const outcome = form.elements.outcome;
  for (const o of OUTCOMES) outcome.append(h("option", { value: o }, o ? o.slice(8).toLowerCase() : "any"));
  let tokens = [""];
  let page = 0;

  const filters = () => {
    const f = form.elements;
    const body = { pageSize: PAGE_SIZE };
    const iso = (v) => (v ? new Date(`${v}Z`).toISOString() : undefined);
    if (f.from.value) body.startTime = iso(f.from.value);
    if (f.to.value) body.endTime = iso(f.to.value);
    for (const [name, field] of [
      ["tenant", "tenant"],
      ["model", "model"],
      ["endpoint", "endpointId"],
      ["revision", "policyRevision"],
      ["provider", "provider"],
      ["country", "country"],
      ["region", "residencyRegion"],
      ["inside", "inside"],
      ["outside", "outside"],
      ["headquarters", "headquarters"],
      ["excluded", "excludedBy"],
      ["passed", "passed"],
      ["key", "keyId"],
      ["label", "label"],
    ])
      if (f[name].value.trim()) body[field] = f[name].value.trim();
    if (f.outcome.value) body.outcome = f.outcome.value;
    if (f.count.checked) body.includeCount = true;
    return body;
  };

  const load = async () => {
    show(out, h("p", { class: "muted" }, "searching…"));
    try {
      const res = await call("AuditService", "QueryDecisions", { ...filters(), pageToken: tokens[page] });
      const rows = (res.decisions ?? []).map((d) => [
        h(
          "button",
          { class: "link", "data-decision": d.decisionId, onclick: () => openRecord(d.decisionId) },
          d.decisionId,
        ),
        when(d.time),
        d.tenant,
        d.model,
        d.endpointId || "—",
        h("span", { class: `outcome ${outcomeName(d.outcome)}` }, outcomeName(d.outcome)),
        h("span", { title: d.policyRevision }, short(d.policyRevision)),
        d.decisionSeq ?? "0",
      ]);
      if (res.nextPageToken) tokens[page + 1] = res.nextPageToken;
      else tokens = tokens.slice(0, page + 1);
      show(
        out,
        res.total === undefined ? undefined : h("p", { id: "search-total" }, `${res.total} matching`),
        rows.length === 0
          ? h("p", { class: "muted" }, "no decisions match")
          : table(["decision", "time", "tenant", "model", "endpoint", "outcome", "policy", "seq"], rows, {
              id: "decisions",
            }),
        h(
          "div",
          { class: "pager" },
          h("button", { disabled: page === 0, onclick: () => go(page - 1) }, "← previous"),
          h("span", {}, ` page ${page + 1} `),
          h(
            "button",
            { disabled: !res.nextPageToken, onclick: () => go(page + 1), id: "next-page" },
            "next →",
          ),
        ),
      );
    } catch (e) {
      show(out, errorLine(e));
    }
  };
  const go = (p) => {
    page = p;
    void load();
  };
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    tokens = [""];
    go(0);
  });
}

/** A long revision hash cut to 12 characters (the whole one in its tooltip). */
function short(s) {
  return s && s.length > 16 ? `${s.slice(0, 12)}…` : (s ?? "");
}

/** OUTCOME_SUCCESS → success (Connect JSON may also send the enum's number). */
export function outcomeName(o) {
  if (typeof o === "number") return ["unspecified", "success", "failed", "denied", "pending"][o] ?? String(o);
  return (o ?? "OUTCOME_UNSPECIFIED").replace(/^OUTCOME_/, "").toLowerCase();
}
