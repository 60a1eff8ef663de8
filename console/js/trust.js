// What the console verifies against: keys the user pinned (keys.json from `sovr audit keys
// --out`, pasted or chosen with the file picker) — or, only when the user asks, the keys this
// server serves, labelled as such everywhere a verdict is shown — and witness keys.

import { loadKeyRing } from "../lib/keyring.js";
import { parseWitnessKey } from "../lib/note.js";
import { call } from "./api.js";
import { h, show } from "./dom.js";

const state = { ring: undefined, witnesses: [] };

/** The key ring verdicts use, or undefined while nothing is pinned. */
export function trustedRing() {
  return state.ring;
}

export function pinnedWitnesses() {
  return state.witnesses;
}

/** "pinned keys (2: fe81…)" or "keys served by this server (NOT independent)". */
export function trustLabel() {
  if (!state.ring) return "no keys pinned";
  const ids = [...state.ring.keys.keys()].join(", ");
  return state.ring.source === "served"
    ? `the keys this server serves (${ids}) — NOT independent of the operator`
    : `pinned keys (${ids})`;
}

/** Wires the trust panel: #keys-file, #keys-text, #keys-pin, #keys-served, #witness-text, #trust-status. */
export function initTrust(onChange) {
  const status = document.getElementById("trust-status");
  const report = (e) => {
    show(status, e ? h("span", { class: "error" }, e.message) : trustLabel());
    status.className = state.ring?.source === "served" ? "warn" : "";
    onChange();
  };
  const pin = async (text, source) => {
    try {
      state.ring = await loadKeyRing(JSON.parse(text), source);
      report();
    } catch (e) {
      report(e);
    }
  };
  document.getElementById("keys-file").addEventListener("change", async (ev) => {
    const file = ev.target.files?.[0];
    if (file) await pin(await file.text(), "pinned");
  });
  document
    .getElementById("keys-pin")
    .addEventListener("click", () => pin(document.getElementById("keys-text").value, "pinned"));
  document.getElementById("keys-served").addEventListener("click", async () => {
    try {
      await pin(JSON.stringify(await call("AuditService", "ListSigningKeys")), "served");
    } catch (e) {
      report(e);
    }
  });
  document.getElementById("witness-pin").addEventListener("click", async () => {
    const lines = document
      .getElementById("witness-text")
      .value.split("\n")
      .filter((l) => l.trim() !== "");
    try {
      state.witnesses = await Promise.all(lines.map(parseWitnessKey));
      show(document.getElementById("witness-status"), `${state.witnesses.length} witness key(s) pinned`);
    } catch (e) {
      show(document.getElementById("witness-status"), h("span", { class: "error" }, e.message));
    }
    onChange();
  });
}
