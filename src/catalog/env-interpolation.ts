/**
 * `${VAR}` / `${VAR:-default}` interpolation, as in POSIX shells and docker compose: the default
 * applies when VAR is unset or empty. Used for `base_url`, so that e.g. the simulator's endpoints
 * follow `SOVR_SIMULATOR_URL`. The environment is injected (tests, replays), never read here.
 */
export type Env = Readonly<Record<string, string | undefined>>;

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Result of interpolating one string: the value, or why it could not be interpolated. */
export type Interpolation = { ok: true; value: string } | { ok: false; message: string };

export function interpolateEnv(template: string, env: Env): Interpolation {
  const missing: string[] = [];
  const value = template.replace(REFERENCE, (_, name: string, fallback: string | undefined) => {
    const set = env[name];
    if (set !== undefined && set !== "") return set;
    if (fallback !== undefined) return fallback;
    missing.push(name);
    return "";
  });
  if (missing.length > 0) {
    return {
      ok: false,
      message: `environment variable ${missing.join(", ")} is not set and has no default (use \${VAR:-default})`,
    };
  }
  if (value.includes("${")) {
    return { ok: false, message: `malformed \${…} reference in "${template}"` };
  }
  return { ok: true, value };
}

/** The variable names a template refers to, in order of appearance (defaults or not). */
export function referencedVariables(template: string): string[] {
  return [...template.matchAll(REFERENCE)].map((m) => m[1]!);
}
