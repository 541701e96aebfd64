// Pure helpers of the benchmark: summaries of repeated measurements, the targets of issue 10, and the results table.

/**
 * @param {number[]} values
 * @returns {number}
 */
export function median(values) {
  if (values.length === 0) throw new RangeError('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? /** @type {number} */ (sorted[mid])
    : /** @type {number} */ (sorted[mid - 1] + /** @type {number} */ (sorted[mid])) / 2;
}

/**
 * @param {number[]} values
 * @returns {{ median: number, min: number, max: number, n: number }}
 */
export function summarize(values) {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), n: values.length };
}

/** Seconds with a precision that suits the size: 0.84 s, 12.6 s, 331 s. @param {number} ms */
export function formatSeconds(ms) {
  const s = ms / 1000;
  if (s < 10) return `${s.toFixed(2)} s`;
  if (s < 100) return `${s.toFixed(1)} s`;
  return `${Math.round(s)} s`;
}

/** A wall-time summary as "median (min–max)"; a single run as its value. @param {{ median: number, min: number, max: number, n: number }} s */
export function formatWall(s) {
  if (s.n === 1) return `${formatSeconds(s.median)} (1 run)`;
  return `${formatSeconds(s.median)} (${formatSeconds(s.min).replace(' s', '')}–${formatSeconds(s.max)})`;
}

/** A count over repetitions: "12", or "12–14" when it varied. @param {number[]} values */
export function formatCount(values) {
  if (values.length === 0) return '—';
  const min = Math.min(...values);
  const max = Math.max(...values);
  return min === max ? String(min) : `${min}–${max}`;
}

/** n·ln n, the growth the planning CPU may not exceed. @param {number} n */
export const nLogN = (n) => n * Math.log(n);

/**
 * The first-run wall-time bound of issue 10: 1.25 × max(⌊(writes − 1)/limit⌋ × window, ⌈writes/concurrency⌉ ×
 * sdm latency) + 3 s. The first term is the write limit's floor (the writes past each full window wait for the
 * next), the second the latency floor of `concurrency` commands at a time.
 * @param {{ writes: number, concurrency: number, sdmLatencyMs: number, limit?: number, windowMs?: number }} p
 * @returns {number} milliseconds
 */
export function firstRunBoundMs({ writes, concurrency, sdmLatencyMs, limit = 500, windowMs = 60_000 }) {
  if (writes <= 0) return 3000;
  const paced = Math.floor((writes - 1) / limit) * windowMs;
  const latency = Math.ceil(writes / concurrency) * sdmLatencyMs;
  return 1.25 * Math.max(paced, latency) + 3000;
}

/**
 * @typedef {object} Run one measured run
 * @property {number} wallMs
 * @property {{ oncalls: number, other: number }} pagerduty requests
 * @property {{ invocations: number, help: number, writes: number, rateLimited: number }} sdm
 * @property {number} downloads zip fetches
 * @property {{ reads: number, writes: number }} [ledger] on the fake GitHub
 * @property {number} [rowsSeen] on-call rows the variant saw
 * @property {number} [grants] grants made (in the fake sdm's state)
 * @property {number} [busyMs] CPU of the run from its profile (see profile.mjs)
 * @property {number | null} [exitCode]
 *
 * @typedef {object} Measurement one variant at one size
 * @property {number} rows
 * @property {string} variant 'seed-unpaged' | 'seed-paged' | 'first-run' | 're-run'
 * @property {string} label
 * @property {number} [queries] /oncalls queries the variant makes (each paged)
 * @property {Run[]} runs empty when not run
 * @property {string} [notRun] why it was not run, with the estimate
 * @property {number} [estimateMs]
 */

/**
 * @param {Measurement[]} measurements
 * @param {number} rows
 * @param {string} variant
 */
export function find(measurements, rows, variant) {
  return measurements.find((m) => m.rows === rows && m.variant === variant && m.runs.length > 0);
}

/** @param {Measurement | undefined} m */
const wallMedian = (m) => (m ? median(m.runs.map((r) => r.wallMs)) : undefined);

