import { describe, expect, it } from 'vitest';
import { tableRows, toHtml } from '../test/markdown.js';
import {
  checklistLines,
  compactRange,
  compactTime,
  renderChecklist,
  renderLogTable,
  renderStopped,
  renderSummary,
  renderTimeline,
  SUMMARY_LIMIT_BYTES,
  TIMELINE_INCIDENT_LEGEND,
  TIMELINE_LEGEND,
  totalsLine,
} from './summary.js';
import { forLogLine, forMarkdownCell, forMermaid } from './text.js';
import {
  incidentRef,
  incidentRow,
  HOSTILE_INCIDENT_TEXT,
  notOnCallSource,
  reportRow as row,
  summaryContext,
} from '../test/samples.js';
import type { Check } from './checklist.js';
import type { ReportRow } from './types.js';

const context = summaryContext();

/** The headings of the status groups, in order. */
const headings = (markdown: string) => markdown.split('\n').filter((line) => line.startsWith('### '));

const NBSP = '\u00a0';

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
    const lines = tableRows(markdown);
    expect(lines).toHaveLength(1);
    for (const line of lines) expect(line.split(' | ')).toHaveLength(4);
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
    expect(markdown).toContain(
      `| Ada Lovelace | prod-postgres | Thu${NBSP}26${NBSP}Nov${NBSP}09:00–17:00 | Platform Primary · L1 |`,
    );
  });

  it('states UTC once, under the totals, and writes times compactly', () => {
    const markdown = renderSummary([row()], context);
    expect(markdown).toMatch(
      /^## On-call access\n\n\*\*1 granted, 0 failed\*\* for on-calls from Thu\u00a026\u00a0Nov\u00a008:30 over the next 24h\.\n\nAll times are UTC\./,
    );
    expect(markdown.match(/UTC/g)).toHaveLength(2); // the line, and the timeline's title
    expect(markdown).not.toMatch(/\d{4}-\d\d-\d\dT/);
  });

  it('groups rows under a heading per status with its count, most urgent first', () => {
    const statuses = ['unchanged', 'skipped', 'granted', 'revoked', 'stale', 'failed', 'granted'] as const;
    const markdown = renderSummary(
      statuses.map((status) => row({ status, reason: status === 'granted' ? '' : `why ${status}` })),
      context,
    );
    expect(headings(markdown).map((line) => line.replace(/^### \S+ /, '').replace(/:.*/, ''))).toEqual([
      '1 failed',
      '1 stale',
      '2 granted',
      '1 revoked',
      '1 skipped',
      '1 unchanged',
    ]);
    expect(tableRows(markdown)).toHaveLength(statuses.length);
    // The email only where someone acts on the account: a failed change, a person without access.
    const withEmail = tableRows(markdown).filter((line) => line.includes('| ada@example.com |'));
    expect(withEmail).toHaveLength(2);
    expect(markdown.split('\n').filter((line) => line.startsWith('| Person | Email |'))).toHaveLength(2);
  });

  it('writes a reason shared by rows once above them, and many different reasons in a cut column', () => {
    const shared = renderSummary(
      [
        row({ status: 'skipped', name: 'Ann', reason: 'no strongDM user has this email' }),
        row({ status: 'skipped', name: 'Ben', reason: 'no strongDM user has this email' }),
        row({ status: 'skipped', name: 'Cat', reason: 'PagerDuty has no email: *see* <b>' }),
      ],
      context,
    );
    expect(shared).toContain(
      'Reason: no strongDM user has this email\n\n| Person | Email | Resource | When |\n| --- | --- | --- | --- |\n| Ann |',
    );
    expect(shared).toContain('Reason: PagerDuty has no email: \\*see\\* &lt;b&gt;\n');
    expect(shared.match(/^Reason: /gm)).toHaveLength(2);

    const many = renderSummary(
      Array.from({ length: 5 }, (_, i) =>
        row({ status: 'failed', name: `P${i}`, reason: `exit 1: error ${i} ${'x'.repeat(100)}` }),
      ),
      context,
    );
    expect(many).not.toContain('Reason: ');
    expect(many).toContain('| Person | Resource | Reason |');
    const cells = tableRows(many).map((line) => line.split(' | ')[2] ?? '');
    expect(cells).toHaveLength(5);
    for (const cell of cells) expect(cell).toMatch(/^exit 1: error \d x+… \|$/);
    expect(Math.max(...cells.map((cell) => cell.length))).toBe(64 + 2);
  });

  it('folds more than 10 unchanged rows, saying how many', () => {
    const unchanged = (n: number) =>
      renderSummary(
        Array.from({ length: n }, (_, i) =>
          row({ status: 'unchanged', name: `P${i}` } as Partial<ReportRow>),
        ),
        context,
      );
    expect(unchanged(10)).not.toContain('<details>');
    const folded = unchanged(11);
    expect(folded).toContain('### 🟦 11 unchanged');
    expect(folded).toMatch(/<details><summary>Show the 11 unchanged grants<\/summary>\n\n\| Person \|/);
    const last = folded.indexOf('| P10 |');
    expect(last).toBeGreaterThan(folded.indexOf('<details>'));
    expect(folded.indexOf('</details>')).toBeGreaterThan(last);
    expect(tableRows(folded)).toHaveLength(11);
  });

  it('says when it is a dry run and when nobody is on call', () => {
    expect(renderSummary([], { ...context, dryRun: true })).toMatch(/dry run.*\n[\s\S]*Nobody is on call/);
  });

  it('labels direct policy targets', () => {
    const direct = row({ source: { ...row().source, scheduleId: null, scheduleName: '' } });
    expect(renderSummary([direct], context)).toContain('| Platform (direct) · L1 |');
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

  it('keeps the most urgent rows when it must leave some out', () => {
    const rows = [
      ...Array.from({ length: 20_000 }, (_, i) =>
        row({ status: 'unchanged', name: `${'N'.repeat(40)}${i}` } as Partial<ReportRow>),
      ),
      row({ status: 'failed', name: 'Failed Person', reason: 'exit 1' }),
    ];
    const markdown = renderSummary(rows, context);
    expect(Buffer.byteLength(markdown)).toBeLessThan(SUMMARY_LIMIT_BYTES);
    expect(markdown).toContain('| Failed Person |');
    expect(markdown).toMatch(/\d+ of 20001 rows are not shown/);
  });
});

describe('compact times', () => {
  const at = (iso: string) => new Date(iso);
  const shown = (text: string) => text.replaceAll(NBSP, ' ');

  it('are UTC, with the weekday, and joined by no-break spaces so a cell never wraps inside them', () => {
    expect(compactTime(at('2026-11-30T14:00:00Z'))).toBe(`Mon${NBSP}30${NBSP}Nov${NBSP}14:00`);
    expect(shown(compactTime(at('2027-01-01T00:05:59Z')))).toBe('Fri 1 Jan 00:05');
  });

  it('write a range on one day once, across midnight with the weekday, and in full beyond a week', () => {
    expect(shown(compactRange(at('2026-11-30T06:00:00Z'), at('2026-11-30T14:00:00Z')))).toBe(
      'Mon 30 Nov 06:00–14:00',
    );
    expect(shown(compactRange(at('2026-11-30T22:00:00Z'), at('2026-12-01T06:00:00Z')))).toBe(
      'Mon 30 Nov 22:00 – Tue 06:00',
    );
    expect(shown(compactRange(at('2026-11-30T14:00:00Z'), at('2026-12-07T14:00:00Z')))).toBe(
      'Mon 30 Nov 14:00 – Mon 7 Dec 14:00',
    );
    expect(compactRange(at('2026-11-30T22:00:00Z'), at('2026-12-01T06:00:00Z'))).not.toMatch(/ /);
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
    const table = renderLogTable([
      row({ name: '\n::add-mask::x' }),
      row({ status: 'failed', reason: 'r'.repeat(300) }),
    ]);
    const lines = table.split('\n');
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line.startsWith('| ')).toBe(true);
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
  });

  it('puts the status first and keeps every column, times in full, reasons up to 200 characters', () => {
    const [header, line] = renderLogTable([row({ status: 'failed', reason: 'r'.repeat(300) })]).split('\n');
    expect(header).toMatch(
      /^\| Status +\| Person +\| Email +\| Schedule +\| Level +\| Resource +\| From \(UTC\)/,
    );
    expect(line).toMatch(
      /^\| failed \| Ada Lovelace \| ada@example.com \| Platform Primary \| 1 +\| prod-postgres \| 2026-11-26T09:00:00Z \| 2026-11-26T17:00:00Z \| r{199}… \|$/,
    );
    expect(renderLogTable([row({ rule: 'databases' })])).toMatch(/^\| Status .*\| Rule +\| Resource /);
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
    expect(chart).toMatch(/^```mermaid\n%%\{init: \{"themeVariables":\{[^\n]+\}\}\}%%\ngantt\n/);
    expect(chart).toContain(
      '  section prod-postgres\n  Ada the 1 admin click :active, 2026-11-26 08:30, 2026-11-26 17:00',
    );
    expect(chart).toContain('  section bastion\n  Bob :crit, 2026-11-26 09:00, 2026-11-27 08:30');
    expect(chart).not.toContain('Eve');
    expect(chart).not.toMatch(/^ {2}·/m);
    expect(forMermaid('a\nb:c;d#e%%{init}%%')).toBe('a b c d e init');
    // A name that starts like a Mermaid statement stays a task (summary-mermaid.test.ts parses it).
    const keyword = renderTimeline([row({ name: 'dateFormat x' }), row({ name: 'Sectioned' })], context);
    expect(keyword).toContain('\n  \u2060dateFormat x :active, ');
    expect(keyword).toContain('\n  Sectioned :active, ');
    expect(forMarkdownCell('see www.evil.example or https://evil.example')).toBe(
      'see www&#46;evil.example or https&#58;//evil.example',
    );
  });

  it('adds the rule to the source only when rules are in use', () => {
    const simple = renderSummary([row()], context);
    expect(simple).toContain('| Platform Primary · L1 |');
    expect(simple).toContain(
      'Source: schedule (or escalation policy, for a direct target) · escalation level.',
    );
    const withRules = renderSummary([row({ rule: 'data*bases' })], context);
    expect(withRules).toContain('| Platform Primary · L1 · data\\*bases |');
    expect(withRules).toContain('· escalation level · rule.');
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
    expect(dry).toContain('escalation level.\n\n<details open>'); // a block of its own
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
    const markdown = renderSummary(
      [
        row({
          name: '@octocat #42 :rocket: [x](https://e.io)', // a cell cuts a name at 40 characters
          email: 'ada@example.com',
          sdmEmail: undefined,
          status: 'skipped',
          reason: hostile,
        }),
      ],
      context,
    );
    const [line] = tableRows(markdown);
    expect(line).toContain(`| @${wj}octocat #${wj}42 :${wj}rocket: \\[x\\](https&#58;//e.io) |`);
    expect(line).toContain('| ada@example.com |');
    expect(markdown).toContain(
      `Reason: cc @${wj}octocat about #${wj}42 :${wj}rocket: \\[x\\](https&#58;//evil.example)\n`,
    );
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

describe('incident grants', () => {
  const wj = '\u2060';
  const pagerDutyUrl = 'https://acme.pagerduty.com/incidents/Q1INCIDENT';
  /** The number linked to PagerDuty, the title (as Markdown) in the link's tooltip. */
  const linked = (title: string) => `[#${wj}123](${pagerDutyUrl}${title ? ` "${title}"` : ''})`;
  const incidentLink = linked('Checkout latency above 2s');
  /** HTML's attribute text decoded: what a reader sees in the tooltip. */
  const attribute = (value: string) =>
    value
      .replace(/&quot;/g, '"')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');

  it('say the incident in the Source cell, its number linked to PagerDuty, and not the schedule', () => {
    const markdown = renderSummary([incidentRow(), row({ rule: 'db' })], context);
    expect(tableRows(markdown)).toEqual([
      `| Ada Lovelace | prod-db-write | Thu${NBSP}26${NBSP}Nov${NBSP}09:00–11:00 | ${incidentLink} · Payments API · incident-db-write |`,
      `| Ada Lovelace | prod-postgres | Thu${NBSP}26${NBSP}Nov${NBSP}09:00–17:00 | Platform Primary · L1 · db |`,
    ]);
    expect(markdown).toContain('For an incident grant: PagerDuty incident · service · rule.');
    // Each incident once, with its title in full, above the tables.
    expect(markdown).toContain(
      `PagerDuty incidents behind these grants:\n\n- ${incidentLink} Checkout latency above 2s · Payments API\n`,
    );
    expect(markdown.indexOf('PagerDuty incidents behind')).toBeLessThan(markdown.indexOf('### '));
    expect(toHtml(markdown)).toContain(
      `<td><a href="${pagerDutyUrl}" title="Checkout latency above 2s">#${wj}123</a> · Payments API · incident-db-write</td>`,
    );
    expect(renderSummary([row()], context)).not.toContain('incident');
  });

  it('never show level 0 as a level when the assignee need not be on call', () => {
    const notOnCall = incidentRow({ source: notOnCallSource() });
    const markdown = renderSummary([notOnCall], context);
    expect(tableRows(markdown)[0]).toContain(`| ${incidentLink} · Payments API · incident-db-write |`);
    expect(markdown).not.toMatch(/L0|\(direct\)/);
    const [header, line] = renderLogTable([notOnCall]).split('\n');
    expect(header).toMatch(/^\| Status +\| Person +\| Email +\| Schedule +\| Level \| Rule +\| Incident +\|/);
    expect(line).toMatch(
      /^\| granted +\| Ada Lovelace +\| ada@example.com +\| \(not on call\) \| - +\| incident-db-write \| #123 Checkout latency above 2s · Payments API \| prod-db-write \|/,
    );
    // A direct target of the incident's policy is on call: its level is shown.
    const direct = incidentRow({
      source: { ...notOnCallSource(), escalationLevel: 2 },
    });
    expect(renderLogTable([direct]).split('\n')[1]).toMatch(/\| Platform \(direct\) \| 2 +\|/);
  });

  it('keep the Source cell short: the title in the tooltip, the service cut', () => {
    const long = incidentRow({}, incidentRef({ title: 'T'.repeat(200), serviceName: 'S'.repeat(200) }));
    const source = tableRows(renderSummary([long], context))[0]?.split(' | ')[3] ?? '';
    expect(source).toBe(`${linked(`${'T'.repeat(99)}…`)} · ${'S'.repeat(15)}… · incident-db-write |`);
    const untitled = incidentRow({}, incidentRef({ title: ' \n ', serviceName: '' }));
    expect(tableRows(renderSummary([untitled], context))[0]).toContain(
      `| ${linked('')} · PSVC123 · incident-db-write |`,
    );
  });

  it('show the incident number, linked, beside the resource in tables without a Source column', () => {
    const markdown = renderSummary(
      [incidentRow({ status: 'skipped', reason: 'no strongDM user has this email' })],
      context,
    );
    expect(tableRows(markdown)).toEqual([
      `| Ada Lovelace | ada@example.com | prod-db-write · ${incidentLink} | Thu${NBSP}26${NBSP}Nov${NBSP}09:00–11:00 |`,
    ]);
    const manyReasons = renderSummary(
      Array.from({ length: 5 }, (_, i) => incidentRow({ status: 'failed', reason: `error ${i}` })),
      context,
    );
    expect(tableRows(manyReasons)[0]).toBe(`| Ada Lovelace | prod-db-write · ${incidentLink} | error 0 |`);
  });

  it.each(HOSTILE_INCIDENT_TEXT)('render a hostile title or service as text: %j', (hostile) => {
    const incident = incidentRef({ title: hostile, serviceName: hostile });
    const rows = [
      incidentRow({}, incident),
      incidentRow({ status: 'skipped', name: 'Bob', reason: 'no account' }, incident),
    ];
    const markdown = renderSummary(rows, context);
    const html = toHtml(markdown);
    // Each row stays one table row of 4 cells, with one link: the incident's, on PagerDuty.
    expect(html.match(/<tr>/g)).toHaveLength(4); // 2 headers, 2 rows
    expect(html.match(/<td>/g)).toHaveLength(8);
    // The list of incidents: one item, the link then the title and service as text.
    const items = [...html.matchAll(/<li>([\s\S]*?)<\/li>/g)].map(([, item]) => item ?? '');
    expect(items).toHaveLength(1);
    const itemText = attribute((items[0] ?? '').replace(/^<a [^>]*>#\u2060123<\/a> /, '')).replaceAll(wj, '');
    expect(itemText).toBe(`${forLogLine(hostile, 200)} · ${forLogLine(hostile, 80)}`.trim());
    // (GFM links the email in the skipped row's Email cell: an address from strongDM, not from the incident.)
    const links = [...html.matchAll(/<a [^>]*>/g)].map(([a]) => a);
    const incidentLinks = links.filter((a) => a !== '<a href="mailto:ada@example.com">');
    expect(incidentLinks).toHaveLength(3); // the two rows' and the list's
    for (const a of incidentLinks) {
      // The tooltip is the title as text: one line, cut, with only invisible word joiners added.
      const [, title = ''] =
        /^<a href="https:\/\/acme\.pagerduty\.com\/incidents\/Q1INCIDENT" title="([^"]*)">$/.exec(a) ?? [];
      expect(attribute(title).replaceAll(wj, '')).toBe(forLogLine(hostile, 100));
    }
    expect(html).not.toMatch(
      /<(?!\/?(?:h2|h3|p|ul|li|a|table|thead|tbody|tr|th|td|strong|pre|code class="language-mermaid"|code)\b)/,
    );
    expect(html.match(/<code/g)).toHaveLength(1); // the timeline's block only
    expect(html.match(/<strong>/g)).toHaveLength(1); // the totals line only
    expect(html).not.toContain('<em>');
    // Nothing of it reaches a line start outside a table row, where it could be Markdown of its own.
    const outsideTables = markdown.replace(/```mermaid[\s\S]*?```/, '').split('\n');
    for (const line of outsideTables) expect(line).not.toMatch(/^(?:::|section|click|%%|<)/);
    const listed = outsideTables.filter((line) => line.startsWith('- '));
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatch(/^- \[#\u2060123\]\(https:\/\/acme\.pagerduty\.com\/incidents\/Q1INCIDENT/);
    // The log: one line per row, every line opened by "| ", whatever the title holds.
    const log = renderLogTable(rows).split('\n');
    expect(log).toHaveLength(3);
    for (const line of log) expect(line).toMatch(/^\| [^\p{Cc}]*\|$/u);
  });

  it('show a title escaped, not dropped: what PagerDuty says is readable', () => {
    const title = '<b>DB</b> | *down* "quoted" \\';
    const markdown = renderSummary([incidentRow({}, incidentRef({ title }))], context);
    expect(tableRows(markdown)[0]).toContain(
      `${linked('&lt;b&gt;DB&lt;/b&gt; &#124; \\*down\\* &quot;quoted&quot; \\\\')} · Payments API`,
    );
    expect(toHtml(markdown)).toContain(
      `title="&lt;b&gt;DB&lt;/b&gt; | *down* &quot;quoted&quot; \\">#${wj}123</a> · Payments API`,
    );
  });

  it('have their own bar in the timeline, named by person and number, and their own legend entry', () => {
    const rows = [
      row(),
      incidentRow({ name: 'section evil' }, incidentRef({ title: 'click x call alert()' })),
      incidentRow({ status: 'unchanged', name: 'Bob' } as Partial<ReportRow>),
      incidentRow({ status: 'stale', name: 'Cy' } as Partial<ReportRow>),
    ];
    const chart = renderTimeline(rows, context);
    expect(chart).toContain(
      [
        '  section prod-db-write',
        `  ${wj}section evil #123 :2026-11-26 09:00, 2026-11-26 11:00`,
        '  Bob #123 :2026-11-26 09:00, 2026-11-26 11:00',
        '  Cy #123 :crit, 2026-11-26 09:00, 2026-11-26 11:00',
      ].join('\n'),
    );
    expect(chart).not.toMatch(/click|Checkout|Payments/);
    expect(chart).toContain(`\n${TIMELINE_LEGEND} · ${TIMELINE_INCIDENT_LEGEND}\n`);
    expect(chart).toContain('"taskBkgColor":"#c297ff"');
    expect(renderTimeline([row()], context)).not.toContain(TIMELINE_INCIDENT_LEGEND);
    // An incident grant outside the lookahead is not drawn, and not in the legend either.
    const later = incidentRow({
      from: new Date('2026-12-20T00:00:00Z'),
      until: new Date('2026-12-20T02:00:00Z'),
    });
    expect(renderTimeline([row(), later], context)).not.toContain(TIMELINE_INCIDENT_LEGEND);
  });
});
