// Checkpoints: the latest signed checkpoint (or one of a given size) verified against the
// pinned keys, and its witness cosignatures against the pinned witness keys (C2SP
// tlog-cosignature). A cosignature by a witness that is not pinned is shown, not believed.
import { checkCosignatures, openCheckpointNote } from "../lib/note.js";
import { call } from "./api.js";
import { consistentWithKept } from "./consistency.js";
import { errorLine, h, show, table, verdict, when } from "./dom.js";
import { pinnedWitnesses, trustedRing, trustLabel } from "./trust.js";

/** The last checkpoint seen in this session: the next one must extend it. */
let lastSeen;

export function initCheckpoints() {
  const form = document.getElementById("checkpoint-form");
  const out = document.getElementById("checkpoint");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const size = form.elements.size.value.trim();
    show(out, h("p", { class: "muted" }, "loading…"));
    try {
      const res = await call("AuditService", "GetCheckpoint", size ? { size } : {});
      show(out, await checkpointBody(res.checkpoint ?? {}));
    } catch (e) {
      show(out, errorLine(e));
    }
  });
}

async function checkpointBody(cp) {
  const ring = trustedRing();
  let sig = { ok: false, why: "pin the log's keys first" };
  let opened;
  if (ring) {
    try {
      opened = await openCheckpointNote(cp.signedNote ?? "", ring);
      sig = { ok: true };
    } catch (e) {
      sig = { ok: false, why: e.message };
    }
  }
  const kept = document.getElementById("kept-checkpoint").value.trim();
  const keptNote = kept ? `${kept}\n` : lastSeen;
  const consistency = opened && keptNote ? await consistentWithKept(keptNote, opened, ring) : undefined;
  if (opened && (!consistency || consistency.ok)) lastSeen = cp.signedNote;
  const cos = opened ? await checkCosignatures(opened.text, cp.cosignatures ?? [], pinnedWitnesses()) : [];
  const verified = cos.filter((c) => c.status === "verified").length;
  return h(
    "section",
    {},
    h(
      "div",
      { class: "verdicts", id: "checkpoint-verdicts" },
      verdict("checkpoint signature", sig),
      consistency ? verdict(`consistency with the kept checkpoint`, consistency) : null,
    ),
    h("p", { class: "muted" }, `against ${trustLabel()}`),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "origin"),
      h("dd", {}, cp.origin ?? ""),
      h("dt", {}, "size"),
      h("dd", {}, String(cp.size ?? 0)),
      h("dt", {}, "time"),
      h("dd", {}, when(cp.time)),
    ),
    h("h3", {}, "Signed note"),
    h(
      "pre",
      { id: "checkpoint-note" },
      [cp.signedNote ?? "", ...(cp.cosignatures ?? []).map((l) => `${l}\n`)].join(""),
    ),
    h("h3", {}, `Witness cosignatures (${verified} verified of ${pinnedWitnesses().length} pinned)`),
    (cp.cosignatures ?? []).length === 0
      ? h("p", { class: "muted" }, "none: no witness cosigned this checkpoint")
      : table(
          ["witness", "status", "cosigned at"],
          cos.map((c) => [
            c.name,
            h(
              "span",
              { class: c.status === "verified" ? "ok" : c.status === "FAILED" ? "bad" : "muted" },
              c.status,
            ),
            c.time ? new Date(c.time * 1000).toISOString() : "",
          ]),
          { id: "cosignatures" },
        ),
  );
}
