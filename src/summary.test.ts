import { describe, expect, it } from 'vitest';
import {
  checklistLines,
  renderChecklist,
  renderLogTable,
  renderStopped,
  renderSummary,
  renderTimeline,
  SUMMARY_LIMIT_BYTES,
  totalsLine,
} from './summary.js';
import { forMarkdownCell, forMermaid } from './text.js';
import { reportRow as row } from '../test/samples.js';
import type { Check } from './checklist.js';

const context = {
  dryRun: false,
  now: new Date('2026-11-26T08:30:00Z'),
  lookahead: '24h',
  lookaheadMs: 24 * 3_600_000,
  notes: [],
  runUrl: 'https://github.com/acme/ops/actions/runs/7',
  checks: [] as Check[],
};

/** Body rows of the summary table (after the header and its separator line). */
const tableRows = (markdown: string) =>
  markdown
    .split('\n')
    .filter((line) => line.startsWith('| '))
    .slice(2);

describe('renderSummary', () => {
  it('quotes notes (which may carry an error from GitHub) without live mentions, links or HTML', () => {
    const markdown = renderSummary([row()], {
      ...context,
      notes: ['The ledger was NOT fully updated: @octocat see #12 <b>x</b> http://evil.example'],
    });
    const note = markdown.split('\n').find((line) => line.startsWith('> ')) ?? '';
    expect(note).toContain('@\u2060octocat');
    expect(note).toContain('&lt;b&gt;');
    expect(note).toContain('http&#58;//');
  });

  it('keeps a pipe in a name inside its cell', () => {
    const markdown = renderSummary([row({ name: 'a | b | c' })], context);
    for (const line of tableRows(markdown)) expect(line.split(' | ')).toHaveLength(9);
  });

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
    expect(forMermaid('a\nb:c;d#e%%{init}%%')).toBe('a b c d e init');
    // A name that is a Mermaid keyword stays a task: every task line starts with "·".
    const keyword = renderTimeline([row({ name: 'dateFormat x' }), row({ name: 'section Evil' })], context);
    expect(
      keyword
        .split('\n')
        .filter((line) => /^ {2}(dateFormat|section) [^:]*$/.test(line) && !line.includes('prod-postgres')),
    ).toEqual([]);
    expect(forMarkdownCell('see www.evil.example or https://evil.example')).toBe(
      'see www&#46;evil.example or https&#58;//evil.example',
    );
  });

  it('shows the Rule column only when rules are in use', () => {
    expect(renderSummary([row()], context)).not.toContain('| Rule |');
    expect(renderSummary([row({ rule: 'databases' })], context)).toContain('| Rule |');
  });
});

describe('the preflight checklist', () => {
  const passed: Check[] = [
    { check: 'PagerDuty', status: 'pass', detail: 'pagerduty-token accepted' },
    { check: 'schedule PABC123', status: 'pass', detail: '"Ops *Primary*" <b>: 3 on-call rows' },
  ];
  const failed: Check[] = [
    ...passed,
    { check: 'revoke command', status: 'fail', detail: 'not offered', fix: 'set revoke-stale: false' },
  ];

  it('is folded when everything passed and open when something did not, with counts', () => {
    expect(renderChecklist(passed)).toMatch(/^<details><summary>Preflight checklist: 2 passed<\/summary>/);
    expect(renderChecklist(failed)).toMatch(
      /^<details open><summary>Preflight checklist: 2 passed, 1 failed<\/summary>/,
    );
    expect(renderChecklist(failed)).toContain(
      '- ❌ **revoke command**: not offered — fix: set revoke-stale: false',
    );
    expect(renderChecklist([])).toBe('');
  });

  it('escapes what PagerDuty or strongDM said, in the summary and the log', () => {
    const markdown = renderChecklist(passed);
    expect(markdown).toContain('&quot;Ops \\*Primary\\*&quot; &lt;b&gt;');
    expect(markdown).not.toContain('<b>');
    const lines = checklistLines([{ check: 'x', status: 'warn', detail: 'a\n::error::b ##[set-output]c' }]);
    expect(lines).toEqual(['⚠️ x: a ::error::b ##\u2060[set-output]c']);
  });

  it('comes first in a dry run and last otherwise', () => {
    const checks = failed;
    const dry = renderSummary([row()], { ...context, dryRun: true, checks });
    const real = renderSummary([row()], { ...context, checks });
    expect(dry.indexOf('Preflight checklist')).toBeLessThan(dry.indexOf('| Person'));
    expect(real.indexOf('Preflight checklist')).toBeGreaterThan(real.indexOf('| Person'));
  });

  it('is shown with the error when the run stopped', () => {
    const stopped = renderStopped('PagerDuty rejected pagerduty-token (401)', failed);
    expect(stopped).toMatch(
      /^## On-call access: the run stopped\n\n> PagerDuty rejected pagerduty-token \(401\)/,
    );
    expect(stopped).toContain('<details open>');
  });
});

describe('mentions, issue references and emoji from outside', () => {
  const wj = '\u2060';
  const hostile = 'cc @octocat about #42 :rocket: [x](https://evil.example)';

  it('are neutralized in table cells, the checklist and a stopped run, but emails stay as they are', () => {
    const markdown = renderSummary([row({ name: hostile, email: 'ada@example.com' })], context);
    const [line] = tableRows(markdown);
    expect(line).toContain(`cc @${wj}octocat about #${wj}42 :${wj}rocket: \\[x\\](https&#58;//evil.example)`);
    expect(line).toContain('| ada@example.com |');
    const checklist = renderChecklist([
      { check: 'schedule P1', status: 'warn', detail: hostile, fix: '@admin' },
    ]);
    expect(checklist).toContain(`cc @${wj}octocat about #${wj}42 :${wj}rocket:`);
    expect(checklist).toContain(`fix: @${wj}admin`);
    const stopped = renderStopped(`PagerDuty answered /oncalls with HTTP 400: ${hostile}`, []);
    expect(stopped).toContain(`> PagerDuty answered /oncalls with HTTP 400: cc @${wj}octocat about #${wj}42`);
    expect(stopped).not.toContain('](https://');
    // Mentions are not looked for in code blocks, the Mermaid timeline among them.
    for (const text of [markdown.replace(/```mermaid[^`]*```/, ''), checklist, stopped]) {
      expect(text).not.toMatch(/(^|[^\w])@[a-z]/m);
      expect(text).not.toMatch(/(^|[^&])#\d/m);
    }
  });
});
