/**
 * The overhead chart of docs/benchmarks.md, as a self-contained SVG: one panel per (rate, kind),
 * one group of bars per system, one bar per percentile (p50, p90, p99, p99.9) of
 * overhead = target − direct, on a log scale (overheads span 0.1 ms to seconds).
 */

export interface Series {
  label: string;
  /** ms for p50, p90, p99, p99.9; null when not measured. */
  values: (number | null)[];
  note?: string;
}

export interface Panel {
  title: string;
  series: Series[];
}

const PCTS = ["p50", "p90", "p99", "p99.9"];
const COLORS = ["#4c78a8", "#72b7b2", "#f58518", "#e45756"];
const W = 520;
const H = 250;
const M = { left: 52, right: 12, top: 30, bottom: 44 };

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function panel(p: Panel, x0: number, y0: number, lo: number, hi: number): string {
  const iw = W - M.left - M.right;
  const ih = H - M.top - M.bottom;
  const y = (v: number) =>
    y0 +
    M.top +
    ih -
    ((Math.log10(Math.max(lo, v)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * ih;
  const out: string[] = [];
  out.push(
    `<text x="${x0 + M.left}" y="${y0 + 18}" font-size="13" font-weight="bold">${esc(p.title)}</text>`,
  );
  for (let e = Math.ceil(Math.log10(lo)); e <= Math.log10(hi); e++) {
    const v = 10 ** e;
    const yy = y(v).toFixed(1);
    out.push(`<line x1="${x0 + M.left}" x2="${x0 + W - M.right}" y1="${yy}" y2="${yy}" stroke="#ddd"/>`);
    out.push(
      `<text x="${x0 + M.left - 4}" y="${yy}" font-size="10" text-anchor="end" dominant-baseline="middle">${v >= 1 ? v : v.toFixed(-e)} ms</text>`,
    );
  }
  const n = Math.max(1, p.series.length);
  const gw = iw / n;
  const bw = Math.min(18, (gw - 10) / PCTS.length);
  p.series.forEach((s, i) => {
    const gx = x0 + M.left + i * gw + (gw - bw * PCTS.length) / 2;
    s.values.forEach((v, k) => {
      const bx = gx + k * bw;
      if (v === null) return;
      const top = y(Math.max(v, lo));
      const base = y(lo);
      const title = `${s.label} ${PCTS[k]}: ${v.toFixed(2)} ms`;
      out.push(
        `<rect x="${bx.toFixed(1)}" y="${top.toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${Math.max(1, base - top).toFixed(1)}" fill="${COLORS[k]}"><title>${esc(title)}</title></rect>`,
      );
      if (k === 0 || k === 2) {
        out.push(
          `<text x="${(bx + bw / 2).toFixed(1)}" y="${(top - 3).toFixed(1)}" font-size="8" text-anchor="middle">${v < 10 ? v.toFixed(1) : Math.round(v)}</text>`,
        );
      }
    });
    const cx = (x0 + M.left + i * gw + gw / 2).toFixed(1);
    out.push(
      `<text x="${cx}" y="${y0 + H - M.bottom + 14}" font-size="10" text-anchor="middle">${esc(s.label)}</text>`,
    );
    if (s.note)
      out.push(
        `<text x="${cx}" y="${y0 + H - M.bottom + 26}" font-size="9" fill="#b00" text-anchor="middle">${esc(s.note)}</text>`,
      );
  });
  return out.join("\n");
}

export function overheadChart(panels: Panel[], caption: string): string {
  const all = panels
    .flatMap((p) => p.series.flatMap((s) => s.values))
    .filter((v): v is number => v !== null && v > 0);
  const lo = 0.1;
  const hi = 10 ** Math.ceil(Math.log10(Math.max(10, ...all)));
  const cols = 2;
  const rows = Math.ceil(panels.length / cols);
  const width = cols * W;
  const height = rows * H + 40;
  const body = panels.map((p, i) => panel(p, (i % cols) * W, Math.floor(i / cols) * H, lo, hi)).join("\n");
  const legend = PCTS.map(
    (p, k) =>
      `<rect x="${12 + k * 70}" y="${height - 26}" width="10" height="10" fill="${COLORS[k]}"/><text x="${26 + k * 70}" y="${height - 17}" font-size="11">${p}</text>`,
  ).join("");
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    body,
    legend,
    `<text x="${width - 10}" y="${height - 17}" font-size="10" text-anchor="end" fill="#555">${esc(caption)}</text>`,
    "</svg>",
    "",
  ].join("\n");
}
