// Retrying what is worth retrying, within one time budget for the whole run.

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
