import pg from "pg";

/**
 * A fresh, empty Postgres database next to the one `baseUrl` names, for one benchmark run:
 * sovr refuses to start on a log holding records signed by keys it does not know (integrity
 * check), and figures should not depend on what earlier runs left behind. `drop()` removes it.
 */
export async function scratchDatabase(
  baseUrl: string,
  tag: string,
): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `sovr_bench_${tag}_${Date.now().toString(36)}`.toLowerCase().replace(/[^a-z0-9_]/g, "_");
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: baseUrl });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`create database ${name}`);
  // Experiments: per-database server settings, e.g. SOVR_BENCH_PG_SETTINGS="jit=off,synchronous_commit=off"
  // (the server's own configuration is shared with everything else on it).
  for (const kv of (process.env.SOVR_BENCH_PG_SETTINGS ?? "").split(",").filter((x) => x.includes("="))) {
    const [k, v] = kv.split("=").map((x) => x.trim());
    if (!/^[a-z_]+$/.test(k!) || !/^[\w.]+$/.test(v!))
      throw new Error(`SOVR_BENCH_PG_SETTINGS: bad setting ${kv}`);
    await admin(`alter database ${name} set ${k} = '${v}'`);
  }
  const u = new URL(baseUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: () => admin(`drop database if exists ${name} with (force)`).catch(() => {}),
  };
}
