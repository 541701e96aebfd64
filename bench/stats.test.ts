import { describe, expect, it } from 'vitest';
import {
  checkTargets,
  cpuTarget,
  firstRunBoundMs,
  formatCount,
  formatWall,
  median,
  resultsTable,
  summarize,
  type Measurement,
  type Run,
} from './stats.mjs';

const run = (over: Partial<Run> = {}): Run => ({
  wallMs: 1000,
  pagerduty: { oncalls: 2, other: 0 },
  sdm: { invocations: 0, help: 0, writes: 0, rateLimited: 0 },
  downloads: 0,
  ledger: { reads: 1, writes: 0 },
  rowsSeen: 150,
  grants: 150,
  exitCode: 0,
  ...over,
});

const settings = { concurrency: 16, sdmLatencyMs: 250, writeLimit: { max: 500, windowMs: 60_000 } };

function passingMeasurements(): Measurement[] {
  return [
    {
      rows: 150,
      variant: 'seed-paged',
      label: 'seed paged',
      runs: [run({ wallMs: 50_000 }), run({ wallMs: 56_000 })],
    },
    {
      rows: 150,
      variant: 'first-run',
      label: 'first',
      queries: 1,
      runs: [
        run({ wallMs: 5000, sdm: { invocations: 154, help: 2, writes: 150, rateLimited: 0 }, downloads: 1 }),
      ],
    },
    {
      rows: 150,
      variant: 're-run',
      label: 're-run',
      queries: 1,
      runs: [run({ wallMs: 600 }), run({ wallMs: 700 })],
    },
  ];
}

describe('median and summaries', () => {
  it('takes the middle value, or the mean of the two middle ones', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(RangeError);
  });

  it('summarizes with min and max', () => {
    expect(summarize([5, 1, 9])).toEqual({ median: 5, min: 1, max: 9, n: 3 });
  });

  it('formats walls and counts', () => {
    expect(formatWall(summarize([1500, 1200, 2000]))).toBe('1.50 s (1.20–2.00 s)');
    expect(formatWall(summarize([65_000]))).toBe('65.0 s (1 run)');
    expect(formatCount([2, 2, 2])).toBe('2');
    expect(formatCount([0, 6, 0])).toBe('0–6');
  });
});

describe('first-run bound', () => {
  it('is the write limit floor when it dominates', () => {
    // ⌊4999/500⌋ × 60 s = 540 s; ⌈5000/16⌉ × 0.25 s = 78.25 s
    expect(firstRunBoundMs({ writes: 5000, concurrency: 16, sdmLatencyMs: 250 })).toBe(1.25 * 540_000 + 3000);
  });

  it('is the latency floor when the writes fit in one window', () => {
    // ⌈150/16⌉ × 0.25 s = 2.5 s
    expect(firstRunBoundMs({ writes: 150, concurrency: 16, sdmLatencyMs: 250 })).toBe(1.25 * 2500 + 3000);
    // 500 writes still fit in one window; 501 do not
    expect(firstRunBoundMs({ writes: 500, concurrency: 16, sdmLatencyMs: 250 })).toBe(1.25 * 32 * 250 + 3000);
    expect(firstRunBoundMs({ writes: 501, concurrency: 16, sdmLatencyMs: 250 })).toBe(1.25 * 60_000 + 3000);
  });
});

describe('targets', () => {
  it('are all met by a good run', () => {
    const targets = checkTargets({ measurements: passingMeasurements(), ...settings });
    expect(targets.filter((t) => t.target.startsWith('planning CPU')).every((t) => !t.met)).toBe(true);
    expect(targets.filter((t) => !t.target.startsWith('planning CPU')).every((t) => t.met)).toBe(true);
  });

  it('miss when the re-run runs sdm or downloads', () => {
    const m = passingMeasurements();
    m[2]!.runs[1] = run({
      wallMs: 650,
      sdm: { invocations: 4, help: 2, writes: 0, rateLimited: 0 },
      downloads: 1,
    });
    const t = checkTargets({ measurements: m, ...settings }).find((x) =>
      x.target.includes('0 sdm invocations'),
    );
    expect(t?.met).toBe(false);
    expect(t?.detail).toContain('4 sdm invocations, 1 downloads');
  });

  it('miss when the re-run is less than 80× faster than the seed', () => {
    const m = passingMeasurements();
    m[2]!.runs = [run({ wallMs: 1000 })]; // 53 s / 1 s = 53×
    const t = checkTargets({ measurements: m, ...settings }).find((x) => x.target.includes('80×'));
    expect(t?.met).toBe(false);
    expect(t?.detail).toContain('53.0×');
  });

  it('miss when a first run is slow, rate-limited or short of grants', () => {
    for (const bad of [
      run({ wallMs: 6200 }), // bound 1.25 × 2.5 s + 3 s = 6.125 s
      run({ wallMs: 5000, sdm: { invocations: 160, help: 2, writes: 156, rateLimited: 6 } }),
      run({ wallMs: 5000, grants: 149 }),
    ]) {
      const m = passingMeasurements();
      m[1]!.runs = [bad];
      const failed = checkTargets({ measurements: m, ...settings }).filter(
        (t) => !t.met && !t.target.startsWith('planning CPU'),
      );
      expect(failed).toHaveLength(1);
    }
  });

  it('miss when /oncalls is asked more than once per 100 rows per query', () => {
    const m = passingMeasurements();
    m[2]!.runs = [run({ wallMs: 600, pagerduty: { oncalls: 6, other: 0 } })];
    const t = checkTargets({ measurements: m, ...settings }).find(
      (x) => x.target.includes('re-run') && x.target.includes('/oncalls'),
    );
    expect(t?.met).toBe(false);
  });
});

describe('planning CPU target', () => {
  it('accepts n log n growth above the baseline and refuses quadratic growth', () => {
    const nlogn = (n: number) => 100 + 0.01 * n * Math.log(n); // 100 ms fixed cost
    const quadratic = (n: number) => 100 + 0.00002 * n * n;
    const at = (f: (n: number) => number) => [150, 1000, 5000].map((rows) => ({ rows, busyMs: f(rows) }));
    expect(cpuTarget(at(nlogn)).met).toBe(true);
    expect(cpuTarget(at(quadratic)).met).toBe(false);
  });

  it('is missed when a size was not measured', () => {
    expect(cpuTarget([{ rows: 1000, busyMs: 10 }]).met).toBe(false);
  });
});

describe('results table', () => {
  it('has one row per measurement, the ratio to the seed and the reason a variant was not run', () => {
    const m: Measurement[] = [
      ...passingMeasurements(),
      { rows: 5000, variant: 'first-run', label: 'first', runs: [], notRun: '≥ 9 min | write limit' },
    ];
    const lines = resultsTable(m).split('\n');
    expect(lines).toHaveLength(2 + m.length);
    expect(lines[4]).toContain('| 81.5× |'); // seed median 53 s / re-run median 0.65 s
    expect(lines[3]).toContain('| 10.6× |'); // 53 s / 5 s
    expect(lines[5]).toContain('not run by default: ≥ 9 min \\| write limit');
  });
});
