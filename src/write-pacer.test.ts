import { describe, expect, it } from 'vitest';
import { WritePacer, type PacerClock } from './write-pacer.js';

/** Virtual time: when every task is waiting, time jumps to the next timer. */
class VirtualClock implements PacerClock {
  t = 0;
  private timers: Array<{ at: number; resolve: () => void }> = [];

  now(): number {
    return this.t;
  }

  wait(ms: number | undefined, wake: Promise<void>): Promise<void> {
    return new Promise((resolve) => {
      const timer = { at: ms === undefined ? Infinity : this.t + ms, resolve };
      this.timers.push(timer);
      void wake.then(() => this.fire(timer));
    });
  }

  private fire(timer: { at: number; resolve: () => void }): void {
    const index = this.timers.indexOf(timer);
    if (index >= 0) this.timers.splice(index, 1);
    timer.resolve();
  }

  /** Runs until every task has finished (at most `steps` jumps). */
  async settle(done: Promise<unknown>, steps = 10_000): Promise<void> {
    let finished = false;
    void done.then(() => (finished = true));
    for (let step = 0; step < steps && !finished; step++) {
      await new Promise((resolve) => setImmediate(resolve));
      if (finished) return;
      const next = Math.min(...this.timers.map((timer) => timer.at));
      if (!Number.isFinite(next)) continue;
      this.t = next;
      for (const timer of this.timers.filter((candidate) => candidate.at <= next)) this.fire(timer);
    }
    expect(finished).toBe(true);
  }
}

const never = new Promise<void>(() => {});

/** `writes` writes of `durationMs` each, all started at once; returns when each began and ended. */
async function simulate(pacer: WritePacer, clock: VirtualClock, writes: number, durationMs: number) {
  const spans: Array<{ start: number; end: number }> = [];
  const all = Promise.all(
    Array.from({ length: writes }, async () => {
      const slot = await pacer.acquire(() => Infinity);
      if (!slot.granted) throw new Error('no slot');
      const start = clock.now();
      await clock.wait(durationMs, never);
      spans.push({ start, end: clock.now() });
      slot.release();
    }),
  );
  await clock.settle(all);
  await all;
  return spans.sort((a, b) => a.start - b.start);
}

describe('WritePacer', () => {
  it('lets the first `max` writes start at once', async () => {
    const clock = new VirtualClock();
    const spans = await simulate(new WritePacer(5, 1000, clock), clock, 5, 100);
    expect(spans.map((span) => span.start)).toEqual([0, 0, 0, 0, 0]);
  });

  it('starts write max+1 a full window after the first write ENDED, never earlier', async () => {
    const clock = new VirtualClock();
    const spans = await simulate(new WritePacer(5, 1000, clock), clock, 7, 100);
    expect(spans.map((span) => span.start)).toEqual([0, 0, 0, 0, 0, 1100, 1100]);
  });

  it('never has more than `max` writes in any window, counted from start to end + window', async () => {
    const clock = new VirtualClock();
    const spans = await simulate(new WritePacer(4, 1000, clock), clock, 30, 250);
    for (const span of spans) {
      // Writes strongDM may have received within the window before this one started.
      const inWindow = spans.filter((other) => other.start <= span.start && other.end > span.start - 1000);
      expect(inWindow.length).toBeLessThanOrEqual(4);
    }
    // and no slower than the limit requires: 30 writes at 4 per window take 7 more windows after the first
    expect(spans.at(-1)?.start).toBe(7 * 1250);
  });

  it('gives no slot when waiting would outlast the time budget', async () => {
    const clock = new VirtualClock();
    const pacer = new WritePacer(1, 1000, clock);
    const first = await pacer.acquire(() => 5000);
    expect(first.granted).toBe(true);
    if (first.granted) first.release();
    expect(await pacer.acquire(() => 999)).toEqual({ granted: false, why: 'budget' });
  });

  it('gives no slot once the run is cancelled, also to a write already waiting', async () => {
    const clock = new VirtualClock();
    const pacer = new WritePacer(1, 1000, clock);
    const cancel = new AbortController();
    const first = await pacer.acquire(() => Infinity, cancel.signal);
    expect(first.granted).toBe(true);
    const waiting = pacer.acquire(() => Infinity, cancel.signal);
    cancel.abort();
    expect(await waiting).toEqual({ granted: false, why: 'cancelled' });
  });

  it('counts a released slot once, however often release is called', async () => {
    const clock = new VirtualClock();
    const pacer = new WritePacer(2, 1000, clock);
    const slot = await pacer.acquire(() => Infinity);
    if (slot.granted) {
      slot.release();
      slot.release();
    }
    expect((await pacer.acquire(() => 10)).granted).toBe(true);
    expect(await pacer.acquire(() => 10)).toEqual({ granted: false, why: 'budget' });
  });
});
