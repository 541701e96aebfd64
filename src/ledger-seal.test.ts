import { describe, expect, it } from 'vitest';
import { incidentRef, ledgerEntry } from '../test/samples.js';
import type { IncidentRef } from './types.js';
import { isSealed, ledgerKeys, seal } from './ledger-seal.js';

const entry = ledgerEntry('ada@example.com', '2026-11-26T09:00:00Z', '2026-11-26T17:00:00Z');

describe('ledger seals', () => {
  const [key] = ledgerKeys('', 'admin-token') as [Buffer];

  it('accepts an entry it sealed, and nothing else', () => {
    const sealed = seal(entry, key);
    expect(sealed.mac).toMatch(/^v1:[0-9a-f]{64}$/);
    expect(isSealed(sealed, [key])).toBe(true);
    expect(isSealed(entry, [key])).toBe(false); // no seal at all
    expect(isSealed({ ...sealed, mac: 'v1:' + '0'.repeat(64) }, [key])).toBe(false);
    expect(isSealed(sealed, ledgerKeys('', 'another-token'))).toBe(false);
  });

  it('breaks when any signed field changes, but not when the entry is marked revoked', () => {
    const sealed = seal(entry, key);
    expect(isSealed({ ...sealed, until: '2027-01-01T00:00:00Z' }, [key])).toBe(false);
    expect(isSealed({ ...sealed, email: 'eve@example.com' }, [key])).toBe(false);
    expect(isSealed({ ...sealed, resource: '*' }, [key])).toBe(false);
    expect(isSealed({ ...sealed, source: { ...sealed.source, escalationLevel: 2 } }, [key])).toBe(false);
    expect(isSealed({ ...sealed, revokedAt: '2026-11-26T10:00:00Z', revokedRunUrl: 'x' }, [key])).toBe(true);
  });

  it("covers an incident grant's incident, and an entry gains none without breaking", () => {
    const incidentEntry = { ...entry, source: { ...entry.source, incident: incidentRef() } };
    const sealed = seal(incidentEntry, key);
    expect(isSealed(sealed, [key])).toBe(true);
    const withIncident = (change: Partial<IncidentRef>) => ({
      ...sealed,
      source: { ...sealed.source, incident: { ...incidentRef(), ...change } },
    });
    expect(isSealed(withIncident({ number: 124 }), [key])).toBe(false);
    expect(isSealed(withIncident({ title: 'other' }), [key])).toBe(false);
    expect(isSealed(withIncident({ url: 'https://evil.example/' }), [key])).toBe(false);
    expect(isSealed(withIncident({ serviceId: 'POTHER1' }), [key])).toBe(false);
    const onCallGrant = seal(entry, key);
    expect(
      isSealed({ ...onCallGrant, source: { ...onCallGrant.source, incident: incidentRef() } }, [key]),
    ).toBe(false);
    const { incident: _incident, ...withoutIncident } = sealed.source;
    expect(isSealed({ ...sealed, source: withoutIncident }, [key])).toBe(false);
  });

  it('signs with the first line of ledger-key and verifies with every line, so a key can be rotated', () => {
    const [newKey, oldKey] = ledgerKeys('new-secret\nold-secret\n', 'admin-token') as [Buffer, Buffer];
    const signedWithOld = seal(entry, oldKey);
    expect(isSealed(signedWithOld, [newKey, oldKey])).toBe(true);
    expect(isSealed(signedWithOld, [newKey])).toBe(false);
    expect(ledgerKeys('', '')).toEqual([]); // a dry run given neither: nothing to verify with
  });
});
