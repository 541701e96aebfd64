// state: github: `ledger.json` on a branch of the workflow's repository, through the Contents API. Each write is
// one commit (the branch history is the audit trail), compare-and-swap on the file's sha, retried on conflict.
import * as core from '@actions/core';
import { Octokit } from '@octokit/rest';
import {
  applyChange,
  commitMessage,
  emptyLedger,
  LedgerError,
  parseLedger,
  serializeLedger,
  type Ledger,
} from './ledger.js';
import type { LedgerStore } from './ledger-stores.js';
import { retry } from './retry.js';
import { forErrorDetail } from './text.js';
import type { LedgerChange } from './types.js';

const MAX_WRITE_ATTEMPTS = 6;

export interface GitHubLedgerOptions {
  token: string;
  apiUrl: string;
  repository: string; // owner/name
  branch: string;
  file?: string;
  requestTimeoutMs?: number;
}

export class GitHubLedger implements LedgerStore {
  readonly description: string;
  private readonly octokit: Octokit;
  private readonly owner: string;
  private readonly repo: string;
  private readonly file: string;
  private readonly timeoutMs: number;

  constructor(private readonly options: GitHubLedgerOptions) {
    const [owner, repo] = options.repository.split('/');
    if (!owner || !repo)
      throw new LedgerError('GITHUB_REPOSITORY is not set; state: github needs to run in a workflow');
    this.owner = owner;
    this.repo = repo;
    this.file = options.file ?? 'ledger.json';
    this.timeoutMs = options.requestTimeoutMs ?? 30_000;
    this.description = `${this.file} on branch ${options.branch} of ${options.repository}`;
    this.octokit = new Octokit({
      auth: options.token,
      baseUrl: options.apiUrl,
      userAgent: 'oncall-access',
      // Octokit logs every failed request, expected 404s included; keep those out of the step log.
      log: {
        debug: () => {},
        info: () => {},
        warn: (m: string) => core.debug(m),
        error: (m: string) => core.debug(m),
      },
    });
  }

  async load(): Promise<Ledger> {
    return (await this.read()).ledger;
  }

  async save(change: LedgerChange, now: Date, runUrl: string): Promise<Ledger> {
    let lastError: unknown;
    const final = (error: unknown) => (error instanceof LedgerError ? error : this.explain(error, 'write'));
    return retry<Ledger>(
      async () => {
        try {
          return { done: await this.writeOnce(change, now, runUrl) };
        } catch (error) {
          if (!worthRetrying(error)) throw final(error);
          lastError = error;
          return { again: String(error) };
        }
      },
      {
        attempts: MAX_WRITE_ATTEMPTS,
        backoff: { baseMs: 300, maxMs: 5_000 },
        giveUp: () => {
          throw final(lastError);
        },
      },
    );
  }

  /** Reads the latest ledger, applies the change and writes it if anything changed. */
  private async writeOnce(change: LedgerChange, now: Date, runUrl: string): Promise<Ledger> {
    const current = await this.read();
    if (!current.branchExists) await this.createBranch();
    const next = applyChange(current.ledger, change, now);
    if (current.sha && JSON.stringify(next) === JSON.stringify(current.ledger)) return next; // nothing to write
    await this.octokit.rest.repos.createOrUpdateFileContents({
      owner: this.owner,
      repo: this.repo,
      path: this.file,
      branch: this.options.branch,
      message: commitMessage(change, runUrl, current.ledger),
      content: Buffer.from(serializeLedger(next)).toString('base64'),
      ...(current.sha ? { sha: current.sha } : {}),
      request: { signal: AbortSignal.timeout(this.timeoutMs) },
    });
    return next;
  }

