import { afterEach, describe, expect, it } from 'vitest';
import { watchCancellation, type Cancellation } from './cancellation.js';

describe('watchCancellation', () => {
  let cancellation: Cancellation | undefined;
  afterEach(() => cancellation?.stop());

  it('cancels on the first SIGINT and kills on the second', () => {
    cancellation = watchCancellation();
    process.emit('SIGINT', 'SIGINT');
    expect([cancellation.cancel.aborted, cancellation.kill.aborted]).toEqual([true, false]);
    process.emit('SIGINT', 'SIGINT');
    expect(cancellation.kill.aborted).toBe(true);
  });

  it('cancels and kills at once on SIGTERM', () => {
    cancellation = watchCancellation();
    process.emit('SIGTERM', 'SIGTERM');
    expect([cancellation.cancel.aborted, cancellation.kill.aborted]).toEqual([true, true]);
  });

  it('stops listening once stopped', () => {
    const before = process.listenerCount('SIGINT');
    cancellation = watchCancellation();
    expect(process.listenerCount('SIGINT')).toBe(before + 1);
    cancellation.stop();
    expect(process.listenerCount('SIGINT')).toBe(before);
  });
});
