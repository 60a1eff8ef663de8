// Loaded into a bench's sovr with `--import` (bench/alloc-profile.ts): V8's sampling heap
// profiler over a window the bench chooses, counting every sampled allocation, also those the
// young generation's collections free (what `--heap-prof` leaves out: it reports what is still
// alive). The first SIGUSR2 starts sampling, the second stops it and writes the profile to
// $SOVR_BENCH_ALLOC_OUT, then a file `<that>.done`.
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";

const out = process.env.SOVR_BENCH_ALLOC_OUT;
if (!out) throw new Error("alloc-sampling-hook: SOVR_BENCH_ALLOC_OUT is not set");
const session = new Session();
session.connect();
session.post("HeapProfiler.enable");
let sampling = false;
process.on("SIGUSR2", () => {
  if (!sampling) {
    sampling = true;
    session.post("HeapProfiler.startSampling", {
      samplingInterval: 8192,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    return;
  }
  sampling = false;
  session.post("HeapProfiler.stopSampling", (err, r) => {
    if (err) throw err;
    writeFileSync(out, JSON.stringify(r.profile));
    writeFileSync(`${out}.done`, "");
  });
});
