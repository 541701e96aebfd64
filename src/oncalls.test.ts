import { describe, expect, it } from 'vitest';
import { dedupeOnCalls, onCallQueries } from './oncalls.js';
import { onCallRow as oncall, rule } from '../test/samples.js';

describe('onCallQueries and dedupeOnCalls', () => {
  it('asks PagerDuty once for schedules and once for policies, and removes rows seen twice', () => {
    expect(
      onCallQueries([
        rule({ schedules: ['A', 'B'] }),
        rule({ schedules: ['B', 'C'], escalationPolicies: ['P1'] }),
        rule({ schedules: [], escalationPolicies: ['P1', 'P2'] }),
      ]),
    ).toEqual([{ scheduleIds: ['A', 'B'] }, { escalationPolicyIds: ['P1', 'P2'] }]);
    const row = oncall({});
    expect(dedupeOnCalls([row, { ...row }, oncall({ level: 2 })])).toHaveLength(2);
  });
});
