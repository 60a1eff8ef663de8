// The console's entry point: the key (memory only), the trust panel and the views. Navigation
// switches sections in place; nothing — least of all the key — goes into the URL or storage.
import { hasKey, setKey } from "./api.js";
import { showCatalog } from "./catalog-view.js";
import { initCheckpoints } from "./checkpoints-view.js";
import { h } from "./dom.js";
import { initImpact } from "./impact-view.js";
import { showRecord } from "./record-view.js";
import { initSearch } from "./search-view.js";
import { initTrust } from "./trust.js";

const VIEWS = ["search", "record", "checkpoints", "catalog", "impact"];

function view(name) {
  for (const v of VIEWS) {
    document.getElementById(`view-${v}`).hidden = v !== name;
    document.getElementById(`nav-${v}`)?.classList.toggle("active", v === name);
  }
}

const openCatalog = (revision, endpointId) => {
  view("catalog");
  void showCatalog(revision, endpointId);
};
const openRecord = (id) => {
  view("record");
  void showRecord(id, openCatalog);
};

document.getElementById("key-use").addEventListener("click", () => {
  const input = document.getElementById("key");
  setKey(input.value.trim());
  input.value = "";
  document.getElementById("key-status").textContent = hasKey()
    ? "key set (kept in this page's memory only)"
    : "no key";
});
for (const v of VIEWS)
  document
    .getElementById(`nav-${v}`)
    ?.addEventListener("click", () => (v === "catalog" ? openCatalog() : view(v)));
document.getElementById("record-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const id = ev.target.elements.id.value.trim();
  if (id) openRecord(id);
});

// WebCrypto exists only in a secure context (HTTPS, or loopback): say so instead of failing later.
if (!globalThis.crypto?.subtle)
  document
    .querySelector("header")
    .append(
      h(
        "p",
        { class: "warn", id: "insecure" },
        "This page is not a secure context (HTTPS or localhost): the browser withholds WebCrypto, so nothing can be verified here. Serve the HTTP port with SOVR_HTTP_TLS=on, or reach it through localhost.",
      ),
    );
initTrust(() => {});
initSearch(openRecord);
initCheckpoints();
initImpact();
view("search");
