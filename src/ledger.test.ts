import { describe, expect, it } from 'vitest';
import { incidentRef, ledgerEntry as entry } from '../test/samples.js';
import {
  activeEntries,
  applyChange,
  commitMessage,
  entryId,
  LedgerError,
  parseLedger,
  serializeLedger,
} from './ledger.js';

const now = new Date('2026-11-26T08:30:00Z');
const runUrl = 'https://github.com/acme/ops/actions/runs/9';

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
    const once = applyChange(
      { version: 1, grants: [old, recent], malformed: [] },
      { add: [ada, ada], revoke: [] },
      now,
    );
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

  it('refuses a file that is not a ledger instead of starting from nothing', () => {
    expect(() => parseLedger('{', 'x')).toThrow(LedgerError);
    expect(() => parseLedger('{"grants": {}}', 'x')).toThrow(/no "grants" list/);
    expect(parseLedger(JSON.stringify({ version: 1, grants: [ada] }), 'x')).toEqual({
      version: 1,
      grants: [ada],
      malformed: [],
    });
  });

  it('sets aside, and keeps as found, every entry that is not well-formed', () => {
    const { name: _name, ...noName } = ada;
    const { source: _source, ...noSource } = ada;
    const bad = [
      { id: 'a' },
      null,
      'text',
      noName,
      noSource,
      { ...ada, email: '--admin-token=x' },
      { ...ada, resource: 'prod db' },
      { ...ada, resource: '' },
      { ...ada, from: '2026-11-26' },
      { ...ada, until: ada.from },
      { ...ada, pagerdutyUserId: 'P 1' },
      { ...ada, source: { ...ada.source, escalationLevel: '1' } },
      { ...ada, id: 'ZZZZZZZZZZZZZZZZ' },
      { ...ada, source: { ...ada.source, incident: { ...incidentRef(), number: 0 } } },
      { ...ada, source: { ...ada.source, incident: { ...incidentRef(), url: 'javascript:alert(1)' } } },
      { ...ada, source: { ...ada.source, incident: { ...incidentRef(), title: 'x'.repeat(1001) } } },
      { ...ada, source: { ...ada.source, incident: { ...incidentRef(), serviceId: 'P 1' } } },
      { ...ada, source: { ...ada.source, incident: 'incident #1' } },
    ];
    const incidentGrant = { ...ada, source: { ...ada.source, incident: incidentRef() } };
    const ledger = parseLedger(JSON.stringify({ version: 1, grants: [ada, incidentGrant, ...bad] }), 'x');
    expect(ledger.grants).toEqual([ada, incidentGrant]);
    expect(ledger.malformed).toEqual(bad);
    const again = parseLedger(serializeLedger(applyChange(ledger, { add: [], revoke: [] }, now)), 'x');
    expect(again.malformed).toEqual(bad);
  });

  it('writes commit messages that say what changed, with names flattened', () => {
    const hostile = entry('eve@example.com', '2026-11-26T09:00:00Z', '2026-11-26T10:00:00Z', {
      rule: 'x\n\nSigned-off-by: nobody',
    });
    const message = commitMessage(
      { add: [ada, hostile], revoke: [{ id: recent.id, at: 'now', runUrl }] },
      runUrl,
      { version: 1, grants: [recent], malformed: [] },
    );
    expect(message.split('\n')[0]).toBe('oncall-access: grant 2, revoke 1');
    expect(message).toContain('+ ada@example.com db 2026-11-26T09:00:00Z → 2026-11-26T17:00:00Z (default)');
    expect(message).toContain('(x Signed-off-by: nobody)');
    expect(message).toContain('- recent@example.com db until 2026-11-02T17:00:00Z revoked');
    expect(message).toContain(`Run: ${runUrl}`);
  });
});
