// Where the ledger is kept: nowhere (state: none), a local file (state: file:<path>), or a branch of the
// workflow's repository (state: github, in ledger-github.ts).
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GitHubLedger } from './ledger-github.js';
import {
  applyChange,
  emptyLedger,
  LedgerError,
  parseLedger,
  serializeLedger,
  type Ledger,
} from './ledger.js';
import type { Inputs } from './inputs.js';
import type { LedgerChange } from './types.js';

export interface LedgerStore {
  readonly description: string;
  load(): Promise<Ledger>;
  /** Applies the change to the latest stored ledger; returns the ledger as saved. */
  save(change: LedgerChange, now: Date, runUrl: string): Promise<Ledger>;
}

/** state: none: every run grants what it sees. */
export class NoLedger implements LedgerStore {
  readonly description = 'no ledger (state: none)';
  async load(): Promise<Ledger> {
    return emptyLedger();
  }
  async save(change: LedgerChange, now: Date, _runUrl?: string): Promise<Ledger> {
    return applyChange(emptyLedger(), change, now);
  }
}

/** state: file:<path>, for a single runner: atomic replace, no cross-machine locking. */
export class FileLedger implements LedgerStore {
  readonly description: string;
  constructor(private readonly file: string) {
    this.description = `the file ${file}`;
  }

  async load(): Promise<Ledger> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyLedger();
      throw new LedgerError(`cannot read the ledger ${this.file}: ${(error as Error).message}`);
    }
    return parseLedger(text, this.file);
  }

  async save(change: LedgerChange, now: Date, _runUrl?: string): Promise<Ledger> {
    const next = applyChange(await this.load(), change, now);
    await mkdir(path.dirname(this.file), { recursive: true });
    const temp = `${this.file}.${process.pid}.tmp`;
    await writeFile(temp, serializeLedger(next));
    await rename(temp, this.file);
    return next;
  }
}

/** The store the `state` input names. */
export function openLedgerStore(inputs: Inputs, workspace: string): LedgerStore {
  switch (inputs.state.kind) {
    case 'none':
      return new NoLedger();
    case 'file':
      return new FileLedger(path.resolve(workspace, inputs.state.path));
    case 'github':
      return new GitHubLedger({
        token: inputs.githubToken,
        apiUrl: process.env.GITHUB_API_URL || 'https://api.github.com',
        repository: process.env.GITHUB_REPOSITORY || '',
        branch: inputs.stateBranch,
        requestTimeoutMs: inputs.requestTimeoutMs,
      });
  }
}