  private async read(): Promise<{ ledger: Ledger; sha?: string; branchExists: boolean }> {
    try {
      const { data } = await this.octokit.rest.repos.getContent({
        owner: this.owner,
        repo: this.repo,
        path: this.file,
        ref: this.options.branch,
        request: { signal: AbortSignal.timeout(this.timeoutMs) },
      });
      if (Array.isArray(data) || data.type !== 'file' || typeof data.content !== 'string') {
        throw new LedgerError(`${this.description} is not a file`);
      }
      // Over 1 MB the Contents API sends no content; the blob API serves the same file up to 100 MB.
      const content =
        data.encoding === 'base64'
          ? data.content
          : (
              await this.octokit.rest.git.getBlob({
                owner: this.owner,
                repo: this.repo,
                file_sha: data.sha,
                request: { signal: AbortSignal.timeout(this.timeoutMs) },
              })
            ).data.content;
      const text = Buffer.from(content, 'base64').toString('utf8');
      return { ledger: parseLedger(text, this.description), sha: data.sha, branchExists: true };
    } catch (error) {
      if (error instanceof LedgerError) throw error;
      if ((error as { status?: number }).status !== 404) throw this.explain(error, 'read');
    }
    // 404: no file yet, no branch yet, or no access to the repository at all. Tell them apart.
    if (await this.branchExists()) return { ledger: emptyLedger(), branchExists: true };
    await this.repositoryVisible();
    return { ledger: emptyLedger(), branchExists: false };
  }

  private async branchExists(): Promise<boolean> {
    try {
      await this.octokit.rest.git.getRef({
        owner: this.owner,
        repo: this.repo,
        ref: `heads/${this.options.branch}`,
        request: { signal: AbortSignal.timeout(this.timeoutMs) },
      });
      return true;
    } catch (error) {
      if ((error as { status?: number }).status === 404) return false;
      throw this.explain(error, 'read');
    }
  }

  private async repositoryVisible(): Promise<void> {
    try {
      await this.octokit.rest.repos.get({
        owner: this.owner,
        repo: this.repo,
        request: { signal: AbortSignal.timeout(this.timeoutMs) },
      });
    } catch (error) {
      throw this.explain(error, 'read');
    }
  }

  /** The state branch starts from the default branch's head; the ledger is its only file this action writes. */
  private async createBranch(): Promise<void> {
    try {
      const request = { signal: AbortSignal.timeout(this.timeoutMs) };
      const { data: repo } = await this.octokit.rest.repos.get({
        owner: this.owner,
        repo: this.repo,
        request,
      });
      const { data: head } = await this.octokit.rest.git.getRef({
        owner: this.owner,
        repo: this.repo,
        ref: `heads/${repo.default_branch}`,
        request,
      });
      await this.octokit.rest.git.createRef({
        owner: this.owner,
        repo: this.repo,
        ref: `refs/heads/${this.options.branch}`,
        sha: head.object.sha,
        request,
      });
      core.info(`Created branch ${this.options.branch} for the ledger`);
    } catch (error) {
      if ((error as { status?: number }).status === 422) return; // another run created it first
      throw this.explain(error, 'write');
    }
  }

  private explain(error: unknown, action: 'read' | 'write'): LedgerError {
    const status = (error as { status?: number }).status;
    const make = (message: string) => new LedgerError(message, status);
    const message = error instanceof Error ? error.message : String(error);
    const said = forErrorDetail(message.split(this.options.token).join('***').split(' - https://')[0] ?? '');
    if (status === 401) {
      return new LedgerError(
        `GitHub rejected github-token (401: ${said}) while trying to ${action} ${this.description}`,
      );
    }
    if (status === 403 || status === 404) {
      return make(
        `GitHub refused to let this run ${action} ${this.description} (${status}: ${said}); ` +
          'give the job `permissions: contents: write` (or a github-token that may push to that branch), or set state: none',
      );
    }
    return make(
      `could not ${action} ${this.description} (${status ?? 'no answer'}: ${said}); GitHub may be down, run again later`,
    );
  }
}

/**
 * 409: someone wrote since we read; 422: the file appeared meanwhile (no sha sent): read again, re-apply. No answer,
 * a timeout, 408/429/5xx: GitHub had a moment; the same. Anything else (a corrupt ledger, missing permissions) is final.
 */
function worthRetrying(error: unknown): boolean {
  const status = (error as { status?: number }).status;
  return status === undefined
    ? !(error instanceof LedgerError)
    : [408, 409, 422, 429].includes(status) || status >= 500;
}
