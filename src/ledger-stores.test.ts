import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ledgerEntry as entry } from '../test/samples.js';
import { emptyLedger } from './ledger.js';
import { FileLedger } from './ledger-stores.js';

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
