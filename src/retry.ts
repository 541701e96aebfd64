// Retrying what is worth retrying, within one time budget for the whole run. Every retry in the action goes
// through retry(); each call site states only its policy (how many attempts, what is worth another try, how
// long to wait, what to do when giving up). p-retry does not fit: its waits come from its own options only (a
// 429's Retry-After cannot set the next one), and an abort rejects instead of handing back the last answer.

/** The run's time budget: retries stop, and work not yet started is reported, once it is spent. */
export class Deadline {
  private readonly end: number;
  constructor(
    readonly budgetMs: number,
    now = Date.now(),
  ) {
    this.end = now + budgetMs;
  }
  remainingMs(): number {
    return Math.max(0, this.end - Date.now());
  }
  expired(): boolean {
    return this.remainingMs() === 0;
  }
  /** Whether waiting `ms` and trying again still fits. */
  allows(ms: number): boolean {
    return ms < this.remainingMs();
  }
}

/** Exponential backoff with jitter (half fixed, half random), so parallel runs do not retry in step. */
export function backoffMs(attempt: number, baseMs = 1000, maxMs = 60_000): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * What one attempt came to: `done` ends the retries with that value; `again` is a failure worth another try,
 * after `waitMs` (what the service asked for) or the policy's backoff. `last` is what giving up hands back.
 * A thrown error is final and propagates as it is.
 */
export type Attempt<T> = { done: T } | { again: string; waitMs?: number; last?: T };

export interface RetryPolicy<T> {
  /** Attempts in all, the first included. */
  attempts: number;
  /** No wait goes past the run's time budget; without one, only `attempts` bounds the retries. */
  deadline?: Deadline;
  /** Once aborted, no new attempt starts. */
  signal?: AbortSignal;
  backoff?: { baseMs: number; maxMs: number };
  /** Before each wait: say what failed, and let go of the answer that will not be used (`last`). */
  onRetry?: (failure: string, waitMs: number, last: T | undefined) => void | Promise<void>;
  /** No attempt left: return the answer to use, or throw. `why` reads "after 4 attempts" or "within time-budget". */
  giveUp: (failure: string, why: string, last: T | undefined) => T;
}

export async function retry<T>(
  attempt: (number: number) => Promise<Attempt<T>>,
  policy: RetryPolicy<T>,
): Promise<T> {
  for (let number = 1; ; number++) {
    const outcome = await attempt(number);
    if ('done' in outcome) return outcome.done;
    const waitMs = outcome.waitMs ?? backoffMs(number, policy.backoff?.baseMs, policy.backoff?.maxMs);
    if (number >= policy.attempts)
      return policy.giveUp(outcome.again, `after ${number} attempts`, outcome.last);
    if (policy.deadline && !policy.deadline.allows(waitMs))
      return policy.giveUp(outcome.again, 'within time-budget', outcome.last);
    if (policy.signal?.aborted)
      return policy.giveUp(outcome.again, 'before the run was cancelled', outcome.last);
    await policy.onRetry?.(outcome.again, waitMs, outcome.last);
    await sleep(waitMs);
  }
}
