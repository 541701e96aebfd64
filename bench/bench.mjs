// `npm run bench`: the action against a re-implementation of strongDM's sample cron script ("the seed"), on the
// loopback fakes with injected latency (PagerDuty 80 ms per request, sdm 250 ms per call, strongDM's write limit of
// 500 per 60 s enforced), for generated companies of about 150, 1,000 and 5,000 on-call rows. Writes
// bench/results.md, bench/results.json and docs/bench.svg; CPU profiles go to bench/out/ (git-ignored). Exits 1
// when a target of issue 10 is missed. `-- --full` also runs what does not fit in ten minutes. Not part of npm test.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderChart } from './chart.mjs';
import { SIZES, makeCompany } from './company.mjs';
import { busyTime, topFunctions, IDLE } from './profile.mjs';
import { checkTargets, firstRunBoundMs, formatSeconds, median, resultsTable, summarize } from './stats.mjs';
import { BenchWorld } from './world.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(root, 'bench', 'out');
const PAGERDUTY_LATENCY_MS = 80;
const SDM_LATENCY_MS = 250;
const WRITE_LIMIT = { max: 500, windowMs: 60_000 };
const CONCURRENCY = 16;
const SEED_PAGE = 25; // PagerDuty's default limit: what the unpaged seed sees

const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== '--full' && !/^--only=\d+$/.test(a));
if (unknown.length > 0) {
  console.error(`usage: npm run bench [-- --full] [-- --only=<rows>]   (unknown: ${unknown.join(' ')})`);
  process.exit(2);
}
const FULL = args.includes('--full');
/** `--only=150`: one size (for working on the bench; its targets then cannot all be checked). */
const ONLY = args.map((a) => /^--only=(\d+)$/.exec(a)?.[1]).find((v) => v !== undefined);

/**
 * Repetitions per size and variant. 0 = not run by default (the reason is recorded with an estimate); --full runs
 * those once.
 */
const PLAN = {
  150: { seedUnpaged: 1, seedPaged: 3, first: 3, rerun: 3 },
  1000: { seedUnpaged: 1, seedPaged: 0, first: 2, rerun: 3 },
  5000: { seedUnpaged: 1, seedPaged: 0, first: 0, rerun: 3 },
};
/** Profiled re-runs per size, for the planning CPU (separate from the timed ones: profiling costs time). */
const CPU_REPS = 3;

/** @type {Array<() => Promise<void>>} */
const cleanups = [];
let cleaning = false;
async function cleanUp() {
  if (cleaning) return;
  cleaning = true;
  for (const c of cleanups.reverse()) await c().catch((err) => console.error(`cleanup: ${err}`));
}
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.once(signal, () => {
    console.error(`\n${signal}: closing the fakes and removing temporary files; writing what was measured`);
    void cleanUp()
      .then(() => (measurements.length > 0 ? report(true) : false))
      .catch((err) => console.error(err))
      .finally(() => process.exit(130));
  });
}

const started = performance.now();
/** @param {string} text */
const log = (text) => console.log(`[${formatSeconds(performance.now() - started).padStart(7)}] ${text}`);

/** @typedef {import('./stats.mjs').Measurement} Measurement */
/** @type {Measurement[]} */
const measurements = [];
/** @type {Array<{ rows: number, busyMs: number, runs: number[] }>} */
const cpu = [];
/** @type {{ rows: number, wallMs: number, busy: ReturnType<typeof busyTime>, top: ReturnType<typeof topFunctions>, file: string } | undefined} */
let setupProfile;
/** @type {Array<{ rows: number, pagerdutyMs: number, sdmMs: number }>} */
const probes = [];

/**
 * @param {number} rows
 * @param {string} variant
 * @param {string} label
 */
function measurement(rows, variant, label) {
  /** @type {Measurement} */
  const m = { rows, variant, label, runs: [] };
  if (variant === 'first-run' || variant === 're-run') m.queries = 1;
  measurements.push(m);
  return m;
}

/** @param {import('./stats.mjs').Run & Record<string, unknown>} run */
function keep(run) {
  const { stdout: _o, stderr: _e, profile: _p, failures: _f, ...kept } = run;
  return /** @type {import('./stats.mjs').Run} */ (kept);
}

/** @param {import('./stats.mjs').Run} r */
function describe(r) {
  return (
    `${formatSeconds(r.wallMs)}; PagerDuty ${r.pagerduty.oncalls} /oncalls + ${r.pagerduty.other} other; ` +
    `sdm ${r.sdm.invocations} (${r.sdm.help} help, ${r.sdm.writes} writes, ${r.sdm.rateLimited} rate-limited); ` +
    `downloads ${r.downloads}; ledger ${r.ledger?.reads ?? 0} reads, ${r.ledger?.writes ?? 0} writes; ` +
    `rows ${r.rowsSeen}; grants ${r.grants}; exit ${r.exitCode}`
  );
}

