import { describe, expect, it } from 'vitest';
import { tableRows, toHtml } from '../test/markdown.js';
import { incidentRef, incidentRow, summaryContext } from '../test/samples.js';
import { incidentNumber, linkDestination } from './summary-incidents.js';
import { renderSummary } from './summary.js';

const context = summaryContext();
const wj = '\u2060';

describe('incident links and numbers', () => {
  it('link only https addresses (or http to this machine), without credentials, query or fragment', () => {
    expect(linkDestination('https://acme.pagerduty.com/incidents/Q1')).toBe(
      'https://acme.pagerduty.com/incidents/Q1',
    );
    expect(linkDestination('https://user:pw@acme.pagerduty.com/incidents/Q1?token=s3cret#x')).toBe(
      'https://acme.pagerduty.com/incidents/Q1',
    );
    expect(linkDestination('http://127.0.0.1:8080/incidents/Q1')).toBe('http://127.0.0.1:8080/incidents/Q1');
    expect(linkDestination('https://acme.pagerduty.com/a b(c)|d[e]<f>"g\'h`*_\\i')).toBe(
      'https://acme.pagerduty.com/a%20b%28c%29%7Cd%5Be%5D%3Cf%3E%22g%27h%60%2A_/i',
    );
    for (const refused of [
      '',
      'javascript:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'http://acme.pagerduty.com/incidents/Q1',
      'ftp://acme.pagerduty.com/x',
      'https://a(b).example/x',
      '/incidents/Q1',
    ]) {
      expect(linkDestination(refused), refused).toBeUndefined();
    }
    // Without a usable address the number is shown unlinked.
    const unlinked = renderSummary([incidentRow({}, incidentRef({ url: 'javascript:alert(1)' }))], context);
    expect(tableRows(unlinked)[0]).toContain(`| #${wj}123 · Payments API ·`);
    expect(unlinked).not.toContain('](');
    expect(toHtml(unlinked)).not.toContain('<a ');
  });

  it('show a number that is not a whole number (a tampered ledger) as "#?"', () => {
    expect(incidentNumber(incidentRef())).toBe('#123');
    for (const number of [Number.NaN, 1.5, -1, '12<b>' as unknown as number]) {
      expect(incidentNumber(incidentRef({ number }))).toBe('#?');
    }
  });
});
