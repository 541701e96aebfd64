// Tests of the clock preload (clock.mjs): with the offset set, "now" moves by exactly that much in the node that runs
// the action and in the node that runs the fake sdm, and nothing else about Date changes; without it, nothing moves.
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { clockEnv, OFFSET_VARIABLE } from './clock.mjs';
import { resolveNode24 } from './node24.mjs';

const HOUR_MS = 3_600_000;

// Every way the code under test may ask for the time, measured against the real clock (performance's origin is
// not moved), and the parts of Date that must stay as they are.
const PROBE = `
const real = () => performance.timeOrigin + performance.now();
class Later extends Date {}
const before = real();
const seen = {
  now: Date.now(),
  constructed: new Date().getTime(),
  subclass: new Later().getTime(),
  called: Date.parse(Date()),
};
const after = real();
console.log(JSON.stringify({
  before, after, seen,
  fromMs: new Date(0).toISOString(),
  fromText: new Date('2026-01-02T03:04:05Z').getTime(),
  fromParts: new Date(2026, 0, 2).getFullYear(),
  parse: Date.parse('2026-01-02T03:04:05Z'),
  utc: Date.UTC(2026, 0, 2),
  isDate: new Date() instanceof Date && new Later() instanceof Date && new Date().constructor === Date,
  tag: Object.prototype.toString.call(new Date()),
  length: Date.length,
}));
`;

interface Probe {
  before: number;
  after: number;
  seen: Record<'now' | 'constructed' | 'subclass' | 'called', number>;
  fromMs: string;
  fromText: number;
  fromParts: number;
  parse: number;
  utc: number;
  isDate: boolean;
  tag: string;
  length: number;
}

function probe(node: string, env: Record<string, string>): Probe {
  const { PATH } = process.env;
  const out = execFileSync(node, ['-e', PROBE], { env: { PATH, ...env }, encoding: 'utf8' });
  return JSON.parse(out) as Probe;
}

/** Each reading lies within the real interval around it, moved by `offsetMs` (Date() has whole seconds). */
function expectMovedBy(result: Probe, offsetMs: number) {
  for (const [name, value] of Object.entries(result.seen)) {
    const slack = name === 'called' ? 1000 : 1;
    expect(value, name).toBeGreaterThanOrEqual(result.before + offsetMs - slack);
    expect(value, name).toBeLessThanOrEqual(result.after + offsetMs + 1);
  }
}

function expectDateOtherwiseUnchanged(result: Probe) {
  expect(result).toMatchObject({
    fromMs: '1970-01-01T00:00:00.000Z',
    fromText: Date.parse('2026-01-02T03:04:05Z'),
    fromParts: 2026,
    parse: Date.parse('2026-01-02T03:04:05Z'),
    utc: Date.UTC(2026, 0, 2),
    isDate: true,
    tag: '[object Date]',
    length: 7,
  });
}

describe('clock.mjs', () => {
  // The action runs under Node 24, the fake sdm under the node running the tests: both must see the same clock.
  it.each([
    ['the node running the tests', process.execPath],
    ['the Node 24 that runs the action', resolveNode24()],
  ])('moves now forwards and backwards in %s, and nothing else', (_, node) => {
    for (const offsetMs of [70 * 60_000, -3 * HOUR_MS]) {
      const result = probe(node, clockEnv(offsetMs));
      expectMovedBy(result, offsetMs);
      expectDateOtherwiseUnchanged(result);
    }
  });

  it('moves nothing without the variable, or with it empty, though preloaded', () => {
    const { NODE_OPTIONS } = clockEnv(HOUR_MS);
    const envs: Array<Record<string, string>> = [{ NODE_OPTIONS }, { NODE_OPTIONS, [OFFSET_VARIABLE]: '' }];
    for (const env of envs) {
      const result = probe(process.execPath, env);
      expectMovedBy(result, 0);
      expectDateOtherwiseUnchanged(result);
    }
  });

  it('reaches the node processes a moved process starts, through its environment', () => {
    const child = `process.stdout.write(String(Date.now() - (performance.timeOrigin + performance.now())))`;
    const parent = `
      const { execFileSync } = require('node:child_process');
      process.stdout.write(execFileSync(process.execPath, ['-e', ${JSON.stringify(child)}], { encoding: 'utf8' }));
    `;
    const { PATH } = process.env;
    const drift = Number(
      execFileSync(process.execPath, ['-e', parent], {
        env: { PATH, ...clockEnv(2 * HOUR_MS) },
        encoding: 'utf8',
      }),
    );
    expect(drift).toBeGreaterThan(2 * HOUR_MS - 1000);
    expect(drift).toBeLessThan(2 * HOUR_MS + 1000);
  });

  it('stops the process when the offset is not whole milliseconds, instead of running on the real clock', () => {
    const { NODE_OPTIONS } = clockEnv(0);
    for (const bad of ['70m', '1.5', 'NaN', '1e3', '99999999999999999999']) {
      const run = spawnSync(process.execPath, ['-e', 'console.log("ran")'], {
        env: { PATH: process.env.PATH, NODE_OPTIONS, [OFFSET_VARIABLE]: bad },
        encoding: 'utf8',
      });
      expect(run.status, bad).toBe(64);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain(
        `${OFFSET_VARIABLE} must be an integer number of milliseconds, got ${bad}`,
      );
    }
    expect(() => clockEnv(1.5)).toThrow(TypeError);
  });
});
