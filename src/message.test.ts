import { describe, expect, it } from 'vitest';
import { MESSAGE_LIMIT_CHARS, renderMessage, renderStoppedMessage, shortUtc } from './message.js';
import { HOSTILE_INCIDENT_TEXT, incidentRef, incidentRow, reportRow as row } from '../test/samples.js';

const context = {
  runUrl: 'https://github.com/acme/ops/actions/runs/7',
  now: new Date('2026-11-26T09:30:00Z'),
  dryRun: false,
};
const bob = { pagerdutyUserId: 'PBOB002', name: 'Bob Li', sdmEmail: 'bob@example.com' };

describe('renderMessage', () => {
  it('is empty when the run changed nothing (unchanged and skipped rows only)', () => {
    expect(
      renderMessage(
        [row({ status: 'unchanged' } as never), row({ ...bob, status: 'skipped', reason: 'no account' })],
        context,
      ),
    ).toBe('');
  });

  it('says each person once per end time, with their resources, under a totals line with the run', () => {
    const message = renderMessage(
      [
        row(),
        row({ resource: 'bastion-prod' }),
        row({ ...bob, until: new Date('2026-11-27T09:00:00Z') }),
        row({ ...bob, status: 'unchanged' } as never),
      ],
      context,
    );
    expect(message.split('\n')).toEqual([
      'On-call access: 3 granted — https://github.com/acme/ops/actions/runs/7',
      'Granted: Ada Lovelace: bastion-prod, prod-postgres until Thu 26 Nov 17:00; Bob Li: prod-postgres until Fri 27 Nov 09:00',
    ]);
  });

  it('says from when for a grant that starts after the run', () => {
    const later = { from: new Date('2026-11-27T02:00:00Z'), until: new Date('2026-11-27T14:00:00Z') };
    expect(
      renderMessage([row(later), row({ ...later, resource: 'bastion-prod' })], context).split('\n')[1],
    ).toBe('Granted: Ada Lovelace: bastion-prod, prod-postgres from Fri 27 Nov 02:00 until Fri 27 Nov 14:00');
  });

  it('puts failures first with their reason, and lists revoked, stale and dry-run grants', () => {
    const message = renderMessage(
      [
        row({ status: 'revoked' } as never),
        row({ ...bob, status: 'failed', reason: 'sdm exited with 1' }),
        row({ ...bob, resource: 'bastion-prod', status: 'failed', reason: 'sdm exited with 1' }),
        row({ name: 'Cy', pagerdutyUserId: 'PCY', status: 'stale' } as never),
        row({ name: 'Di', pagerdutyUserId: 'PDI', status: 'would-grant' } as never),
      ],
      { ...context, runUrl: '', dryRun: true },
    );
    expect(message.split('\n')).toEqual([
      'On-call access: 2 failed, 1 would-grant, 1 revoked, 1 stale',
      'Failed: Bob Li: bastion-prod, prod-postgres until Thu 26 Nov 17:00 (sdm exited with 1)',
      'Would grant (dry run): Di: prod-postgres until Thu 26 Nov 17:00',
      'Revoked: Ada Lovelace: prod-postgres',
      'Stale (PagerDuty no longer backs it): Cy: prod-postgres until Thu 26 Nov 17:00',
    ]);
  });

  it('calls the would-grant rows of a refused real run "not applied", not a dry run', () => {
    const message = renderMessage([row({ status: 'would-grant' } as never)], {
      ...context,
      fatal: 'The plan has 80 new grants, more than max-new-grants (50)',
    });
    expect(message.split('\n').slice(1)).toEqual([
      'The step failed: The plan has 80 new grants, more than max-new-grants (50)',
      'Would grant (not applied): Ada Lovelace: prod-postgres until Thu 26 Nov 17:00',
    ]);
  });

  it('says why the step failed even when no row changed', () => {
    expect(
      renderMessage([], { ...context, fatal: 'The plan has 80 new grants, more than max-new-grants (50)' }),
    ).toBe(
      'On-call access: nothing changed — https://github.com/acme/ops/actions/runs/7\n' +
        'The step failed: The plan has 80 new grants, more than max-new-grants (50)',
    );
  });

  it('keeps a hostile name on its line: no newline, no control character', () => {
    const message = renderMessage([row({ name: 'Eve\n::error::pwned\r\u0007 <!channel>' })], context);
    expect(message.split('\n')).toHaveLength(2);
    expect(message).not.toContain('\r');
    expect(message).not.toContain('\u0007');
    expect(message.split('\n')[1]).toContain('Eve ::error::pwned');
  });

  it('stays within a chat message for a huge organisation, saying how many more', () => {
    const rows = Array.from({ length: 2000 }, (_, index) =>
      row({ pagerdutyUserId: `P${index}`, name: `Person number ${index}` }),
    );
    const message = renderMessage(rows, context);
    expect(message.length).toBeLessThanOrEqual(MESSAGE_LIMIT_CHARS);
    expect(message).toMatch(/; and \d+ more$/);
    const shown = (message.match(/Person number/g) ?? []).length;
    expect(Number(/and (\d+) more/.exec(message)?.[1]) + shown).toBe(2000);
  });
});

