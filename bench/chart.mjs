// The benchmark's chart: wall time against on-call rows, both on log scales, one series per variant, as a
// self-contained SVG (no scripts, no external references; every text escaped).

/** @param {string} text */
export function escapeXml(text) {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/**
 * A log10 scale from [lo, hi] (both > 0) onto [from, to] (pixels; `to` may be smaller, for a y axis).
 * @param {[number, number]} domain
 * @param {[number, number]} range
 * @returns {(v: number) => number}
 */
export function logScale([lo, hi], [from, to]) {
  if (!(lo > 0 && hi > lo)) throw new RangeError(`log scale needs 0 < lo < hi, got ${lo}, ${hi}`);
  const a = Math.log10(lo);
  const span = Math.log10(hi) - a;
  return (v) => from + ((Math.log10(v) - a) / span) * (to - from);
}

/**
 * Powers of ten that enclose [min, max] (min > 0), and the ticks at 1, 2 and 5 times each power inside them.
 * @param {number} min
 * @param {number} max
 * @returns {{ lo: number, hi: number, ticks: number[] }}
 */
export function logTicks(min, max) {
  if (!(min > 0 && max >= min)) throw new RangeError(`log ticks need 0 < min <= max, got ${min}, ${max}`);
  const loExp = Math.floor(Math.log10(min));
  let hiExp = Math.ceil(Math.log10(max));
  if (hiExp === loExp) hiExp += 1;
  /** @type {number[]} */
  const ticks = [];
  for (let e = loExp; e <= hiExp; e++) {
    for (const m of [1, 2, 5]) {
      const v = Number((m * 10 ** e).toPrecision(12));
      if (v <= 10 ** hiExp) ticks.push(v);
    }
  }
  return { lo: 10 ** loExp, hi: 10 ** hiExp, ticks };
}

/** A tick label: 0.1, 2, 50, 1,000, 10,000. @param {number} v */
export function tickLabel(v) {
  return v >= 1000 ? v.toLocaleString('en-US') : String(Number(v.toPrecision(3)));
}

const COLORS = ['#d62728', '#ff7f0e', '#1f77b4', '#2ca02c', '#9467bd', '#8c564b'];

/**
 * @typedef {{ rows: number, medianMs: number, minMs: number, maxMs: number, estimate?: boolean }} Point
 * @typedef {{ name: string, points: Point[] }} Series
 */

/**
 * @param {{ title: string, subtitle?: string, series: Series[], width?: number, height?: number }} options
 * @returns {string} the SVG document
 */
export function renderChart({ title, subtitle = '', series, width = 760, height = 480 }) {
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) throw new RangeError('nothing to chart');
  const margin = { left: 78, right: 24, top: subtitle ? 62 : 44, bottom: 60 };
  const legendRows = series.length + (all.some((p) => p.estimate) ? 1 : 0);
  const legendHeight = 20 * legendRows + 10;
  const plot = {
    x0: margin.left,
    x1: width - margin.right,
    y0: height - margin.bottom - legendHeight,
    y1: margin.top,
  };
  const xs = logTicks(Math.min(...all.map((p) => p.rows)), Math.max(...all.map((p) => p.rows)));
  const ys = logTicks(
    Math.min(...all.map((p) => Math.min(p.minMs, p.medianMs))) / 1000,
    Math.max(...all.map((p) => Math.max(p.maxMs, p.medianMs))) / 1000,
  );
  const x = logScale([xs.lo, xs.hi], [plot.x0, plot.x1]);
  const y = logScale([ys.lo, ys.hi], [plot.y0, plot.y1]);
  const f = (/** @type {number} */ v) => v.toFixed(1);
  /** @type {string[]} */
  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
  );
  if (subtitle) {
    out.push(
      `<text x="${width / 2}" y="42" text-anchor="middle" fill="#444444">${escapeXml(subtitle)}</text>`,
    );
  }
  for (const t of xs.ticks) {
    const px = f(x(t));
    const major = Number.isInteger(Math.log10(t));
    out.push(
      `<line x1="${px}" y1="${f(plot.y0)}" x2="${px}" y2="${f(plot.y1)}" stroke="${major ? '#cccccc' : '#eeeeee'}"/>`,
      `<text x="${px}" y="${f(plot.y0 + 16)}" text-anchor="middle">${escapeXml(tickLabel(t))}</text>`,
    );
  }
  for (const t of ys.ticks) {
    const py = f(y(t));
    const major = Number.isInteger(Math.log10(t));
    out.push(
      `<line x1="${f(plot.x0)}" y1="${py}" x2="${f(plot.x1)}" y2="${py}" stroke="${major ? '#cccccc' : '#eeeeee'}"/>`,
      `<text x="${f(plot.x0 - 6)}" y="${py}" text-anchor="end" dominant-baseline="middle">${escapeXml(tickLabel(t))}</text>`,
    );
  }
  out.push(
    `<rect x="${f(plot.x0)}" y="${f(plot.y1)}" width="${f(plot.x1 - plot.x0)}" height="${f(plot.y0 - plot.y1)}" fill="none" stroke="#333333"/>`,
    `<text x="${f((plot.x0 + plot.x1) / 2)}" y="${f(plot.y0 + 36)}" text-anchor="middle">${escapeXml('on-call rows in the lookahead (log scale)')}</text>`,
    `<text transform="translate(18 ${f((plot.y0 + plot.y1) / 2)}) rotate(-90)" text-anchor="middle">${escapeXml('wall time, seconds (log scale)')}</text>`,
  );
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const measured = s.points.filter((p) => !p.estimate).sort((a, b) => a.rows - b.rows);
    if (measured.length > 1) {
      const d = measured
        .map((p, k) => `${k === 0 ? 'M' : 'L'}${f(x(p.rows))} ${f(y(p.medianMs / 1000))}`)
        .join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
    }
    for (const p of s.points) {
      const px = f(x(p.rows));
      if (p.maxMs > p.minMs) {
        out.push(
          `<line x1="${px}" y1="${f(y(p.minMs / 1000))}" x2="${px}" y2="${f(y(p.maxMs / 1000))}" stroke="${color}" stroke-width="1.5"/>`,
        );
      }
      const fill = p.estimate ? '#ffffff' : color;
      const dash = p.estimate ? ' stroke-dasharray="2 2"' : '';
      out.push(
        `<circle cx="${px}" cy="${f(y(p.medianMs / 1000))}" r="4.5" fill="${fill}" stroke="${color}" stroke-width="1.5"${dash}><title>${escapeXml(`${s.name}: ${p.rows} rows, ${p.estimate ? 'estimate (not run): ' : ''}${(p.medianMs / 1000).toFixed(2)} s`)}</title></circle>`,
      );
    }
    const ly = plot.y0 + 52 + 20 * i;
    out.push(
      `<line x1="${f(plot.x0)}" y1="${f(ly)}" x2="${f(plot.x0 + 24)}" y2="${f(ly)}" stroke="${color}" stroke-width="2"/>`,
      `<circle cx="${f(plot.x0 + 12)}" cy="${f(ly)}" r="4.5" fill="${color}"/>`,
      `<text x="${f(plot.x0 + 32)}" y="${f(ly)}" dominant-baseline="middle">${escapeXml(s.name)}</text>`,
    );
  });
  if (all.some((p) => p.estimate)) {
    const ly = plot.y0 + 52 + 20 * series.length;
    out.push(
      `<circle cx="${f(plot.x0 + 12)}" cy="${f(ly)}" r="4.5" fill="#ffffff" stroke="#555555" stroke-dasharray="2 2"/>`,
      `<text x="${f(plot.x0 + 32)}" y="${f(ly)}" dominant-baseline="middle">${escapeXml('hollow: estimate, not run by default (see the table)')}</text>`,
    );
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
