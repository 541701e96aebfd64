// The ledger: a JSON record of the grants this action made, so re-runs are idempotent and overrides are noticed.
// Kept as `ledger.json` on a branch of the workflow's repository (each write one commit: the branch history is the
// audit trail), in a local file, or nowhere. Writes are compare-and-swap on the file's sha, retried on conflict,
// and apply a change (add these entries, mark those revoked) rather than a whole document, so racing runs merge.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as core from '@actions/core';
import { Octokit } from '@octokit/rest';
import { unsafeArgumentReason } from './inputs.js';
import type { OnCallSource } from './plan.js';
import { backoffMs, sleep } from './retry.js';

export interface LedgerEntry {
  id: string;
  email: string; // the strongDM account's email
  resource: string;
  from: string; // RFC3339 UTC
  until: string;
  grantedAt: string;
  runId: string;
  runUrl: string;
  name: string;
  pagerdutyUserId: string;
  rule: string;
  source: OnCallSource;
  revokedAt?: string;
  revokedRunUrl?: string;
}

export interface Ledger {
  version: 1;
  grants: LedgerEntry[];
}

export interface LedgerChange {
  add: LedgerEntry[];
  revoke: Array<{ id: string; at: string; runUrl: string }>;
}

export class LedgerError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'LedgerError';
  }
}

const RETENTION_MS = 30 * 24 * 60 * 60 * 1000; // expired entries are kept this long, then dropped
const MAX_WRITE_ATTEMPTS = 6;

export const emptyLedger = (): Ledger => ({ version: 1, grants: [] });

/**
 * Same grant by the same run → same id, so a retried write never adds an entry twice; a later grant of the same
 * window (after a revocation) is a new entry.
 */
export function entryId(email: string, resource: string, from: string, until: string, runId: string): string {
  return createHash('sha256')
    .update([email.toLowerCase(), resource, from, until, runId].join('\n'))
    .digest('hex')
    .slice(0, 16);
}

export function parseLedger(text: string, where: string): Ledger {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new LedgerError(
      `the ledger at ${where} is not valid JSON; fix or delete it (its history keeps the old versions)`,
    );
  }
  const grants = (value as { grants?: unknown } | null)?.grants;
  if (!Array.isArray(grants)) {
    throw new LedgerError(`the ledger at ${where} has no "grants" list; fix or delete it`);
  }
  for (const entry of grants as Array<Partial<LedgerEntry>>) {
    const valid =
      typeof entry?.id === 'string' &&
      typeof entry.email === 'string' &&
      typeof entry.resource === 'string' &&
      !Number.isNaN(Date.parse(entry.from ?? '')) &&
      !Number.isNaN(Date.parse(entry.until ?? ''));
    if (!valid) throw new LedgerError(`the ledger at ${where} has a malformed entry; fix or delete it`);
    // Anyone who can push to the state branch can edit the ledger, and its email and resource reach sdm's
    // command line when a grant is revoked: held to the same rule as values from PagerDuty.
    const { email, resource } = entry as LedgerEntry;
    if (unsafeArgumentReason(email) || unsafeArgumentReason(resource) || !email.includes('@')) {
      throw new LedgerError(
        `the ledger at ${where} has an entry whose email or resource is not a plain value; fix or delete it`,
      );
    }
  }
  return { version: 1, grants: grants as LedgerEntry[] };
}

/** One entry per line: small enough for years of grants, and each commit's diff shows exactly the entries changed. */
export function serializeLedger(ledger: Ledger): string {
  if (ledger.grants.length === 0) return '{ "version": 1, "grants": [] }\n';
  return `{ "version": 1, "grants": [\n${ledger.grants.map((entry) => `  ${JSON.stringify(entry)}`).join(',\n')}\n] }\n`;
}

