import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ledgerEntry as entry } from '../test/samples.js';
import { emptyLedger } from './ledger.js';
import { FileLedger, ledgerFileIn } from './ledger-stores.js';

const now = new Date('2026-11-26T08:30:00Z');
const runUrl = 'https://github.com/acme/ops/actions/runs/9';

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

describe('state: file:<path>', () => {
  async function workspace() {
    const top = await mkdtemp(path.join(os.tmpdir(), 'ledger-ws-'));
    await mkdir(path.join(top, 'ws'));
    await writeFile(path.join(top, 'outside.json'), '{"grants":[]}');
    return { top, ws: path.join(top, 'ws') };
  }

  it('is a file in the workspace, created on the first save', async () => {
    const { ws } = await workspace();
    const store = ledgerFileIn(ws, '.oncall-access/ledger.json');
    expect(store.description).toBe('the file .oncall-access/ledger.json');
    expect(await store.load()).toEqual(emptyLedger());
    await store.save(
      { add: [entry('ada@example.com', '2026-11-26T09:00:00Z', '2026-11-26T17:00:00Z')], revoke: [] },
      now,
      runUrl,
    );
    expect(
      JSON.parse(await readFile(path.join(ws, '.oncall-access', 'ledger.json'), 'utf8')).grants,
    ).toHaveLength(1);
  });

  it('refuses a path or symlink leading outside, naming the input and the fix', async () => {
    const { top, ws } = await workspace();
    await symlink(path.join(top, 'outside.json'), path.join(ws, 'ledger.json'));
    await symlink(top, path.join(ws, 'up'));
    for (const relative of ['../outside.json', 'ledger.json', 'up/new.json', path.join(top, 'x.json')]) {
      expect(() => ledgerFileIn(ws, relative)).toThrow(
        /^state: "file:.*" leads outside the workspace \(its real path, symlinks followed\); use a path inside the workspace, e\.g\. file:\.oncall-access\/ledger\.json/,
      );
    }
  });

  it('refuses a FIFO or a directory at once', async () => {
    const { ws } = await workspace();
    execFileSync('mkfifo', [path.join(ws, 'fifo.json')]);
    await mkdir(path.join(ws, 'dir.json'));
    expect(() => ledgerFileIn(ws, 'fifo.json')).toThrow(
      'state: "file:fifo.json" is a FIFO (named pipe), not a regular file; point state at a regular JSON file',
    );
    expect(() => ledgerFileIn(ws, 'dir.json')).toThrow(/is a directory, not a regular file/);
    // A FIFO put there after the check is refused when read, not waited on.
    const store = new FileLedger(path.join(ws, 'fifo.json'), 'fifo.json');
    await expect(store.load()).rejects.toThrow(/cannot read the ledger, the file fifo\.json: it is a FIFO/);
  });
});
