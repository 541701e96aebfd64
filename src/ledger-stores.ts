// Where the ledger is kept: nowhere (state: none), a local file (state: file:<path>), or a branch of the
// workflow's repository (state: github, in ledger-github.ts).
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
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
import { forLogLine } from './text.js';
import {
  locateInWorkspace,
  MAX_LEDGER_BYTES,
  readRegularFile,
  WorkspaceFileError,
} from './workspace-files.js';

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

/**
 * state: file:<path>, for a single runner: atomic replace, no cross-machine locking. `file` is a real path
 * openLedgerStore checked (inside the workspace); it is read only as a regular file of at most 100 MB, opened
 * non-blocking so that a FIFO put there cannot hang the run.
 */
export class FileLedger implements LedgerStore {
  readonly description: string;
  constructor(
    private readonly file: string,
    shown = file,
  ) {
    this.description = `the file ${shown}`;
  }

  async load(): Promise<Ledger> {
    let text: string | undefined;
    try {
      text = await readRegularFile(this.file, MAX_LEDGER_BYTES);
    } catch (error) {
      const why =
        error instanceof WorkspaceFileError
          ? `it ${error.reason}`
          : forLogLine((error as Error).message, 200);
      throw new LedgerError(
        `cannot read the ledger, ${this.description}: ${why}; point state at a JSON file (file:<path>) or delete it`,
      );
    }
    return text === undefined ? emptyLedger() : parseLedger(text, this.file);
  }

  async save(change: LedgerChange, now: Date, _runUrl?: string): Promise<Ledger> {
    const next = applyChange(await this.load(), change, now);
    await mkdir(path.dirname(this.file), { recursive: true });
    const temp = `${this.file}.${process.pid}.tmp`;
    await rm(temp, { force: true }); // a leftover (or a symlink) is replaced, never written through
    await writeFile(temp, serializeLedger(next), { flag: 'wx' });
    await rename(temp, this.file);
    return next;
  }
}

const STATE_FILE_FIXES: Record<WorkspaceFileError['code'], string> = {
  missing: 'use a path inside the workspace, e.g. file:.oncall-access/ledger.json',
  outside:
    'use a path inside the workspace, e.g. file:.oncall-access/ledger.json (a symlink must not lead out of it)',
  type: 'point state at a regular JSON file (it is created on the first run), or delete what is there',
  size: 'the ledger drops expired grants, so this is not one; point state at another file or delete it',
};

/**
 * The ledger file of `state: file:<path>`: its real path (symlinks followed) inside the workspace's real path; an
 * existing file must be a regular file of at most 100 MB; a missing one is created on the first write.
 */
export function ledgerFileIn(workspace: string, relativePath: string): FileLedger {
  try {
    const { file } = locateInWorkspace(workspace, relativePath, {
      maxBytes: MAX_LEDGER_BYTES,
      mayBeMissing: true,
    });
    return new FileLedger(file, relativePath);
  } catch (error) {
    const shown = `"file:${forLogLine(relativePath)}"`;
    if (error instanceof WorkspaceFileError) {
      throw new LedgerError(`state: ${shown} ${error.reason}; ${STATE_FILE_FIXES[error.code]}`);
    }
    throw new LedgerError(
      `state: ${shown} cannot be used (${forLogLine((error as Error).message, 200)}); ${STATE_FILE_FIXES.outside}`,
    );
  }
}

/** The store the `state` input names. */
export function openLedgerStore(inputs: Inputs, workspace: string): LedgerStore {
  switch (inputs.state.kind) {
    case 'none':
      return new NoLedger();
    case 'file':
      return ledgerFileIn(workspace, inputs.state.path);
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
