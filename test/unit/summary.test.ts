import { describe, expect, it } from 'vitest';
import type { PlanRow } from '../../src/plan.js';
import {
  displayText,
  escapeHtml,
  escapeMarkdownCell,
  mermaidText,
  planOutput,
  renderLogTable,
  renderTimeline,
  renderSummary,
  SUMMARY_LIMIT_BYTES,
  totalsLine,
  type ReportRow,
} from '../../src/summary.js';

function row(overrides: Partial<ReportRow> = {}): ReportRow {
  const base: PlanRow = {
    pagerdutyUserId: 'PADA001',
    name: 'Ada Lovelace',
    email: 'ada@example.com',
    sdmEmail: 'ada@example.com',
    resource: 'prod-postgres',
    rule: 'default',
    from: new Date('2026-11-26T09:00:00Z'),
    until: new Date('2026-11-26T17:00:00Z'),
    source: {
      scheduleId: 'PSCHED1',
      scheduleName: 'Platform Primary',
      escalationPolicyId: 'PEP0001',
      escalationPolicyName: 'Platform',
      escalationLevel: 1,
    },
    status: 'pending',
    reason: '',
    missingUser: false,
  };
  return { ...base, status: 'granted', ...overrides };
}

const context = {
  dryRun: false,
  now: new Date('2026-11-26T08:30:00Z'),
  lookahead: '24h',
  lookaheadMs: 24 * 3_600_000,
  notes: [],
  runUrl: 'https://github.com/acme/ops/actions/runs/7',
};

/** Body rows of the summary table (after the header and its separator line). */
const tableRows = (markdown: string) =>
  markdown
    .split('\n')
    .filter((line) => line.startsWith('| '))
    .slice(2);

describe('escaping', () => {
  it('escapes HTML and table pipes', () => {
    expect(escapeHtml(`<img src=x onerror="alert(1)"> & 'a|b'`)).toBe(
      '&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; &#39;a&#124;b&#39;',
    );
  });

  it('escapes Markdown inline syntax and pipes in table cells', () => {
    expect(escapeMarkdownCell('*bold* _x_ `code` [a](http://x) ~s~ a|b \\')).toBe(
      '\\*bold\\* \\_x\\_ \\`code\\` \\[a\\](http&#58;//x) \\~s\\~ a&#124;b \\\\',
    );
    const markdown = renderSummary([row({ name: 'a | b | c' })], context);
    for (const line of tableRows(markdown)) expect(line.split(' | ')).toHaveLength(9);
  });

  it('flattens control characters and shortens long text for display', () => {
    expect(displayText('a\nb\r\n::error::x\u0000')).toBe('a b ::error::x');
    expect(displayText('x ##[add-mask]y')).toBe('x ##\u2060[add-mask]y');
    expect(displayText('##\u200b[error]')).toBe('## [error]');
    const long = displayText('x'.repeat(5000));
    expect(long).toHaveLength(80);
    expect(long.endsWith('…')).toBe(true);
  });
});

