// DOM helpers: elements are built with createElement and textContent only (never innerHTML),
// so nothing the server or a record says can become markup or script.

/** h("tr", {class: "x", onclick: fn}, child…): children are nodes, strings or arrays of them. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

/** Replaces an element's children. */
export function show(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** A verdict badge: ok → "… verified", otherwise "… FAILED: why" (or a neutral note). */
export function verdict(label, result) {
  if (result.pending) return h("span", { class: "badge pending" }, `${label}: ${result.why}`);
  return result.ok
    ? h("span", { class: "badge ok" }, `${label} verified`)
    : h("span", { class: "badge bad" }, `${label} verification FAILED: ${result.why}`);
}

/** A Connect JSON timestamp (RFC 3339) or µs since the epoch, as ISO 8601 UTC. */
export function when(t) {
  if (t === undefined || t === null || t === "") return "";
  const d = typeof t === "number" ? new Date(Math.floor(t / 1000)) : new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : d.toISOString().replace(".000Z", "Z");
}

/** A table from column names and rows of cells. */
export function table(columns, rows, attrs = {}) {
  return h(
    "table",
    attrs,
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        columns.map((c) => h("th", {}, c)),
      ),
    ),
    h(
      "tbody",
      {},
      rows.map((r) =>
        h(
          "tr",
          {},
          r.map((cell) => h("td", {}, cell)),
        ),
      ),
    ),
  );
}

/** A short error line for a failed call. */
export function errorLine(e) {
  return h("p", { class: "error", role: "alert" }, e?.message ?? String(e));
}
