/**
 * The upstream simulator as its own process, so its CPU is neither the load generator's nor
 * the target's. No artificial delay: TTFT 0, unpaced, 16 content chunks (the defaults).
 * Prints one JSON line `{"url": …}` when listening; SIGTERM closes it.
 *
 * Run: node --import tsx bench/simulator-process.ts [port]
 */
import { startSimulator } from "../src/simulator/simulator.js";

const sim = await startSimulator({ port: Number(process.argv[2] ?? 0) });
process.stdout.write(`${JSON.stringify({ url: sim.url })}\n`);
const stop = () => void sim.close().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