/**
 * @param {Measurement} m
 * @param {import('./stats.mjs').Run & { stdout?: string, stderr?: string }} run
 */
async function record(m, run) {
  m.runs.push(keep(run));
  log(`  ${m.label} #${m.runs.length}: ${describe(run)}`);
  if (typeof run.stdout === 'string') {
    const file = path.join(OUT, 'logs', `${m.rows}-${m.variant}-${m.runs.length}.log`);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, `${run.stdout}\n--- stderr ---\n${run.stderr ?? ''}`);
  }
  if (run.exitCode !== 0)
    log(`  (step failed; last lines of its log)\n${run.stdout.split('\n').slice(-15).join('\n')}`);
}

/**
 * @param {number} rows
 * @param {Record<string, unknown>} m
 * @param {Measurement} [instead] the measurement this one takes the place of
 */
function notRun(rows, m, instead) {
  const entry = /** @type {Measurement} */ ({ rows, runs: [], ...m });
  const at = instead ? measurements.indexOf(instead) : -1;
  if (at >= 0) measurements.splice(at, 1, entry);
  else measurements.push(entry);
  log(`  ${String(m.label)}: not run by default: ${String(m.notRun)}`);
}

/**
 * Profiled unchanged re-runs: the CPU the action spent, from each profile (busyTime).
 * @param {BenchWorld} world
 * @param {number} rows
 * @param {string} branch
 */
async function measureCpu(world, rows, branch) {
  /** @type {number[]} */
  const busy = [];
  for (let i = 0; i < CPU_REPS; i++) {
    const run = await world.runOurs({
      stateBranch: branch,
      concurrency: CONCURRENCY,
      profileDir: path.join(OUT, 'profiles', `re-run-${rows}`),
    });
    if (!run.profile) throw new Error(`no CPU profile was written for the profiled re-run at ${rows} rows`);
    const b = busyTime(JSON.parse(await readFile(run.profile, 'utf8')));
    busy.push(b.busyMs);
    log(
      `  profiled re-run #${i + 1}: busy ${Math.round(b.busyMs)} ms of ${Math.round(b.totalMs)} ms sampled ` +
        `(idle ${Math.round(b.idleMs)}, program ${Math.round(b.programMs)}, GC ${Math.round(b.gcMs)}); exit ${run.exitCode}`,
    );
  }
  cpu.push({ rows, busyMs: median(busy), runs: busy });
}

/**
 * @param {typeof SIZES[number]} size
 * @param {string} tmpRoot
 */
