// The standalone verifier's page logic (console/sovr-verify.html, built by
// scripts/build-standalone-verifier.mjs with lib/*.js inlined). Opened from disk, it reads an
// export's files and the auditor's pinned keys through file pickers, or a saved GetDecision
// answer, and verifies them with WebCrypto. It makes no network request (its CSP says so).

import { h, show, verdict } from "../js/dom.js";
import { verifyServedEntry } from "../lib/entry.js";
import { verifyExportFiles } from "../lib/export-verify.js";
import { loadKeyRing } from "../lib/keyring.js";
import { parseWitnessKey } from "../lib/note.js";

async function pinnedRing() {
  const file = document.getElementById("pinned").files?.[0];
  if (!file)
    throw new Error("choose the pinned keys file (keys.json from sovr audit keys --out, kept beforehand)");
  return loadKeyRing(JSON.parse(await file.text()), "pinned");
}

async function witnessKeys() {
  const lines = document
    .getElementById("witnesses")
    .value.split("\n")
    .filter((l) => l.trim() !== "");
  return Promise.all(lines.map(parseWitnessKey));
}

/** Sorts the chosen files by name: records.jsonl, checkpoints.jsonl, keys.json, catalogs. */
async function exportFiles() {
  const files = { catalogs: [] };
  const chosen = [
    ...(document.getElementById("export").files ?? []),
    ...(document.getElementById("export-dir").files ?? []),
  ];
  for (const f of chosen) {
    if (f.name === "records.jsonl") files.records = f.stream();
    else if (f.name === "checkpoints.jsonl") files.checkpoints = await f.text();
    else if (f.name === "keys.json") files.keys = await f.text();
    else if (/^[0-9a-f]{64}\.json$/.test(f.name))
      files.catalogs.push({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) });
  }
  for (const need of ["records", "checkpoints", "keys"])
    if (files[need] === undefined)
      throw new Error(`the export's ${need === "keys" ? "keys.json" : `${need}.jsonl`} was not chosen`);
  return files;
}

async function verifyExport() {
  const out = document.getElementById("result");
  show(out, h("p", {}, "verifying…"));
  try {
    const ring = await pinnedRing();
    const s = await verifyExportFiles(await exportFiles(), ring, await witnessKeys(), (n) =>
      show(out, h("p", {}, `verified ${n} records…`)),
    );
    show(
      out,
      s.ok
        ? h(
            "p",
            { class: "badge ok", id: "verdict" },
            `OK: ${s.records} records, ${s.checkpoints} checkpoints (${s.checkpointedSize} records checkpointed), verified against the pinned keys`,
          )
        : h(
            "p",
            { class: "badge bad", id: "verdict" },
            `FAILED at ${s.firstError.where}: ${s.firstError.what}`,
          ),
      h(
        "ul",
        {},
        h("li", {}, s.scope ? `tenant-scoped export: tenant ${s.scope.tenant}` : "whole-log export"),
        s.rootHash ? h("li", {}, `root ${s.rootHash}`) : null,
        !s.ok
          ? null
          : h(
              "li",
              {},
              s.catalogsChecked
                ? `${s.catalogs} catalog revision(s) checked`
                : "catalogs/ not chosen: catalog revisions not checked",
            ),
        (s.cosignatures ?? []).map((c) => h("li", {}, `witness ${c.name}: ${c.status}`)),
      ),
    );
  } catch (e) {
    show(out, h("p", { class: "badge bad", id: "verdict" }, `FAILED: ${e.message}`));
  }
}

async function verifyAnswer() {
  const out = document.getElementById("result");
  try {
    const ring = await pinnedRing();
    const res = JSON.parse(document.getElementById("answer").value);
    const d = await verifyServedEntry(res.decision, res.decisionProof, res.checkpoint, ring);
    show(
      out,
      h("div", { id: "verdict" }, verdict("signature", d.signature), verdict("inclusion", d.inclusion)),
      h("pre", {}, JSON.stringify(d.record, null, 2)),
    );
  } catch (e) {
    show(out, h("p", { class: "badge bad", id: "verdict" }, `FAILED: ${e.message}`));
  }
}

document.getElementById("verify-export").addEventListener("click", () => void verifyExport());
document.getElementById("verify-answer").addEventListener("click", () => void verifyAnswer());