/** Pure: the ledger after a change, with entries that expired over 30 days ago dropped. */
export function applyChange(ledger: Ledger, change: LedgerChange, now: Date): Ledger {
  const byId = new Map(ledger.grants.map((entry) => [entry.id, entry]));
  for (const entry of change.add) if (!byId.has(entry.id)) byId.set(entry.id, entry);
  const revoked = new Map(change.revoke.map((r) => [r.id, r]));
  const cutoff = now.getTime() - RETENTION_MS;
  const grants = [...byId.values()]
    .map((entry) => {
      const revocation = revoked.get(entry.id);
      return revocation && !entry.revokedAt
        ? { ...entry, revokedAt: revocation.at, revokedRunUrl: revocation.runUrl }
        : entry;
    })
    .filter((entry) => Date.parse(entry.until) >= cutoff)
    .sort(
      (a, b) =>
        a.from.localeCompare(b.from) ||
        a.email.localeCompare(b.email) ||
        a.resource.localeCompare(b.resource),
    );
  return { version: 1, grants };
}

/** Entries still in force at `now`: not revoked, not expired. */
export function activeEntries(ledger: Ledger, now: Date): LedgerEntry[] {
  return ledger.grants.filter((entry) => !entry.revokedAt && Date.parse(entry.until) > now.getTime());
}

/** One commit per write; the subject counts, the body lists each entry (names are PagerDuty text: flattened). */
export function commitMessage(change: LedgerChange, runUrl: string, before: Ledger): string {
  const byId = new Map([...before.grants, ...change.add].map((entry) => [entry.id, entry]));
  const parts = [
    change.add.length > 0 ? `grant ${change.add.length}` : '',
    change.revoke.length > 0 ? `revoke ${change.revoke.length}` : '',
  ].filter(Boolean);
  const lines = [
    ...change.add.map(
      (e) => `+ ${flat(e.email)} ${flat(e.resource)} ${e.from} → ${e.until} (${flat(e.rule)})`,
    ),
    ...change.revoke.map((r) => {
      const e = byId.get(r.id);
      return e ? `- ${flat(e.email)} ${flat(e.resource)} until ${e.until} revoked` : `- ${r.id} revoked`;
    }),
  ];
  return `oncall-access: ${parts.join(', ') || 'tidy'}\n\n${lines.join('\n')}\n\nRun: ${runUrl}\n`;
}

/** An error page can be a whole HTML document: one line, 300 characters at most. */
function oneLine(text: string): string {
  const flatText = text.replace(/\s+/g, ' ').trim();
  return flatText.length > 300 ? `${flatText.slice(0, 297)}...` : flatText;
}

function flat(text: string): string {
  return text.replace(/[\p{Cc}\p{Cf}\s]+/gu, ' ').slice(0, 120);
}

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

export interface GitHubLedgerOptions {
  token: string;
  apiUrl: string;
  repository: string; // owner/name
  branch: string;
  file?: string;
  requestTimeoutMs?: number;
}

/** state: github: `ledger.json` on a branch of the workflow's repository, through the Contents API. */
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
    for (let attempt = 1; ; attempt++) {
      try {
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
      } catch (error) {
        const status = (error as { status?: number }).status;
        // 409: someone wrote since we read; 422: the file appeared meanwhile (no sha sent): read again, re-apply.
        // No answer, a timeout, 408/429/5xx: GitHub had a moment; the same. Anything else (a corrupt ledger,
        // missing permissions) is final.
        const again =
          status === undefined
            ? !(error instanceof LedgerError)
            : [408, 409, 422, 429].includes(status) || status >= 500;
        if (!again || attempt >= MAX_WRITE_ATTEMPTS) {
          throw error instanceof LedgerError ? error : this.explain(error, 'write');
        }
        await sleep(backoffMs(attempt, 300, 5_000));
      }
    }
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
    const said = oneLine(message.split(this.options.token).join('***').split(' - https://')[0] ?? '');
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

  revoke(revocation: LedgerChange['revoke'][number]): void {
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