describe('renderSummary', () => {
  it('has a heading, totals and one escaped table row per plan row', () => {
    const markdown = renderSummary(
      [
        row(),
        row({
          name: '<script>alert(1)</script>',
          status: 'skipped',
          reason: 'no strongDM user has this email',
        }),
      ],
      context,
    );
    expect(markdown).toMatch(/^## On-call access\n/);
    expect(markdown).toContain('**1 granted, 1 skipped, 0 failed**');
    expect(markdown).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(markdown).not.toContain('<script>');
    expect(tableRows(markdown)).toHaveLength(2);
    expect(markdown).toContain('| 2026-11-26T09:00:00Z | 2026-11-26T17:00:00Z | granted |');
  });

  it('says when it is a dry run and when nobody is on call', () => {
    expect(renderSummary([], { ...context, dryRun: true })).toMatch(/dry run.*\n[\s\S]*Nobody is on call/);
  });

  it('labels direct policy targets', () => {
    const direct = row({ source: { ...row().source, scheduleId: null, scheduleName: '' } });
    expect(renderSummary([direct], context)).toContain('| Platform (direct) |');
  });

  it('stays under 1 MiB with thousands of long rows, and says how many it left out', () => {
    const rows = Array.from({ length: 20_000 }, (_, i) =>
      row({ name: `${'N'.repeat(200)}${i}`, reason: 'r'.repeat(500) }),
    );
    const markdown = renderSummary(rows, context);
    expect(Buffer.byteLength(markdown)).toBeLessThan(SUMMARY_LIMIT_BYTES);
    const shown = tableRows(markdown).length;
    expect(shown).toBeGreaterThan(100);
    expect(markdown).toContain(`${rows.length - shown} of ${rows.length} rows are not shown`);
  });
});

describe('totalsLine', () => {
  it('counts each status present, and always failures', () => {
    expect(totalsLine([row(), row({ status: 'failed' })])).toBe('1 granted, 1 failed');
    expect(totalsLine([row({ status: 'would-grant' })])).toBe('1 would-grant, 0 failed');
    expect(
      totalsLine([row({ status: 'unchanged' }), row({ status: 'stale' }), row({ status: 'revoked' })]),
    ).toBe('1 unchanged, 1 stale, 1 revoked, 0 failed');
  });
});

describe('renderLogTable', () => {
  it('aligns columns and starts every line with "|" so no value can start a workflow command', () => {
    const table = renderLogTable([row({ name: '\n::add-mask::x' }), row()]);
    const lines = table.split('\n');
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line.startsWith('| ')).toBe(true);
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
  });
});

describe('planOutput', () => {
  it('has the contract keys with UTC RFC3339 times', () => {
    expect(planOutput([row()], context.runUrl)).toEqual([
      {
        email: 'ada@example.com',
        name: 'Ada Lovelace',
        pagerdutyUserId: 'PADA001',
        scheduleId: 'PSCHED1',
        scheduleName: 'Platform Primary',
        escalationPolicyId: 'PEP0001',
        escalationLevel: 1,
        rule: 'default',
        resource: 'prod-postgres',
        from: '2026-11-26T09:00:00Z',
        until: '2026-11-26T17:00:00Z',
        status: 'granted',
        reason: '',
        runUrl: 'https://github.com/acme/ops/actions/runs/7',
      },
    ]);
  });
});

describe('renderTimeline', () => {
  it('draws a Mermaid gantt of held access per resource, clipped to the lookahead, with names made safe', () => {
    const rows = [
      row({ name: 'Ada: the #1 "admin"; click', from: new Date('2026-11-26T06:00:00Z') }),
      row({ name: 'Bob', resource: 'bastion', status: 'stale', until: new Date('2026-12-30T00:00:00Z') }),
      row({ name: 'Eve', status: 'skipped' }),
    ];
    const chart = renderTimeline(rows, context);
    expect(chart).toContain('```mermaid\ngantt\n');
    expect(chart).toContain(
      '  section prod-postgres\n  · Ada the 1 admin click :active, 2026-11-26 08:30, 2026-11-26 17:00',
    );
    expect(chart).toContain('  section bastion\n  · Bob :crit, 2026-11-26 09:00, 2026-11-27 08:30');
    expect(chart).not.toContain('Eve');
    expect(mermaidText('a\nb:c;d#e%%{init}%%')).toBe('a b c d e init');
    // A name that is a Mermaid keyword stays a task: every task line starts with "·".
    const keyword = renderTimeline([row({ name: 'dateFormat x' }), row({ name: 'section Evil' })], context);
    expect(
      keyword
        .split('\n')
        .filter((line) => /^ {2}(dateFormat|section) [^:]*$/.test(line) && !line.includes('prod-postgres')),
    ).toEqual([]);
    expect(escapeMarkdownCell('see www.evil.example or https://evil.example')).toBe(
      'see www&#46;evil.example or https&#58;//evil.example',
    );
  });

  it('shows the Rule column only when rules are in use', () => {
    expect(renderSummary([row()], context)).not.toContain('| Rule |');
    expect(renderSummary([row({ rule: 'databases' })], context)).toContain('| Rule |');
  });
});
