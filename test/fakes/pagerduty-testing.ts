// What the tests against the fake PagerDuty (pagerduty.test.ts, pagerduty-incidents.test.ts here, and
// src/pagerduty.test.ts, src/incidents.test.ts) share: one fake for a file or describe block, fresh for each test.
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { startFakePagerDuty } from './pagerduty.mjs';
import type { FakePagerDuty, FakePagerDutyOptions, Fault, PagerDutyOrg } from './pagerduty.mjs';

/**
 * Starts one fake PagerDuty before all tests of the enclosing block with `org()` and the other `options`, gives it a
 * fresh `org()`, no faults and no recorded requests before each test, and closes it after all. Returns the fake
 * (call it inside a test or hook, once it is started).
 */
export function useFakePagerDuty(
  org: () => PagerDutyOrg,
  options: Omit<FakePagerDutyOptions, 'org'> = {},
): () => FakePagerDuty {
  let fake: FakePagerDuty | undefined;
  beforeAll(async () => {
    fake = await startFakePagerDuty({ ...options, org: org() });
  });
  afterAll(async () => {
    await fake?.close();
  });
  beforeEach(() => {
    const started = running();
    started.setOrg(org());
    started.faults.length = 0;
    started.requests.length = 0;
  });
  function running(): FakePagerDuty {
    if (fake === undefined)
      throw new Error('the fake PagerDuty is not started yet (use it inside a test or hook)');
    return fake;
  }
  return running;
}

/** A reference in a PagerDuty answer (user, schedule, policy, service, team), with the fields some kinds add. */
export interface Ref {
  id: string;
  type: string;
  summary: string;
  self: string;
  html_url: string;
  name?: string;
  email?: string;
  time_zone?: string | null;
  role?: string;
  escalation_policy?: Ref;
}

/** PagerDuty's error answer: `errors` a list of strings, or (on some endpoints) field names to lists of them. */
export interface ErrorBody<Errors = string[] | Record<string, string[]>> {
  error: { message: string; code: number; errors?: Errors };
}

/** A fault: PagerDuty's 403 to a token without the scope `path` needs ("Access Denied", code 2010). */
export const accessDenied = (path: string): Fault => ({
  path,
  status: 403,
  body: { error: { message: 'Access Denied', code: 2010 } },
});