/**
 * Issue 10's targets, checked on the measurements. Each: name, met, and the numbers behind it.
 * @param {{ measurements: Measurement[], concurrency: number, sdmLatencyMs: number, writeLimit: { max: number, windowMs: number }, cpu?: { rows: number, busyMs: number }[], cpuBaselineRows?: number }} input
 * @returns {Array<{ target: string, met: boolean, detail: string }>}
 */
export function checkTargets({ measurements, concurrency, sdmLatencyMs, writeLimit, cpu = [] }) {
  /** @type {Array<{ target: string, met: boolean, detail: string }>} */
  const out = [];
  for (const m of measurements) {
    if (m.runs.length === 0 || (m.variant !== 'first-run' && m.variant !== 're-run')) continue;
    const queries = m.queries ?? 1;
    const allowed = Math.ceil(m.rows / 100) * queries;
    const worst = Math.max(...m.runs.map((r) => r.pagerduty.oncalls));
    out.push({
      target: `${m.rows} rows, ${m.label}: /oncalls requests ≤ ⌈rows/100⌉ per query`,
      met: worst <= allowed,
      detail: `${worst} requests (most in one run) for ${queries} ${queries === 1 ? 'query' : 'queries'}, allowed ${allowed}`,
    });
  }
  for (const m of measurements.filter((x) => x.variant === 're-run' && x.runs.length > 0)) {
    const sdm = Math.max(...m.runs.map((r) => r.sdm.invocations));
    const downloads = Math.max(...m.runs.map((r) => r.downloads));
    out.push({
      target: `${m.rows} rows, unchanged re-run: 0 sdm invocations and 0 downloads`,
      met: sdm === 0 && downloads === 0,
      detail: `${sdm} sdm invocations, ${downloads} downloads (most in one run, fresh tool cache each run)`,
    });
  }
  const smallest = Math.min(...measurements.map((m) => m.rows));
  const seed = wallMedian(find(measurements, smallest, 'seed-paged'));
  const rerun = wallMedian(find(measurements, smallest, 're-run'));
  if (seed === undefined || rerun === undefined) {
    out.push({
      target: `${smallest} rows: unchanged re-run ≥ 80× faster than the seed (paged)`,
      met: false,
      detail: 'not measured',
    });
  } else {
    const ratio = seed / rerun;
    out.push({
      target: `${smallest} rows: unchanged re-run ≥ 80× faster than the seed (paged)`,
      met: ratio >= 80,
      detail: `seed ${formatSeconds(seed)} / re-run ${formatSeconds(rerun)} = ${ratio.toFixed(1)}×`,
    });
  }
  for (const m of measurements.filter((x) => x.variant === 'first-run' && x.runs.length > 0)) {
    const writes = m.rows;
    const bound = firstRunBoundMs({
      writes,
      concurrency,
      sdmLatencyMs,
      limit: writeLimit.max,
      windowMs: writeLimit.windowMs,
    });
    const worst = Math.max(...m.runs.map((r) => r.wallMs));
    const refused = m.runs.reduce((sum, r) => sum + r.sdm.rateLimited, 0);
    out.push({
      target: `${m.rows} rows, first run: wall ≤ 1.25 × max(⌊(writes − 1)/${writeLimit.max}⌋ × ${writeLimit.windowMs / 1000} s, ⌈writes/${concurrency}⌉ × ${sdmLatencyMs / 1000} s) + 3 s, 0 rate-limit answers`,
      met: worst <= bound && refused === 0,
      detail: `slowest ${formatSeconds(worst)} ≤ ${formatSeconds(bound)}? ${worst <= bound ? 'yes' : 'no'}; ${refused} rate-limit answers in ${m.runs.length} runs`,
    });
    const short = m.runs.filter((r) => r.grants !== writes || r.exitCode !== 0).length;
    out.push({
      target: `${m.rows} rows, first run (sanity): every row granted, step succeeded`,
      met: short === 0,
      detail: `${m.runs.length - short} of ${m.runs.length} runs made all ${writes} grants and exited 0${short ? ` (grants: ${m.runs.map((r) => r.grants).join(', ')}; exit: ${m.runs.map((r) => r.exitCode).join(', ')})` : ''}`,
    });
  }
  out.push(cpuTarget(cpu));
  return out;
}