describe('renderMessage for incident grants', () => {
  it('says which incident, by number only, apart from the same person’s shift grants', () => {
    const message = renderMessage(
      [
        incidentRow(),
        incidentRow({ resource: 'bastion-prod' }),
        row({ until: new Date('2026-11-26T11:00:00Z') }), // the same window, from the person's shift
        incidentRow({ ...bob }, incidentRef({ number: 124 })),
        incidentRow({ status: 'stale', name: 'Cy', pagerdutyUserId: 'PCY' } as never),
        incidentRow({ status: 'revoked', name: 'Di', pagerdutyUserId: 'PDI' } as never),
      ],
      context,
    );
    expect(message.split('\n')).toEqual([
      'On-call access: 4 granted, 1 revoked, 1 stale — https://github.com/acme/ops/actions/runs/7',
      'Granted: Ada Lovelace: bastion-prod, prod-db-write until Thu 26 Nov 11:00 (incident #123); ' +
        'Ada Lovelace: prod-postgres until Thu 26 Nov 11:00; ' +
        'Bob Li: prod-db-write until Thu 26 Nov 11:00 (incident #124)',
      'Revoked: Di: prod-db-write (incident #123)',
      'Stale (PagerDuty no longer backs it): Cy: prod-db-write until Thu 26 Nov 11:00 (incident #123)',
    ]);
  });

  it('puts the incident before a failure’s reason', () => {
    const message = renderMessage([incidentRow({ status: 'failed', reason: 'sdm exited with 1' })], context);
    expect(message.split('\n')[1]).toBe(
      'Failed: Ada Lovelace: prod-db-write until Thu 26 Nov 11:00 (incident #123) (sdm exited with 1)',
    );
  });

  it('never carries the title or service, whatever PagerDuty holds', () => {
    for (const hostile of HOSTILE_INCIDENT_TEXT) {
      const message = renderMessage(
        [incidentRow({}, incidentRef({ title: hostile, serviceName: hostile, url: `https://x/${hostile}` }))],
        context,
      );
      expect(message.split('\n')).toEqual([
        'On-call access: 1 granted — https://github.com/acme/ops/actions/runs/7',
        'Granted: Ada Lovelace: prod-db-write until Thu 26 Nov 11:00 (incident #123)',
      ]);
    }
    const odd = renderMessage([incidentRow({}, incidentRef({ number: '1\n::x::' as never }))], context);
    expect(odd.split('\n')[1]).toMatch(/\(incident #\?\)$/);
  });

  it('stays within a chat message with many incident grants', () => {
    const rows = Array.from({ length: 2000 }, (_, index) =>
      incidentRow(
        { pagerdutyUserId: `P${index}`, name: `Person number ${index}` },
        incidentRef({ number: 100000 + index }),
      ),
    );
    const message = renderMessage(rows, context);
    expect(message.length).toBeLessThanOrEqual(MESSAGE_LIMIT_CHARS);
    expect(message).toMatch(/\(incident #\d+\); and \d+ more$/);
  });
});

describe('renderStoppedMessage', () => {
  it('gives the error on one line after the run address', () => {
    expect(renderStoppedMessage('PagerDuty refused the key\n(401)', 'https://x/runs/1')).toBe(
      'On-call access: the run stopped — https://x/runs/1\nError: PagerDuty refused the key (401)',
    );
  });
});

describe('shortUtc', () => {
  it('writes the weekday, day, month and time in UTC', () => {
    expect(shortUtc(new Date('2026-11-30T14:05:00+01:00'))).toBe('Mon 30 Nov 13:05');
    expect(shortUtc(new Date('2027-01-03T00:00:00Z'))).toBe('Sun 3 Jan 00:00');
  });
});
