import { afterEach, describe, expect, it } from 'vitest';
import { startFakeGitHub } from '../test/fakes/github.mjs';
import { ledgerEntry as entry } from '../test/samples.js';
import { emptyLedger } from './ledger.js';
import { GitHubLedger } from './ledger-github.js';
import type { LedgerEntry } from './types.js';

const now = new Date('2026-11-26T08:30:00Z');
const runUrl = 'https://github.com/acme/ops/actions/runs/9';

describe('GitHubLedger against the fake GitHub API', () => {
  let github: Awaited<ReturnType<typeof startFakeGitHub>> | undefined;
  afterEach(async () => {
    await github?.close();
    github = undefined;
  });
  const store = (token = 'ghs_test_token') =>
    new GitHubLedger({
      token,
      apiUrl: (github as { url: string }).url,
      repository: 'acme/ops',
      branch: 'oncall-access-state',
    });
  const ada = entry('ada@example.com', '2026-11-26T09:00:00Z', '2026-11-26T17:00:00Z');
  const bob = entry('bob@example.com', '2026-11-26T17:00:00Z', '2026-11-27T09:00:00Z');

  it('creates the branch on the first write, then writes one commit per change', async () => {
    github = await startFakeGitHub({ tokens: { ghs_test_token: 'write' } });
    expect(await store().load()).toEqual(emptyLedger());
    expect(github.branches()).toEqual(['main']);
    await store().save({ add: [ada], revoke: [] }, now, runUrl);
    expect(github.branches()).toContain('oncall-access-state');
    await store().save({ add: [bob], revoke: [] }, now, runUrl);
    await store().save({ add: [bob], revoke: [] }, now, runUrl); // nothing new: no commit
    const commits = github
      .commits('oncall-access-state')
      .map((c: { message: string }) => c.message.split('\n')[0]);
    expect(commits.slice(-2)).toEqual(['oncall-access: grant 1', 'oncall-access: grant 1']);
    expect(commits.filter((m) => m?.startsWith('oncall-access'))).toHaveLength(2);
    expect((await store().load()).grants.map((g) => g.email)).toEqual(['ada@example.com', 'bob@example.com']);
  });

  it('re-reads and merges when another run wrote in between (409), losing nothing', async () => {
    github = await startFakeGitHub({ tokens: { ghs_test_token: 'write' } });
    await store().save({ add: [ada], revoke: [] }, now, runUrl);
    const other = entry('carol@example.com', '2026-11-26T12:00:00Z', '2026-11-26T13:00:00Z');
    github.faults.push({
      method: 'PUT',
      path: '/repos/acme/ops/contents/ledger.json',
      action: 'concurrentWrite',
      content: `${JSON.stringify({ version: 1, grants: [ada, other] }, null, 2)}\n`,
    });
    await store().save({ add: [bob], revoke: [] }, now, runUrl);
    const saved = JSON.parse(
      (github.file('oncall-access-state', 'ledger.json') as { text: string }).text,
    ) as {
      grants: LedgerEntry[];
    };
    expect(saved.grants.map((g) => g.email).sort()).toEqual([
      'ada@example.com',
      'bob@example.com',
      'carol@example.com',
    ]);
    expect(github.requests.filter((r: { method: string }) => r.method === 'PUT')).toHaveLength(3);
  });

  it('explains missing permissions and bad tokens, without the token', async () => {
    github = await startFakeGitHub({ tokens: { ghs_read_only: 'read', ghs_test_token: 'write' } });
    const readOnly = store('ghs_read_only');
    const error = await readOnly.save({ add: [ada], revoke: [] }, now, runUrl).catch((e: unknown) => e);
    expect(String(error)).toMatch(/403.*permissions: contents: write/);
    expect(String(error)).not.toContain('ghs_read_only');
    await expect(store('ghs_wrong').load()).rejects.toThrow(/GitHub rejected github-token \(401/);
  });
});
