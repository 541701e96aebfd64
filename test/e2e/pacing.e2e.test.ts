// End to end: a first run with more writes than strongDM allows in a minute (500 per token) is paced, not refused.
// The fake sdm enforces the documented limit as a sliding 60-second window, the strictest reading; a burst would be
// answered "resource exhausted" and this test would fail. It takes a little over a minute by design. sdm is served
// (a bash client, not a node process per call), so without pacing the writes would come fast enough to exceed the
// limit on any machine.
import { describe, expect, it } from 'vitest';
import { bigOrg, usedScheduleIdsOf } from '../fakes/orgs.mjs';
import { runChecked, worlds, type Invocation } from './harness.js';

const { startSeed } = worlds();

const WINDOW_MS = 60_000;
const LIMIT = 500;

describe('strongDM write limit', () => {
  it('a first run of more than 500 grants waits for the window instead of being refused', async () => {
    const org = bigOrg(new Date());
    const resources = Array.from({ length: 12 }, (_, i) => `db-${String(i + 1).padStart(2, '0')}`);
    const world = await startSeed({
      pagerduty: org.pagerduty,
      strongdm: { users: org.strongdm.users, resources: resources.map((name) => ({ name })) },
      servedSdm: true,
    });
    const inputs = {
      ...world.baseInputs(),
      'schedule-ids': [...usedScheduleIdsOf(org.pagerduty), 'null'].join(','),
      resources: resources.join('\n'),
      'max-new-grants': '1000', // a big first run is intended here
      concurrency: '16',
    };
    // a minute of waiting for the window, on a shared machine: more than the runner's usual 2 minutes
    const run = await runChecked(world, inputs, undefined, {}, 270_000);
    expect(run.exitCode, run.stdout).toBe(0);
    const granted = Number(run.outputs.granted);
    expect(granted).toBeGreaterThan(LIMIT);
    expect(run.outputs.failed).toBe('0');

    const writes = (
      (await world.sdmState()).invocations as Array<Invocation & { at: string; rateLimited?: boolean }>
    )
      .filter((invocation) => invocation.argv[2] === 'grant-temporary' && !invocation.argv.includes('--help'))
      .map((invocation) => ({ at: Date.parse(invocation.at), rateLimited: invocation.rateLimited === true }))
      .sort((a, b) => a.at - b.at);
    expect(writes.filter((write) => write.rateLimited)).toEqual([]);
    expect(writes).toHaveLength(granted);
    // strongDM saw no 60 seconds with more than 500 writes, and the 501st waited for the first to leave the window
    for (const [index, write] of writes.entries()) {
      const inWindow = writes.slice(0, index + 1).filter((other) => other.at > write.at - WINDOW_MS);
      expect(inWindow.length).toBeLessThanOrEqual(LIMIT);
    }
    expect((writes[LIMIT]?.at ?? 0) - (writes[0]?.at ?? 0)).toBeGreaterThanOrEqual(WINDOW_MS);
  }, 300_000);
});
