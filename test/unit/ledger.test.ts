import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeGitHub } from '../fakes/github.mjs';
import {
  activeEntries,
  applyChange,
  commitMessage,
  emptyLedger,
  entryId,
  FileLedger,
  GitHubLedger,
  LedgerError,
  parseLedger,
  type LedgerEntry,
} from '../../src/ledger.js';

const now = new Date('2026-11-26T08:30:00Z');
const runUrl = 'https://github.com/acme/ops/actions/runs/9';

function entry(email: string, from: string, until: string, extra: Partial<LedgerEntry> = {}): LedgerEntry {
  return {
    id: entryId(email, 'db', from, until, '9'),
    email,
    resource: 'db',
    from,
    until,
    grantedAt: from,
    runId: '9',
    runUrl,
    name: email,
    pagerdutyUserId: 'P1',
    rule: 'default',
    source: {
      scheduleId: 'PS',
      scheduleName: 'S',
      escalationPolicyId: 'PE',
      escalationPolicyName: 'E',
      escalationLevel: 1,
    },
    ...extra,
  };
}

describe('ledger model', () => {
  const ada = entry('ada@example.com', '2026-11-26T09:00:00Z', '2026-11-26T17:00:00Z');
  const old = entry('old@example.com', '2026-10-01T09:00:00Z', '2026-10-20T17:00:00Z'); // expired over 30 days ago
  const recent = entry('recent@example.com', '2026-11-01T09:00:00Z', '2026-11-02T17:00:00Z');

  it('ids depend on person (any case), resource, window and run', () => {
    expect(entryId('Ada@Example.com', 'db', 'a', 'b', '1')).toBe(
      entryId('ada@example.com', 'db', 'a', 'b', '1'),
    );
    expect(entryId('ada@example.com', 'db', 'a', 'b', '1')).not.toBe(
      entryId('ada@example.com', 'db', 'a', 'c', '1'),
    );
    expect(entryId('ada@example.com', 'db', 'a', 'b', '1')).not.toBe(
      entryId('ada@example.com', 'db', 'a', 'b', '2'),
    );
  });

  it('adds each entry once, marks revocations, and drops entries expired over 30 days ago', () => {
    const once = applyChange({ version: 1, grants: [old, recent] }, { add: [ada, ada], revoke: [] }, now);
    expect(once.grants.map((g) => g.email)).toEqual(['recent@example.com', 'ada@example.com']);
    const twice = applyChange(
      once,
      { add: [ada], revoke: [{ id: ada.id, at: '2026-11-26T10:00:00Z', runUrl }] },
      now,
    );
    expect(twice.grants).toHaveLength(2);
    expect(twice.grants[1]).toMatchObject({ revokedAt: '2026-11-26T10:00:00Z', revokedRunUrl: runUrl });
    expect(activeEntries(twice, now)).toEqual([]);
    expect(activeEntries(once, now)).toEqual([ada]);
  });

  it('refuses a corrupt ledger instead of starting from nothing', () => {
    expect(() => parseLedger('{', 'x')).toThrow(LedgerError);
    expect(() => parseLedger('{"grants": {}}', 'x')).toThrow(/no "grants" list/);
    expect(() => parseLedger('{"grants": [{"id": "a"}]}', 'x')).toThrow(/malformed entry/);
    const flag = { ...ada, email: '--admin-token=x' };
    expect(() => parseLedger(JSON.stringify({ grants: [flag] }), 'x')).toThrow(/not a plain value/);
    const spaced = { ...ada, resource: 'prod db' };
    expect(() => parseLedger(JSON.stringify({ grants: [spaced] }), 'x')).toThrow(/not a plain value/);
    expect(parseLedger(JSON.stringify({ version: 1, grants: [ada] }), 'x').grants).toEqual([ada]);
  });

  it('writes commit messages that say what changed, with names flattened', () => {
    const hostile = entry('eve@example.com', '2026-11-26T09:00:00Z', '2026-11-26T10:00:00Z', {
      rule: 'x\n\nSigned-off-by: nobody',
    });
    const message = commitMessage(
      { add: [ada, hostile], revoke: [{ id: recent.id, at: 'now', runUrl }] },
      runUrl,
      {
        version: 1,
        grants: [recent],
      },
    );
    expect(message.split('\n')[0]).toBe('oncall-access: grant 2, revoke 1');
    expect(message).toContain('+ ada@example.com db 2026-11-26T09:00:00Z → 2026-11-26T17:00:00Z (default)');
    expect(message).toContain('(x Signed-off-by: nobody)');
    expect(message).toContain('- recent@example.com db until 2026-11-02T17:00:00Z revoked');
    expect(message).toContain(`Run: ${runUrl}`);
  });
});

describe('FileLedger', () => {
  it('starts empty, then keeps what was saved', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ledger-'));
    const store = new FileLedger(path.join(dir, 'state', 'ledger.json'));
    expect(await store.load()).toEqual(emptyLedger());
    const ada = entry('ada@example.com', '2026-11-26T09:00:00Z', '2026-11-26T17:00:00Z');
    await store.save({ add: [ada], revoke: [] }, now, runUrl);
    expect((await store.load()).grants).toEqual([ada]);
    await writeFile(path.join(dir, 'state', 'ledger.json'), 'not json');
    await expect(store.load()).rejects.toThrow(/not valid JSON/);
    expect(await readFile(path.join(dir, 'state', 'ledger.json'), 'utf8')).toBe('not json');
  });
});

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
