import { describe, expect, it } from 'vitest';
import { planOutput } from './report.js';
import { reportRow as row } from '../test/samples.js';

const context = { runUrl: 'https://github.com/acme/ops/actions/runs/7' };

describe('planOutput', () => {
  it('has the contract keys with UTC RFC3339 times', () => {
    expect(planOutput([row()], context.runUrl)).toEqual([
      {
        email: 'ada@example.com',
        name: 'Ada Lovelace',
        pagerdutyUserId: 'PADA001',
        scheduleId: 'PSCHED1',
        scheduleName: 'Platform Primary',
        escalationPolicyId: 'PEP0001',
        escalationLevel: 1,
        rule: 'default',
        resource: 'prod-postgres',
        from: '2026-11-26T09:00:00Z',
        until: '2026-11-26T17:00:00Z',
        status: 'granted',
        reason: '',
        runUrl: 'https://github.com/acme/ops/actions/runs/7',
      },
    ]);
  });
});
