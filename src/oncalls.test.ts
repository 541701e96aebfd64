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

  it("adds the policies of open incidents to the policies' query, and asks nothing for incident rules alone", () => {
    const incidentRule = rule({
      schedules: [],
      incidents: {
        services: ['PSVC1'],
        urgencies: ['high'],
        statuses: ['triggered'],
        windowMs: 3_600_000,
        requireOnCall: true,
      },
    });
    expect(onCallQueries([incidentRule])).toEqual([]);
    expect(onCallQueries([incidentRule], ['PEP9'])).toEqual([{ escalationPolicyIds: ['PEP9'] }]);
    expect(
      onCallQueries(
        [rule({ schedules: ['A'] }), rule({ schedules: [], escalationPolicies: ['P1'] })],
        ['P1', 'PEP9'],
      ),
    ).toEqual([{ scheduleIds: ['A'] }, { escalationPolicyIds: ['P1', 'PEP9'] }]);
  });
});
