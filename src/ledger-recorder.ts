import type { LedgerStore } from './ledger-stores.js';
import type { LedgerChange, LedgerEntry, Revocation } from './types.js';

/**
 * Records grants and revocations as they happen, in one commit every few seconds plus one at the end, so a run that
 * is cancelled or dies part-way leaves the ledger knowing what it did (at most the last few seconds are lost to a
 * hard kill). A failed write is kept and tried again with the next one.
 */
export class LedgerRecorder {
  private pending: LedgerChange = { add: [], revoke: [] };
  private chain: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private lastError: Error | undefined;
  recorded = { add: 0, revoke: 0 };

  constructor(
    private readonly store: LedgerStore,
    private readonly now: Date,
    private readonly runUrl: string,
    intervalMs = 5_000,
  ) {
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  add(entry: LedgerEntry): void {
    this.pending.add.push(entry);
  }

  revoke(revocation: Revocation): void {
    this.pending.revoke.push(revocation);
  }

  /** Writes what is pending (one commit), after any write already under way. */
  flush(): Promise<void> {
    this.chain = this.chain.then(async () => {
      const change = this.pending;
      if (change.add.length === 0 && change.revoke.length === 0) return;
      this.pending = { add: [], revoke: [] };
      try {
        await this.store.save(change, this.now, this.runUrl);
        this.recorded.add += change.add.length;
        this.recorded.revoke += change.revoke.length;
        this.lastError = undefined;
      } catch (error) {
        this.pending = {
          add: [...change.add, ...this.pending.add],
          revoke: [...change.revoke, ...this.pending.revoke],
        };
        this.lastError = error instanceof Error ? error : new Error(String(error));
      }
    });
    return this.chain;
  }

  /** The last write; returns what could not be recorded, with why. */
  async close(): Promise<{ unrecorded: LedgerChange; error?: Error }> {
    clearInterval(this.timer);
    await this.flush();
    return { unrecorded: this.pending, ...(this.lastError ? { error: this.lastError } : {}) };
  }
}