async function benchSize(size, tmpRoot) {
  const plan = PLAN[/** @type {150 | 1000 | 5000} */ (size.rows)];
  const company = makeCompany(size);
  log(
    `${size.rows} on-call rows: ${size.schedules} schedules, ${size.people} people, shifts of ${company.shiftMs / 60_000} min, lookahead ${company.inputs.lookahead}`,
  );
  /** @type {() => Promise<void>} */
  let close = async () => {};
  const world = await BenchWorld.start(
    { company, tmpRoot, pagerdutyLatencyMs: PAGERDUTY_LATENCY_MS, sdmLatencyMs: SDM_LATENCY_MS },
    (c) => {
      close = c;
      cleanups.push(c);
    },
  );
  try {
    const probe = await world.probeLatency();
    probes.push({ rows: size.rows, ...probe });
    log(
      `  latency probe: one PagerDuty request ${Math.round(probe.pagerdutyMs)} ms, one sdm command ${Math.round(probe.sdmMs)} ms`,
    );

    // a) the seed, unpaged and paged; a fresh sdm state for each run (it keeps no record, so each run is the same).
    const unpaged = measurement(size.rows, 'seed-unpaged', 'seed, one /oncalls request (no paging)');
    for (let i = 0; i < Math.max(plan.seedUnpaged, FULL ? 1 : 0); i++) {
      world.seedSdm({ grants: [], writeLimit: undefined });
      await record(unpaged, await world.runSeed({ paged: false }));
    }
    // Per row: what the paged seed took per row where it ran, else the two latencies plus 15% for starting sdm.
    const measuredSeed = measurements.find((m) => m.variant === 'seed-paged' && m.runs.length > 0);
    const perRowMs = measuredSeed
      ? median(measuredSeed.runs.map((r) => r.wallMs)) / measuredSeed.rows
      : (PAGERDUTY_LATENCY_MS + SDM_LATENCY_MS) * 1.15;
    const seedEstimateMs = size.rows * perRowMs;
    if (plan.seedPaged > 0 || FULL) {
      const paged = measurement(size.rows, 'seed-paged', 'seed with paging added (equal coverage)');
      for (let i = 0; i < Math.max(plan.seedPaged, 1); i++) {
        world.seedSdm({ grants: [], writeLimit: undefined });
        await record(paged, await world.runSeed({ paged: true }));
      }
    } else {
      notRun(size.rows, {
        variant: 'seed-paged',
        label: 'seed with paging added (equal coverage)',
        estimateMs: seedEstimateMs,
        notRun: `~${Math.round(seedEstimateMs / 60_000)} min because it is sequential: ${size.rows} rows × (${PAGERDUTY_LATENCY_MS} + ${SDM_LATENCY_MS} ms + process start)`,
      });
    }

    // b) ours, first run (fresh ledger branch, fresh sdm state, fresh tool cache), then c) the unchanged re-run.
    const first = measurement(size.rows, 'first-run', `ours, first run (concurrency ${CONCURRENCY})`);
    const rerun = measurement(size.rows, 're-run', 'ours, unchanged re-run (fresh tool cache)');
    let branch = '';
    const firstReps = plan.first > 0 ? plan.first : FULL ? 1 : 0;
    for (let i = 0; i < firstReps; i++) {
      branch = `bench-first-${i + 1}`;
      world.seedSdm({ grants: [], writeLimit: undefined });
      // The first run at the largest size is profiled (only with --full: it takes at least 9 minutes).
      const profileDir = plan.first === 0 ? path.join(OUT, 'profiles', `first-run-${size.rows}`) : undefined;
      const run = await world.runOurs({ stateBranch: branch, concurrency: CONCURRENCY, profileDir });
      if (run.profile) setupProfile = await profileOf(size.rows, run);
      await record(first, run);
      if (rerun.runs.length < plan.rerun) {
        await record(rerun, await world.runOurs({ stateBranch: branch, concurrency: CONCURRENCY }));
      }
    }
    if (firstReps === 0) {
      const floorMs = Math.floor((size.rows - 1) / WRITE_LIMIT.max) * WRITE_LIMIT.windowMs;
      notRun(
        size.rows,
        {
          variant: 'first-run',
          label: first.label,
          estimateMs: floorMs + 5000,
          notRun: `≥ ${Math.round(floorMs / 60_000)} min because of strongDM's write limit alone: ⌊(${size.rows} − 1)/${WRITE_LIMIT.max}⌋ × ${WRITE_LIMIT.windowMs / 1000} s (bound ${formatSeconds(firstRunBoundMs({ writes: size.rows, concurrency: CONCURRENCY, sdmLatencyMs: SDM_LATENCY_MS }))})`,
        },
        first,
      );
      branch = 'bench-setup';
      await setUpLedger(world, size, branch);
    }
    while (rerun.runs.length < plan.rerun) {
      await record(rerun, await world.runOurs({ stateBranch: branch, concurrency: CONCURRENCY }));
    }
    await measureCpu(world, size.rows, branch);
    // Rows the unpaged seed missed, for the log.
    log(
      `  the unpaged seed saw ${unpaged.runs[0]?.rowsSeen ?? 0} of ${size.rows} rows (PagerDuty's default page: ${SEED_PAGE})`,
    );
  } finally {
    await close();
  }
}

/**
 * A ledger of every grant for the re-run, when the measured first run is not run (default at 5,000 rows): SETUP runs,
 * not measured, of ours against a fake sdm without latency and WITHOUT the write limit (kinder than strongDM: allowed
 * only here), each for a group of schedules with at most 500 rows so that no run waits for the write window, each
 * keeping its ledger in a file; their entries (each signed on its own) merged onto the ledger branch.
 * @param {BenchWorld} world
 * @param {{ rows: number }} size
 * @param {string} branch
 */
