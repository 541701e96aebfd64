import { describe, expect, it } from 'vitest';
import { ledgerEntry } from '../test/samples.js';
import { applyChange, emptyLedger, type Ledger } from './ledger.js';
import { LedgerRecorder } from './ledger-recorder.js';
import type { LedgerStore } from './ledger-stores.js';
import type { LedgerChange } from './types.js';

const now = new Date('2026-11-26T08:30:00Z');
const runUrl = 'https://github.com/acme/ops/actions/runs/9';

/** A store in memory whose next `failures` saves fail. */
class FlakyStore implements LedgerStore {
  readonly description = 'memory';
  ledger: Ledger = emptyLedger();
  saves: LedgerChange[] = [];
  constructor(public failures = 0) {}
  async load(): Promise<Ledger> {
    return this.ledger;
  }
  async save(change: LedgerChange): Promise<Ledger> {
    if (this.failures > 0) {
      this.failures--;
      throw new Error('GitHub is down');
    }
    this.saves.push(change);
    this.ledger = applyChange(this.ledger, change, now);
    return this.ledger;
  }
}

const ada = ledgerEntry('ada@example.com', '2026-11-26T09:00:00Z', '2026-11-26T17:00:00Z');
const bob = ledgerEntry('bob@example.com', '2026-11-26T17:00:00Z', '2026-11-27T09:00:00Z');

describe('LedgerRecorder', () => {
  it('writes what is pending as one change, and nothing when nothing is pending', async () => {
    const store = new FlakyStore();
    const recorder = new LedgerRecorder(store, now, runUrl, 60_000);
    recorder.add(ada);
    recorder.revoke({ id: 'old', at: '2026-11-26T08:30:00Z', runUrl });
    await recorder.flush();
    await recorder.flush();
    expect(store.saves).toEqual([
      { add: [ada], revoke: [{ id: 'old', at: '2026-11-26T08:30:00Z', runUrl }] },
    ]);
    expect(await recorder.close()).toEqual({ unrecorded: { add: [], revoke: [] } });
  });

  it('keeps a change whose write failed and writes it with the next one', async () => {
    const store = new FlakyStore(1);
    const recorder = new LedgerRecorder(store, now, runUrl, 60_000);
    recorder.add(ada);
    await recorder.flush();
    expect(store.saves).toEqual([]);
    recorder.add(bob);
    const closed = await recorder.close();
    expect(store.saves).toEqual([{ add: [ada, bob], revoke: [] }]);
    expect(closed).toEqual({ unrecorded: { add: [], revoke: [] } });
  });

  it('hands back what it could not record, with why', async () => {
    const recorder = new LedgerRecorder(new FlakyStore(5), now, runUrl, 60_000);
    recorder.add(ada);
    const { unrecorded, error } = await recorder.close();
    expect(unrecorded.add).toEqual([ada]);
    expect(error?.message).toBe('GitHub is down');
  });

  it('writes on its own every interval, so a run that dies part-way has recorded what it did', async () => {
    const store = new FlakyStore();
    const recorder = new LedgerRecorder(store, now, runUrl, 20);
    recorder.add(ada);
    for (let i = 0; i < 50 && store.saves.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(store.saves).toEqual([{ add: [ada], revoke: [] }]);
    await recorder.close();
  });
});