/**
 * Planning CPU no worse than n log n: the CPU of an unchanged re-run at each size, less that at the smallest size
 * (the fixed cost of starting Node, loading the bundle, reading inputs), must grow from 1,000 to 5,000 rows by at
 * most 1.5 × (5000·ln 5000)/(1000·ln 1000).
 * @param {{ rows: number, busyMs: number }[]} cpu medians per size
 */
export function cpuTarget(cpu) {
  const target = 'planning CPU grows no worse than n log n (re-runs, 1,000 → 5,000 rows)';
  const sorted = [...cpu].sort((a, b) => a.rows - b.rows);
  const base = sorted[0];
  const mid = sorted.find((c) => c.rows === 1000);
  const top = sorted.find((c) => c.rows === 5000);
  if (!base || !mid || !top || base.rows >= 1000) {
    return { target, met: false, detail: 'not measured at 1,000 and 5,000 rows and a smaller baseline' };
  }
  const allowed = (1.5 * nLogN(top.rows)) / nLogN(mid.rows);
  const lo = mid.busyMs - base.busyMs;
  const hi = top.busyMs - base.busyMs;
  const ms = (/** @type {number} */ x) => `${Math.round(x)} ms`;
  if (lo <= 0) {
    return {
      target,
      met: hi <= 0,
      detail: `no measurable CPU above the ${base.rows}-row baseline at 1,000 rows (${ms(mid.busyMs)} vs ${ms(base.busyMs)}); 5,000 rows ${ms(top.busyMs)}`,
    };
  }
  const ratio = hi / lo;
  return {
    target,
    met: ratio <= allowed,
    detail: `busy above the ${base.rows}-row baseline (${ms(base.busyMs)}): ${ms(lo)} at 1,000, ${ms(hi)} at 5,000 rows = ${ratio.toFixed(2)}×, allowed ${allowed.toFixed(2)}× (plain ratio ${(top.busyMs / mid.busyMs).toFixed(2)}×)`,
  };
}

/** @param {string} text a Markdown table cell */
export function cell(text) {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/**
 * The results table in Markdown.
 * @param {Measurement[]} measurements
 * @returns {string}
 */
export function resultsTable(measurements) {
  const head = [
    'on-call rows',
    'variant',
    'PagerDuty requests (/oncalls + other)',
    'sdm calls (rate-limited)',
    'downloads',
    'wall median (min–max)',
    'rows the seed missed',
    'seed (paged) / this',
  ];
  const lines = [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`];
  for (const m of measurements) {
    if (m.runs.length === 0) {
      lines.push(
        `| ${[String(m.rows), m.label, '', '', '', `not run by default: ${m.notRun ?? ''}`, '', ''].map(cell).join(' | ')} |`,
      );
      continue;
    }
    const pd = m.runs.map((r) => r.pagerduty.oncalls + r.pagerduty.other);
    const oncalls = m.runs.map((r) => r.pagerduty.oncalls);
    const other = m.runs.map((r) => r.pagerduty.other);
    const sdm = m.runs.map((r) => r.sdm.invocations);
    const limited = m.runs.map((r) => r.sdm.rateLimited);
    const isSeed = m.variant.startsWith('seed');
    const missed = isSeed ? formatCount(m.runs.map((r) => m.rows - (r.rowsSeen ?? 0))) : '—';
    const seed = find(measurements, m.rows, 'seed-paged');
    const ratio =
      seed && m.variant !== 'seed-paged'
        ? `${(median(seed.runs.map((r) => r.wallMs)) / median(m.runs.map((r) => r.wallMs))).toFixed(1)}×`
        : '—';
    const row = [
      String(m.rows),
      m.label,
      `${formatCount(pd)} (${formatCount(oncalls)} + ${formatCount(other)})`,
      `${formatCount(sdm)} (${formatCount(limited)})`,
      isSeed ? '— (sdm preinstalled)' : formatCount(m.runs.map((r) => r.downloads)),
      formatWall(summarize(m.runs.map((r) => r.wallMs))),
      missed,
      ratio,
    ];
    lines.push(`| ${row.map(cell).join(' | ')} |`);
  }
  return lines.join('\n');
}
