import { setFlagsFromString } from "node:v8";

/** How an operator keeps V8's own choice: the flag given to node, either way round. */
const GIVEN = /(^|\s)--(no-)?allocation[-_]site[-_]pretenuring(\s|=|$)/;

/**
 * Turns off V8's allocation-site pretenuring for the process (every heap in it: the request
 * thread's and the database thread's). V8 watches, at each young collection, how many of the
 * objects made at one place in the code are still alive; past 85 % it makes that place's
 * objects straight in the old generation from then on. Under load a record's parts wait
 * ~100 ms in the journal's backlog for the database, past a young collection or two, and the
 * places that make them (and others a request passes through) were judged long-lived: from
 * then on every request's objects made there went to the old generation, dead a millisecond
 * later, for the next full collection to find — one every ~2.5 s at 500 req/s, whose marking
 * threads take a core from the request thread on a 2-core machine. Without pretenuring an
 * object reaches the old generation only by outliving two young collections.
 *
 * Measured (bench/findings.md, session 24; docs/operations.md "Memory"): at 500 req/s the
 * promotion per young collection 0.32 → 0.18 MB, full collections 14 → 6 in 32 s, CPU a
 * request −9 to −15 %, the p99 about half what it was.
 *
 * Set at start, before the request path has run: V8 reads the flag at each young collection
 * (a place already judged keeps its verdict). `--allocation-site-pretenuring` or
 * `--no-allocation-site-pretenuring` given to node (on the command line or in NODE_OPTIONS)
 * leaves V8 as told. Returns whether the flag was set here.
 */
export function stopPretenuring(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string | undefined = process.env.NODE_OPTIONS,
): boolean {
  if (execArgv.some((a) => GIVEN.test(a)) || GIVEN.test(nodeOptions ?? "")) return false;
  setFlagsFromString("--no-allocation-site-pretenuring");
  return true;
}
