// Whether dist/ holds a build of the current sources: `npm run build` writes dist/.built last,
// after a build that succeeded; the build is current while no file under src/ is newer.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = fileURLToPath(new URL("..", import.meta.url));
export const STAMP = join(REPO, "dist", ".built");

/** The newest modification time (ms) of `dir` and anything under it (a removal changes its directory's). */
function newest(dir) {
  let max = statSync(dir).mtimeMs;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    const t = e.isDirectory() ? newest(path) : statSync(path).mtimeMs;
    if (t > max) max = t;
  }
  return max;
}

/** True when dist/ was built, successfully, from the sources as they are now. */
export function buildIsCurrent() {
  let built;
  try {
    built = statSync(STAMP).mtimeMs;
  } catch {
    return false;
  }
  return newest(join(REPO, "src")) <= built;
}
