import { describe, expect, it } from 'vitest';
import { onCallRow as oncall, rule } from '../test/samples.js';
import type { OnCallRow } from './pagerduty.js';
import { rfc3339 } from './plan.js';
import type { Rule } from './rules.js';
import { desiredWindows, mergeWindows } from './windows.js';

const now = new Date('2026-11-26T08:30:00.750Z');
const at = (iso: string) => new Date(iso);

const windowsOf = (oncalls: OnCallRow[], rules = [rule()], leadMs = 0, graceMs = 0) =>
  desiredWindows({ oncalls, rules, now, leadMs, graceMs });

describe('desiredWindows and merging', () => {
  it('clamps to now, applies lead time and grace period, keeps open ends open', () => {
    const [running, future, permanent] = windowsOf(
      [
        oncall({ userId: 'PRUN001', start: at('2026-11-20T09:00:00Z') }),
        oncall({ userId: 'PFUT001' }),
        oncall({ userId: 'PPERM01', scheduleId: null, start: null, end: null }),
      ],
      [rule()],
      15 * 60_000,
      30 * 60_000,
    );
    expect(rfc3339(new Date(running?.from ?? 0))).toBe('2026-11-26T08:30:00Z');
    expect(rfc3339(new Date(future?.from ?? 0))).toBe('2026-11-26T08:45:00Z');
    expect(rfc3339(new Date(future?.until ?? 0))).toBe('2026-11-26T17:30:00Z');
    expect(permanent?.until).toBe(Infinity);
  });

  it('matches rules by schedule, policy (both must match when both given) and level', () => {
    const rows = [
      oncall({ userId: 'PA00001', scheduleId: 'PSCHED1', level: 1 }),
      oncall({ userId: 'PB00001', scheduleId: 'PSCHED2', level: 2 }),
      oncall({
        userId: 'PC00001',
        scheduleId: 'PSCHED1',
        level: 2,
        escalationPolicy: { id: 'PEP0002', name: 'DB' },
      }),
    ];
    const who = (r: Rule) => windowsOf(rows, [r]).map((w) => w.pagerdutyUserId);
    expect(who(rule({ schedules: ['PSCHED1'] }))).toEqual(['PA00001', 'PC00001']);
    expect(who(rule({ schedules: ['PSCHED1'], escalationLevels: [1] }))).toEqual(['PA00001']);
    expect(who(rule({ schedules: [], escalationPolicies: ['PEP0002'] }))).toEqual(['PC00001']);
    expect(who(rule({ schedules: ['PSCHED2'], escalationPolicies: ['PEP0002'] }))).toEqual([]);
    expect(who(rule({ schedules: ['null'] }))).toEqual([]);
  });

  it('merges identical, overlapping and touching windows, keeping the lowest level and its rule', () => {
    const w = (from: number, until: number, level: number, name: string) => ({
      from,
      until,
      rule: name,
      source: {
        scheduleId: 'S',
        scheduleName: 'S',
        escalationPolicyId: 'P',
        escalationPolicyName: 'P',
        escalationLevel: level,
      },
    });
    const merged = mergeWindows([w(0, 10, 2, 'b'), w(0, 10, 1, 'a'), w(10, 12, 3, 'c'), w(20, 30, 1, 'd')]);
    expect(merged.map((m) => [m.from, m.until, m.rule])).toEqual([
      [0, 12, 'a'],
      [20, 30, 'd'],
    ]);
  });
});
