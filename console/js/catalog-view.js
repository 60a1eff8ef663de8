// The catalog: every endpoint's effective data-policy attributes, each with its source
// (endpoint, provider, assumed, runtime) and evidence (url, document, date checked), paged by
// ListEndpoints' token; or a past revision a record refers to, fetched with GetRevision and its
// SHA-256 checked against its name here.
import { sha256, toHex, utf8 } from "../lib/bytes.js";
import { call } from "./api.js";
import { errorLine, h, show, table } from "./dom.js";

const PAGE_SIZE = 50;

/** Shows the current catalog (no revision) or `revision`, focused on `endpointId` when given. */
export async function showCatalog(revision, endpointId) {
  const out = document.getElementById("catalog");
  show(out, h("p", { class: "muted" }, "loading…"));
  try {
    if (revision) await showRevision(out, revision, endpointId);
    else await showPage(out, "");
  } catch (e) {
    show(out, errorLine(e));
  }
}

async function showPage(out, token) {
  const res = await call("CatalogService", "ListEndpoints", { pageSize: PAGE_SIZE, pageToken: token });
  const rows = (res.endpoints ?? []).map((e) => [
    h("strong", {}, e.id),
    e.providerHeadquarters ?? "",
    attribute(e.policy?.residency, (a) => `${a.region || "unknown"} ${a.country ?? ""}`),
    attribute(e.policy?.retention, (a) => (a.days === undefined ? "indefinite" : `${a.days} days`)),
    attribute(e.policy?.training, (a) => (a.trainsOnData ? "trains on data" : "no training")),
    attribute(e.policy?.caching, (a) => (a.caching ?? "").replace(/^CACHING_/, "").toLowerCase()),
  ]);
  show(
    out,
    h("p", { class: "muted" }, `current revision ${res.revision}`),
    table(["endpoint", "HQ", "residency", "retention", "training", "caching"], rows, { id: "endpoints" }),
    h(
      "div",
      { class: "pager" },
      token ? h("button", { onclick: () => showPage(out, "") }, "← first page") : null,
      res.nextPageToken ? h("button", { onclick: () => showPage(out, res.nextPageToken) }, "next →") : null,
    ),
  );
}

/** One attribute: value, source and its evidence. */
function attribute(a, value) {
  if (!a) return "—";
  const source = (a.source ?? "").replace(/^ATTRIBUTE_SOURCE_/, "").toLowerCase();
  const ev = a.evidence;
  return h(
    "div",
    { class: `attr ${source}` },
    h("div", {}, value(a)),
    h("div", { class: "source" }, `source: ${source}`),
    ev?.url || ev?.document
      ? h(
          "div",
          { class: "evidence" },
          ev.url
            ? h("a", { href: ev.url, rel: "noreferrer noopener", target: "_blank" }, ev.document || ev.url)
            : ev.document,
          ev.verifiedOn ? ` (checked ${ev.verifiedOn})` : "",
        )
      : h("div", { class: "evidence muted" }, "no evidence"),
  );
}

async function showRevision(out, revision, endpointId) {
  const res = await call("CatalogService", "GetRevision", { revision });
  const text = res.canonicalJson ?? "";
  const hash = toHex(await sha256(utf8(text)));
  const doc = JSON.parse(text);
  const found = endpointId ? findById(doc, endpointId) : undefined;
  show(
    out,
    h("h2", {}, `Catalog revision ${revision}`),
    h(
      "p",
      { class: hash === revision ? "badge ok" : "badge bad" },
      hash === revision
        ? "revision hash verified"
        : `revision hash verification FAILED: content hashes to ${hash}`,
    ),
    endpointId ? h("h3", {}, `Endpoint ${endpointId} as this decision saw it`) : null,
    h("pre", { id: "catalog-entry" }, JSON.stringify(found ?? doc, null, 2)),
  );
}

function findById(node, id) {
  if (Array.isArray(node)) {
    for (const x of node) {
      const f = findById(x, id);
      if (f) return f;
    }
  } else if (node && typeof node === "object") {
    if (node.id === id) return node;
    for (const v of Object.values(node)) {
      const f = findById(v, id);
      if (f) return f;
    }
  }
  return undefined;
}