async function setUpLedger(world, size, branch) {
  const { scheduleIds } = world.company;
  const perGroup = Math.max(1, Math.floor(WRITE_LIMIT.max / Math.ceil(size.rows / scheduleIds.length)));
  log(
    `  SETUP (not measured): first runs over ${perGroup} schedules at a time, write limit lifted, no sdm latency`,
  );
  world.seedSdm({ grants: [], writeLimit: null, latencyMs: 0 });
  /** @type {string[]} */
  const entries = [];
  for (let from = 0; from < scheduleIds.length; from += perGroup) {
    const setup = await world.runOurs({
      stateBranch: branch,
      concurrency: CONCURRENCY,
      ledgerFile: '.oncall-access/ledger.json',
      inputs: { 'schedule-ids': scheduleIds.slice(from, from + perGroup).join(', ') },
    });
    if (setup.exitCode !== 0) {
      log(`  (setup run log, last lines)\n${setup.stdout.split('\n').slice(-20).join('\n')}`);
      throw new Error(`a setup run at ${size.rows} rows failed`);
    }
    entries.push(
      ...JSON.parse(setup.ledger ?? '{"grants": []}').grants.map((/** @type {unknown} */ e) =>
        JSON.stringify(e),
      ),
    );
  }
  if (entries.length !== size.rows)
    throw new Error(`the setup runs made ${entries.length} of ${size.rows} grants`);
  log(`  SETUP: ${entries.length} grants in the ledger`);
  world.seedSdm({ grants: world.grants(), writeLimit: undefined });
  world.github.createBranch(branch);
  const ledger = `{ "version": 1, "grants": [\n${entries.map((e) => `  ${e}`).join(',\n')}\n] }\n`;
  world.github.writeFile(branch, 'ledger.json', ledger, "oncall-access: the setup runs' ledger");
}

/**
 * @param {number} rows
 * @param {{ wallMs: number, profile?: string }} run
 */
async function profileOf(rows, run) {
  const profile = JSON.parse(await readFile(/** @type {string} */ (run.profile), 'utf8'));
  return {
    rows,
    wallMs: run.wallMs,
    busy: busyTime(profile),
    top: topFunctions(profile, 15, root, [IDLE]),
    file: path.relative(root, /** @type {string} */ (run.profile)),
  };
}

/** @param {string} file @param {string} text */
async function writeFormatted(file, text) {
  let out = text;
  try {
    const prettier = await import('prettier');
    const options = (await prettier.resolveConfig(file)) ?? {};
    out = await prettier.format(text, { ...options, filepath: file });
  } catch (err) {
    log(`(prettier unavailable, ${path.basename(file)} written unformatted: ${err})`);
  }
  await writeFile(file, out);
}

function chartSeries() {
  const names = {
    'seed-paged': 'seed with paging added (sequential)',
    'seed-unpaged': `seed, no paging (sees ${SEED_PAGE} rows)`,
    'first-run': `ours, first run (concurrency ${CONCURRENCY})`,
    're-run': 'ours, unchanged re-run',
  };
  return Object.entries(names).map(([variant, name]) => ({
    name,
    points: measurements
      .filter((m) => m.variant === variant && (m.runs.length > 0 || m.estimateMs !== undefined))
      .map((m) => {
        if (m.runs.length === 0) {
          const e = /** @type {number} */ (m.estimateMs);
          return { rows: m.rows, medianMs: e, minMs: e, maxMs: e, estimate: true };
        }
        const s = summarize(m.runs.map((r) => r.wallMs));
        return { rows: m.rows, medianMs: s.median, minMs: s.min, maxMs: s.max };
      }),
  }));
}

async function main() {
  await mkdir(OUT, { recursive: true });
  await rm(path.join(OUT, 'profiles'), { recursive: true, force: true });
  await rm(path.join(OUT, 'logs'), { recursive: true, force: true });
  const tmpRoot = await mkdtemp(path.join(os.tmpdir(), 'oncall-access-bench-'));
  cleanups.push(() => rm(tmpRoot, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));
  log(
    `oncall-access bench${FULL ? ' --full' : ''}: PagerDuty ${PAGERDUTY_LATENCY_MS} ms per request, sdm ${SDM_LATENCY_MS} ms per call, ` +
      `write limit ${WRITE_LIMIT.max} per ${WRITE_LIMIT.windowMs / 1000} s enforced, ours at concurrency ${CONCURRENCY}; ${os.cpus().length} CPUs`,
  );
  for (const size of SIZES.filter((s) => ONLY === undefined || String(s.rows) === ONLY)) {
    await benchSize(size, tmpRoot);
  }
  return report(false);
}

/**
 * Checks the targets, prints the table and writes the results (also for an interrupted bench: what was measured).
 * @param {boolean} interrupted
 */
