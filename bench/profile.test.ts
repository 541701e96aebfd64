import { describe, expect, it } from 'vitest';
import { busyTime, topFunctions, where, type CpuProfile } from './profile.mjs';

const frame = (functionName: string, url = '', lineNumber = -1) => ({ functionName, url, lineNumber });

const profile: CpuProfile = {
  startTime: 0,
  endTime: 100_000,
  nodes: [
    { id: 1, callFrame: frame('(root)') },
    { id: 2, callFrame: frame('(idle)') },
    { id: 3, callFrame: frame('(program)') },
    { id: 4, callFrame: frame('plan', 'file:///repo/dist/index.js', 9) },
    { id: 5, callFrame: frame('plan', 'file:///repo/dist/index.js', 9) }, // same function, other call path
    { id: 6, callFrame: frame('(garbage collector)') },
    { id: 7, callFrame: frame('parse', 'node:internal/x', 0) },
  ],
  // microseconds before each sample
  samples: [2, 4, 5, 2, 3, 6, 7, 4],
  timeDeltas: [10_000, 20_000, 5000, 30_000, 4000, 6000, 1000, 4000],
};

describe('profiles', () => {
  it('splits sampled time into busy, idle and program', () => {
    const b = busyTime(profile);
    expect(b.totalMs).toBe(80);
    expect(b.idleMs).toBe(40);
    expect(b.programMs).toBe(4);
    expect(b.gcMs).toBe(6);
    expect(b.busyMs).toBe(36);
  });

  it('ranks functions by self time, merging call paths, with their share', () => {
    const top = topFunctions(profile, 3, '/repo', ['(idle)']);
    expect(top.map((f) => [f.name, f.where, f.selfMs])).toEqual([
      ['plan', 'dist/index.js:10', 29],
      ['(garbage collector)', '', 6],
      ['(program)', '', 4],
    ]);
    expect(top[0]!.share).toBeCloseTo(29 / 80);
  });

  it('shows built-ins and other files as they are', () => {
    expect(where(frame('f', 'node:internal/x', 4), '/repo')).toBe('node:internal/x:5');
    expect(where(frame('f', 'file:///elsewhere/a.js', 0), '/repo')).toBe('/elsewhere/a.js:1');
  });
});
