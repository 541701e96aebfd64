// The ledger is evidence, not authority: anyone who can push to the state branch can edit it. Each entry this
// action writes carries an HMAC over its fields, keyed from a secret only the workflow holds (`ledger-key`, or else
// the strongDM admin token). An entry without a valid one is foreign: it never counts as access already granted and
// is never revoked. Rotation: `ledger-key` may hold several lines; the first signs, every line verifies.
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { LedgerEntry } from './types.js';

const VERSION = 'v1';

export type LedgerKey = Buffer;

/** The keys: each line of `ledger-key`, or else the admin token; none in a dry run given neither. */
export function ledgerKeys(ledgerKey: string, adminToken: string): LedgerKey[] {
  const secrets = ledgerKey
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  return (secrets.length > 0 ? secrets : adminToken ? [adminToken] : []).map((secret) =>
    Buffer.from(hkdfSync('sha256', secret, 'oncall-access', `ledger ${VERSION}`, 32)),
  );
}

/** What the signature covers: every field the action wrote, in a fixed order (revocation marks are not). */
function signedText(entry: LedgerEntry): string {
  const { source } = entry;
  return JSON.stringify([
    VERSION,
    entry.id,
    entry.email,
    entry.resource,
    entry.from,
    entry.until,
    entry.grantedAt,
    entry.runId,
    entry.runUrl,
    entry.name,
    entry.pagerdutyUserId,
    entry.rule,
    source.scheduleId,
    source.scheduleName,
    source.escalationPolicyId,
    source.escalationPolicyName,
    source.escalationLevel,
    // Only incident grants carry it, so entries written before incident rules existed keep their signature.
    ...(source.incident
      ? [
          source.incident.id,
          source.incident.number,
          source.incident.title,
          source.incident.url,
          source.incident.serviceId,
          source.incident.serviceName,
        ]
      : []),
  ]);
}

function mac(entry: LedgerEntry, key: LedgerKey): string {
  return `${VERSION}:${createHmac('sha256', key).update(signedText(entry)).digest('hex')}`;
}

export function seal(entry: LedgerEntry, key: LedgerKey): LedgerEntry {
  return { ...entry, mac: mac(entry, key) };
}

export function isSealed(entry: LedgerEntry, keys: LedgerKey[]): boolean {
  if (typeof entry.mac !== 'string') return false;
  const given = Buffer.from(entry.mac);
  return keys.some((key) => {
    const expected = Buffer.from(mac(entry, key));
    return expected.length === given.length && timingSafeEqual(expected, given);
  });
}
