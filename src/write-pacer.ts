// strongDM allows 500 writes per minute per admin token (docs/strongdm-cli.md). The run paces its writes so that
// no 60-second window holds more than that, whatever the concurrency, instead of being told "resource exhausted"
// part-way through a large first run.
//
// A write counts from the moment it starts until a full window after it ENDED: strongDM receives it somewhere in
// between, so anchoring on the end is safe however long a process takes to start. p-throttle anchors on the
// start, which a slow process start could push past the window; hence these few lines instead.

/** strongDM's documented limit per admin token. */
export const WRITES_PER_WINDOW = 500;
/** The window, plus a margin for the service's own clock granularity. */
export const WRITE_WINDOW_MS = 60_000 + 500;

export interface PacerClock {
  now(): number;
  /** Resolves after `ms` (never, when undefined), or when `wake` resolves; the timer never outlives either. */
  wait(ms: number | undefined, wake: Promise<void>): Promise<void>;
}

export type Slot = { granted: true; release: () => void } | { granted: false; why: 'budget' | 'cancelled' };

export class WritePacer {
  private inFlight = 0;
  /** When each write of the last window ended, oldest first. */
  private readonly ended: number[] = [];
  /** Resolved, and replaced, whenever a write ends (no AbortController: one per write showed in the profile). */
  private changed = settable();

  constructor(
    private readonly max = WRITES_PER_WINDOW,
    private readonly windowMs = WRITE_WINDOW_MS,
    private readonly clock: PacerClock = realClock,
  ) {}

  /**
   * A slot for one write, waiting while the window is full. No slot when waiting would outlast `remainingMs()`
   * (the run's time budget) or once `cancel` aborts.
   */
  async acquire(remainingMs: () => number, cancel?: AbortSignal): Promise<Slot> {
    for (;;) {
      if (cancel?.aborted) return { granted: false, why: 'cancelled' };
      const now = this.clock.now();
      while (this.ended.length > 0 && (this.ended[0] as number) <= now - this.windowMs) this.ended.shift();
      if (this.inFlight + this.ended.length < this.max) {
        this.inFlight++;
        return { granted: true, release: once(() => this.release()) };
      }
      // Full: the oldest ended write leaves the window at a known time; with all of them in flight, the next to end
      // frees nothing for a whole window, so wait for any change and look again.
      const oldest = this.ended[0];
      const waitMs = oldest === undefined ? undefined : oldest + this.windowMs - now;
      if (waitMs !== undefined && waitMs >= remainingMs()) return { granted: false, why: 'budget' };
      await this.clock.wait(
        waitMs,
        cancel ? Promise.race([this.changed.promise, aborted(cancel)]) : this.changed.promise,
      );
      if (remainingMs() <= 0) return { granted: false, why: 'budget' };
    }
  }

  private release(): void {
    this.inFlight--;
    this.ended.push(this.clock.now());
    const changed = this.changed;
    this.changed = settable();
    changed.resolve();
  }
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

function settable(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

const abortedPromises = new WeakMap<AbortSignal, Promise<void>>();

/** Resolves once `signal` aborts: one listener per signal, however many writes wait on it. */
function aborted(signal: AbortSignal): Promise<void> {
  let promise = abortedPromises.get(signal);
  if (!promise) {
    promise = new Promise((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    abortedPromises.set(signal, promise);
  }
  return promise;
}

const realClock: PacerClock = {
  now: () => performance.now(),
  wait: (ms, wake) =>
    new Promise<void>((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(resolve, Math.max(0, ms));
      void wake.then(() => {
        clearTimeout(timer);
        resolve();
      });
    }),
};
