import { describe, expect, it } from 'vitest';
import { backoffMs, Deadline, retry } from './retry.js';

describe('retry helpers', () => {
  it('backs off exponentially with jitter, within bounds', () => {
    for (let attempt = 1; attempt <= 8; attempt++) {
      const ceiling = Math.min(60_000, 1000 * 2 ** (attempt - 1));
      const wait = backoffMs(attempt);
      expect(wait).toBeGreaterThanOrEqual(ceiling / 2);
      expect(wait).toBeLessThanOrEqual(ceiling);
    }
  });

  it('tells whether a wait still fits the time budget', () => {
    const deadline = new Deadline(10_000, Date.now());
    expect(deadline.allows(5_000)).toBe(true);
    expect(deadline.allows(20_000)).toBe(false);
    expect(new Deadline(0).expired()).toBe(true);
  });
});

describe('retry', () => {
  const noWait = { waitMs: 0 };

  it('returns the first answer that is done, after the failures before it', async () => {
    const failures: string[] = [];
    const value = await retry(
      async (attempt) => (attempt < 3 ? { again: `failure ${attempt}`, ...noWait } : { done: attempt }),
      {
        attempts: 5,
        onRetry: (failure) => void failures.push(failure),
        giveUp: () => {
          throw new Error('gave up');
        },
      },
    );
    expect(value).toBe(3);
    expect(failures).toEqual(['failure 1', 'failure 2']);
  });

  it('gives up after the last attempt, handing over the last answer and why', async () => {
    let calls = 0;
    const outcome = await retry(
      async (attempt) => {
        calls++;
        return { again: `failure ${attempt}`, waitMs: 0, last: `answer ${attempt}` };
      },
      { attempts: 3, giveUp: (failure, why, last) => `${failure} / ${why} / ${last}` },
    );
    expect(calls).toBe(3);
    expect(outcome).toBe('failure 3 / after 3 attempts / answer 3');
  });

  it('waits what the attempt asks for, and gives up rather than wait past the time budget', async () => {
    const waits: number[] = [];
    const why = await retry<string>(
      async () => ({ again: 'busy', waitMs: waits.length === 0 ? 20 : 5_000 }),
      {
        attempts: 10,
        deadline: new Deadline(1_000),
        onRetry: (_failure, waitMs) => void waits.push(waitMs),
        giveUp: (_failure, reason) => reason,
      },
    );
    expect(waits).toEqual([20]);
    expect(why).toBe('within time-budget');
  });

  it('starts no new attempt once cancelled', async () => {
    const controller = new AbortController();
    let calls = 0;
    const why = await retry<string>(
      async () => {
        calls++;
        controller.abort();
        return { again: 'busy', waitMs: 0 };
      },
      { attempts: 10, signal: controller.signal, giveUp: (_failure, reason) => reason },
    );
    expect(calls).toBe(1);
    expect(why).toMatch(/cancelled/);
  });

  it('lets an error thrown by an attempt through at once', async () => {
    let calls = 0;
    await expect(
      retry(
        async () => {
          calls++;
          throw new Error('final');
        },
        { attempts: 5, giveUp: () => 'gave up' },
      ),
    ).rejects.toThrow('final');
    expect(calls).toBe(1);
  });
});