async function report(interrupted) {
  const totalMs = performance.now() - started;
  const targets = checkTargets({
    measurements,
    concurrency: CONCURRENCY,
    sdmLatencyMs: SDM_LATENCY_MS,
    writeLimit: WRITE_LIMIT,
    cpu,
  });
  const table = resultsTable(measurements);
  const settings =
    `PagerDuty ${PAGERDUTY_LATENCY_MS} ms per request, sdm ${SDM_LATENCY_MS} ms per call, strongDM's write limit ` +
    `(${WRITE_LIMIT.max} per ${WRITE_LIMIT.windowMs / 1000} s) enforced; ours: the committed dist/index.js under ` +
    `Node 24, concurrency ${CONCURRENCY}, a fresh tool cache every run; ${os.cpus().length} CPUs.`;
  const targetLines = targets.map((t) => `- ${t.met ? 'met' : 'MISSED'}: ${t.target}: ${t.detail}`);
  const cpuLines = cpu.map(
    (c) =>
      `- ${c.rows} rows: busy ${Math.round(c.busyMs)} ms (runs: ${c.runs.map((v) => Math.round(v)).join(', ')} ms)`,
  );
  const profileLines = setupProfile
    ? [
        `First run at ${setupProfile.rows} rows, profiled, ${formatSeconds(setupProfile.wallMs)}: ` +
          `${Math.round(setupProfile.busy.totalMs)} ms sampled, busy ${Math.round(setupProfile.busy.busyMs)} ms ` +
          `(idle ${Math.round(setupProfile.busy.idleMs)}, program ${Math.round(setupProfile.busy.programMs)}, GC ${Math.round(setupProfile.busy.gcMs)}). ` +
          `Top 15 by self time, (idle) left out:`,
        '',
        '| function | where | self | share |',
        '| --- | --- | --- | --- |',
        ...setupProfile.top.map(
          (f) =>
            `| ${f.name.replace(/\|/g, '\\|')} | ${f.where.replace(/\|/g, '\\|')} | ${f.selfMs.toFixed(1)} ms | ${(f.share * 100).toFixed(1)}% |`,
        ),
      ]
    : ['(no setup profile in this run)'];

  console.log(`\n${table}\n`);
  console.log(`Targets:\n${targetLines.join('\n')}\n`);
  console.log(`Planning CPU (profiled unchanged re-runs, median of ${CPU_REPS}):\n${cpuLines.join('\n')}\n`);
  console.log(`${profileLines.join('\n')}\n`);

  const generated = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const md = [
    '# Benchmark results',
    '',
    `Generated by \`npm run bench${FULL ? ' -- --full' : ''}\` on ${generated} in ${formatSeconds(totalMs)}${interrupted ? ' (INTERRUPTED: partial results)' : ''}. ${settings}`,
    "The seed is a re-implementation of the algorithm of strongDM's sample cron script (bench/seed.mjs), not the original.",
    '',
    table,
    '',
    '## Targets',
    '',
    ...targetLines,
    '',
    '## Planning CPU',
    '',
    'CPU of profiled unchanged re-runs (`--cpu-prof`): sampled time less `(idle)` and `(program)`; the target compares the growth above the smallest size.',
    '',
    ...cpuLines,
    '',
    '## Profile',
    '',
    ...profileLines,
    '',
  ].join('\n');
  await writeFormatted(path.join(root, 'bench', 'results.md'), md);
  await writeFormatted(
    path.join(root, 'bench', 'results.json'),
    JSON.stringify({
      generated,
      full: FULL,
      interrupted,
      totalMs: Math.round(totalMs),
      settings: {
        pagerdutyLatencyMs: PAGERDUTY_LATENCY_MS,
        sdmLatencyMs: SDM_LATENCY_MS,
        writeLimit: WRITE_LIMIT,
        concurrency: CONCURRENCY,
        cpus: os.cpus().length,
      },
      probes,
      measurements: measurements.map((m) => ({
        ...m,
        runs: m.runs.map((r) => ({ ...r, wallMs: Math.round(r.wallMs) })),
        ...(m.runs.length > 0 ? { wallMs: summarize(m.runs.map((r) => Math.round(r.wallMs))) } : {}),
      })),
      cpu,
      setupProfile,
      targets,
    }),
  );
  await writeFile(
    path.join(root, 'docs', 'bench.svg'),
    renderChart({
      title: 'oncall-access vs the seed: wall time per run',
      subtitle: `PagerDuty ${PAGERDUTY_LATENCY_MS} ms, sdm ${SDM_LATENCY_MS} ms, write limit ${WRITE_LIMIT.max}/min; median with min–max`,
      series: chartSeries(),
    }),
  );
  console.log(
    `Wrote bench/results.md, bench/results.json, docs/bench.svg; profiles in ${path.relative(root, OUT)}/`,
  );
  console.log(`Total wall time: ${formatSeconds(totalMs)} (${(totalMs / 60_000).toFixed(1)} min)`);
  return targets.every((t) => t.met);
}

let ok = false;
try {
  ok = await main();
} catch (err) {
  console.error(err);
} finally {
  await cleanUp();
}
process.exitCode = ok ? 0 : 1;
